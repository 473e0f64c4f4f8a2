"""A partly closed margin position in the `positions` check: Kraken's OpenPositions lists it with `vol_closed`
(the volume closed so far) and its opening trade says `posstatus` `partial` with `cvol` < `vol` and `trades`
naming the closing trades so far. The rows below are what the check reads from the stored payloads."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from kraken_etl.recon.positions import _closed, _listed

AT = datetime(2026, 10, 30, 12, tzinfo=UTC)


def _listed_row(**changes: Any) -> dict[str, Any]:
    # OpenPositions["TOPEN1-AAAAA-BBBBBB"]: vol "2.00000000", vol_closed "0.50000000", cost "60000.00000",
    # margin "12000.00000"; its opening trade and one closing trade of vol 0.5 stored
    row = {"postxid": "TOPEN1-AAAAA-BBBBBB", "pair": "XXBTZUSD", "type": "buy", "time": AT,
           "vol": Decimal("2.00000000"), "vol_closed": Decimal("0.50000000"), "cost": Decimal("60000.00000"),
           "margin": Decimal("12000.00000"), "fee": Decimal("156.00000"), "trade": "TOPEN1-AAAAA-BBBBBB",
           "trade_vol": Decimal("2.00000000"), "trade_cost": Decimal("60000.00000"),
           "trade_margin": Decimal("12000.00000"), "trade_fee": Decimal("156.00000"), "trade_posstatus": "partial",
           "closed_by": ["TCLOS1-AAAAA-BBBBBB"], "closed_vol": Decimal("0.50000000")}
    return {**row, **changes}


def test_a_partly_closed_position_that_agrees_has_no_finding() -> None:
    assert _listed(_listed_row(), "2026-10-30 12:00:00") == []


def test_a_closing_trade_we_lack_shows_as_a_vol_closed_mismatch() -> None:
    (odd,) = _listed(_listed_row(closed_by=None, closed_vol=Decimal(0)), "2026-10-30 12:00:00")
    assert (odd.kind, odd.details["field"], odd.difference) == ("position_mismatch", "vol_closed",
                                                                 Decimal("0.50000000"))


def test_closing_trades_that_close_it_whole_mean_kraken_should_not_list_it() -> None:
    (odd,) = _listed(_listed_row(closed_by=["TCLOS1-AAAAA-BBBBBB", "TCLOS2-AAAAA-BBBBBB"],
                                 closed_vol=Decimal("2.00000000")), "2026-10-30 12:00:00")
    assert odd.kind == "position_closed_here"


def test_without_position_fields_on_the_opening_trade_closes_are_not_judged() -> None:
    # an export's basic trades header carries no postxid: the closing trades cannot be told apart
    assert _listed(_listed_row(trade_posstatus=None, closed_by=None, closed_vol=Decimal(0)), "x") == []


def test_a_partial_position_is_judged_on_the_closes_kraken_names() -> None:
    # TradesHistory["TOPEN1-…"]: posstatus "partial", cvol "0.50000000", net "12.5000", trades ["TCLOS1-…"]
    row = {"txid": "TOPEN1-AAAAA-BBBBBB", "pair": "XXBTZUSD", "time": AT, "posstatus": "partial",
           "closed_by": ["TCLOS1-AAAAA-BBBBBB"], "cvol": Decimal("0.50000000"), "closed_vol": Decimal("0.50000000"),
           "settled_legs": 0, "realised": Decimal("12.5000"), "closing_fees": Decimal("0.2600"),
           "net": Decimal("12.5000"), "position_trades": ["TCLOS1-AAAAA-BBBBBB"]}
    assert _closed(row) == []
    (odd,) = _closed({**row, "closed_vol": Decimal("0.40000000")})
    assert odd.kind == "position_close_mismatch" and odd.details["field"] == "cvol"
    (gone,) = _closed({**row, "closed_by": None, "closed_vol": Decimal(0)})
    assert gone.kind == "position_close_missing" and "partly closed" in gone.message
