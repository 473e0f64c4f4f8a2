"""Done-when for the `margin-trader` profile: however its data arrives (REST sync, export backfill, export then
REST, file import), the database holds what Kraken served and reconciliation finds no break. Any seed holds
the profile's shapes (positions opened, rolled over, closed, at least one settled, one still open at the end):
one seed here with a small history, five in `make drills` (tests/drills/matrix_profiles.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kraken_etl.recon.positions import _closed
from tests.recon.arrival import MODES
from tests.recon.profile_paths import load_and_reconcile, stored_kinds

PROFILE = "margin-trader"
SEED = 1
ENTRIES, HISTORY_DAYS = 300, 60


def check_margin(mode: str, seed: int, engine: Engine, home: Path) -> None:
    """One margin account through `mode`: equal to the truth, no break, every margin shape stored."""
    result, truths = load_and_reconcile(PROFILE, seed, mode, engine, home, entries=ENTRIES,
                                        history_days=HISTORY_DAYS)
    types, _, _ = stored_kinds(engine, f"m{seed}")
    assert {"margin", "rollover", "settled"} <= types, types
    assert truths["positions"]["positions"], "the account ends with a position open"
    statuses = {t.get("posstatus") for t in truths["trades"]["trades"].values()}
    assert "closed" in statuses and statuses & {"open", "partial"}
    assert "partial" in statuses  # the position open at the end was closed in part
    if mode in ("rest", "export_then_rest"):  # a balance snapshot holds Kraken's open positions
        assert {c.name: c.rows_examined for c in result.checks}["positions"] >= 1


@pytest.mark.parametrize("mode", MODES)
def test_a_margin_account_loads_whole_and_reconciles_without_a_break(mode: str, engine: Engine,
                                                                      tmp_path: Path) -> None:
    check_margin(mode, SEED, engine, tmp_path)


@pytest.mark.parametrize("mode", ["rest", "export"])
def test_a_net_after_the_closing_fee_reconciles_too(mode: str, engine: Engine, tmp_path: Path) -> None:
    _, truths = load_and_reconcile(PROFILE, SEED, mode, engine, tmp_path, entries=ENTRIES,
                                   history_days=HISTORY_DAYS, margin_net="after_fees")
    ledger, trades = truths["ledgers"]["ledger"], truths["trades"]["trades"]
    closed = [t for t in trades.values() if t.get("posstatus") in ("closed", "partial")]
    by_trade = [(t, [ledger[trades[c]["ledgers"][0]] for c in t["trades"]]) for t in closed
                if all(ledger[trades[c]["ledgers"][0]]["type"] == "margin" for c in t["trades"])]
    assert by_trade and any(len(entries) == 2 for _, entries in by_trade)
    for opening, entries in by_trade:  # net = the realised profit or loss less the closing fees
        assert Decimal(opening["net"]) == sum(Decimal(e["amount"]) - Decimal(e["fee"]) for e in entries)


@pytest.mark.parametrize("mode", ["export", "import", "export_then_rest"])
def test_rollovers_with_refids_of_their_own_load_and_reconcile(mode: str, engine: Engine, tmp_path: Path) -> None:
    _, truths = load_and_reconcile(PROFILE, SEED, mode, engine, tmp_path, entries=ENTRIES,
                                   history_days=HISTORY_DAYS, rollover_refid="own")
    trades = truths["trades"]["trades"]
    rolls = [r for r in truths["ledgers"]["ledger"].values() if r["type"] == "rollover"]
    assert rolls and all(r["refid"] not in trades for r in rolls)


def test_a_net_that_is_neither_before_nor_after_fees_is_a_break() -> None:
    row = {"txid": "TOPEN1", "pair": "XXBTZUSD", "time": None, "closed_by": ["TCLOSE1"], "cvol": None,
           "closed_vol": Decimal("1"), "settled_legs": 0, "realised": Decimal("12.5000"),
           "closing_fees": Decimal("0.2600"), "position_trades": ["TCLOSE1"]}
    assert _closed({**row, "net": Decimal("12.5000")}) == [] and _closed({**row, "net": Decimal("12.2400")}) == []
    (odd,) = _closed({**row, "net": Decimal("12.2500")})
    assert odd.kind == "position_close_mismatch" and odd.details["field"] == "net"
