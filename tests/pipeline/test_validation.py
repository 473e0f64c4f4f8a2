from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from kraken_etl.core.ledger import parse_ledger_entry
from kraken_etl.core.money import loads
from kraken_etl.jobs.streams import LEDGERS
from kraken_etl.jobs.validation import validate_batch

RAW = loads('{"refid": "R", "time": 1688464484.1787, "type": "trade", "subtype": "", "aclass": "currency", '
            '"asset": "ZGBP", "amount": "-24.5000", "fee": "0.0490", "balance": "459567.9171"}')
BASE = parse_ledger_entry("L1", RAW)


def e(ledger_id: str = "L1", **changes: object) -> object:
    return dataclasses.replace(BASE, ledger_id=ledger_id, **changes)  # type: ignore[arg-type]


def test_valid_batch_passes_whole() -> None:
    bounds = (Decimal(1688464484), Decimal(1688464485))
    out = validate_batch(LEDGERS, [e("L1"), e("L2")], bounds=bounds)  # type: ignore[list-item]
    assert [r.ledger_id for r in out.valid] == ["L1", "L2"] and out.rejected == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"ledger_id": ""}, "id is empty"),
        ({"amount": None}, "amount is missing"),
        ({"fee": 1.5}, "fee is not a finite Decimal"),
        ({"amount": Decimal("NaN")}, "amount is missing"),  # pandas reads a NaN Decimal as null
        ({"balance": "12"}, "balance is not a finite Decimal"),
        ({"time_raw": Decimal("1688464490")}, "outside the requested window"),
    ],
)
def test_rejections_carry_reasons(changes: dict[str, object], reason: str) -> None:
    bad = dataclasses.replace(BASE, **{"ledger_id": "L2", **changes})  # type: ignore[arg-type]
    out = validate_batch(LEDGERS, [e("L1"), bad], bounds=(Decimal(1688464484), Decimal(1688464485)))  # type: ignore[list-item]
    assert [r.ledger_id for r in out.valid] == ["L1"]
    assert len(out.rejected) == 1 and reason in out.rejected[0].reason
    assert out.rejected[0].raw["amount"] == "-24.5000"


def test_a_conflicting_copy_is_rejected_and_the_first_kept() -> None:
    out = validate_batch(LEDGERS, [e("L1"), e("L1", fee=Decimal("1"))])  # type: ignore[list-item]
    assert len(out.valid) == 1 and out.valid[0].fee == Decimal("0.0490")
    assert out.rejected[0].reason.startswith("conflicting copy of L1")
    assert out.identical_copies == 0


def test_an_identical_copy_is_a_no_op() -> None:
    out = validate_batch(LEDGERS, [e("L1"), e("L2"), e("L1")])  # type: ignore[list-item]
    assert [r.ledger_id for r in out.valid] == ["L1", "L2"]
    assert out.rejected == [] and out.identical_copies == 1


def test_unknowns_and_negative_fees_are_flagged_not_rejected() -> None:
    out = validate_batch(LEDGERS, [e("L1", type="hybridearnwithdrawal"), e("L2", type="teleport"),  # type: ignore[list-item]
                                     e("L3", asset="ZZZ.S"), e("L4", fee=Decimal("-0.01"))])
    assert out.rejected == [] and len(out.valid) == 4
    assert out.flags == {"L2": ("unknown_type",), "L3": ("unknown_asset",), "L4": ("negative_fee",)}


def test_money_column_is_object_dtype_never_float() -> None:
    from kraken_etl.jobs.validation import _frame

    frame = _frame([e("L1")], LEDGERS.rules, LEDGERS.target.key)
    assert str(frame["amount"].dtype) == "object" and isinstance(frame["amount"][0], Decimal)
