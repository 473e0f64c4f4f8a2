from __future__ import annotations

from decimal import Decimal

import pytest

from kraken_etl.core.money import ZERO, D, NotADecimal, dumps, loads, parse_kraken_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-24.5000", Decimal("-24.5000")),
        ("0.00", ZERO),
        ("-0.0000000001", Decimal("-0.0000000001")),
        (7, Decimal(7)),
        (Decimal("1.10"), Decimal("1.10")),
        (Decimal("1.5E-5"), Decimal("0.000015")),  # a decoded JSON number (WebSocket v2) may use an exponent
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


# Regression: Python's Decimal() accepts all of these; Kraken never writes them. Each must be refused.
NOT_KRAKEN = [
    "1_000", "\uff11\uff12", "\u0661\u0662", "+5", " 12 ", "12 ", "1" * 400, "NaN", "nan", "Infinity", "-Infinity",
    "1,5", "1e5", "1E+1000000", "1.", ".5", "--1", "0x10", "1.2.3", "", "-", "1" * 31, "0." + "1" * 31,
    "\u00a012", "12\n", "٣",
]


@pytest.mark.parametrize("text", NOT_KRAKEN)
def test_text_outside_krakens_grammar_is_refused(text: str) -> None:
    with pytest.raises(NotADecimal):
        parse_kraken_number(text)
    with pytest.raises(NotADecimal):
        D(text)


@pytest.mark.parametrize("text", ["0", "-0", "1", "-24.5000", "0.0000000000", "459567.9171", "1" * 30,
                                  "0." + "1" * 30, "007"])
def test_krakens_grammar_keeps_exactness_and_scale(text: str) -> None:
    value = parse_kraken_number(text)
    assert value == Decimal(text) and str(value) == str(Decimal(text))


@pytest.mark.parametrize("number", ["1E+1000000", "1e-1000000", "1" * 5000, "NaN", "-Infinity"])
def test_json_numbers_out_of_range_decode_but_are_refused_by_d(number: str) -> None:
    """A JSON number too big for a column decodes (the answer survives) and `D` refuses the one value."""
    value = loads('{"x": ' + number + "}")["x"]
    assert not isinstance(value, float)
    with pytest.raises(NotADecimal):
        D(value)


def test_json_exponent_numbers_in_range_are_accepted() -> None:
    assert D(loads('{"x": 1.5e-05}')["x"]) == Decimal("0.000015")
    assert D(loads('{"x": 12345678901234567890}')["x"]) == Decimal("12345678901234567890")


def test_exact_sum_ignores_the_ambient_precision() -> None:
    from decimal import Decimal, Inexact, localcontext

    from kraken_etl.core.money import exact_sum

    values = [Decimal("247652.3173529371580037475079117"), Decimal("0.0000000000000000000000001")]
    with localcontext(prec=5):  # what an imported library may leave behind
        assert exact_sum(values) == Decimal("247652.3173529371580037475079118")
        assert sum(values, Decimal(0)) != Decimal("247652.3173529371580037475079118")
    with pytest.raises(Inexact):
        exact_sum([Decimal("1e300"), Decimal("1e-300")])
