from __future__ import annotations

from decimal import Decimal

import pytest

from kraken_etl.core.money import ZERO, D, NotADecimal, dumps, loads


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-24.5000", Decimal("-24.5000")),
        ("0.00", ZERO),
        ("+1.0000", Decimal("1")),
        ("1.5e-05", Decimal("0.000015")),
        (" 3 ", Decimal(3)),
        (7, Decimal(7)),
        (Decimal("1.10"), Decimal("1.10")),
    ],
)
def test_d_accepts_exact_values(text: str | int | Decimal, expected: Decimal) -> None:
    assert D(text) == expected


def test_d_keeps_scale() -> None:
    assert str(D("459567.9171")) == "459567.9171"


@pytest.mark.parametrize("bad", [0.1, True, "", "abc", "NaN", "inf", None, [1]])
def test_d_refuses_floats_and_junk(bad: object) -> None:
    with pytest.raises(NotADecimal):
        D(bad)  # type: ignore[arg-type]


def test_loads_never_makes_floats() -> None:
    data = loads('{"a": 1688464484.1787, "b": 1.5e-05, "c": 3, "d": "0.1"}')
    assert data == {"a": Decimal("1688464484.1787"), "b": Decimal("0.000015"), "c": 3, "d": "0.1"}
    assert all(not isinstance(v, float) for v in data.values())


def test_dumps_writes_decimals_as_strings() -> None:
    assert dumps({"x": Decimal("0.10")}) == '{"x":"0.10"}'
