"""reporting.intraday_balances (last nightly state + the listener's updates) and reporting.listener_health."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import Engine, text

from kraken_etl.core.assets import normalize_asset
from kraken_etl.db.wscheck import listener_health_lines
from kraken_etl.simulator import RunningSimulator
from tests.listen.conftest import advance, ids, start_listener, sync_rest, wait_for


def _truth_balances(sim: RunningSimulator) -> dict[tuple[str, str], Decimal]:
    """The running balance of the newest truth ledger row per (normalised asset, wallet)."""
    ledger = httpx.get(sim.rest_url + "/_sim/truth/ledgers").json()["ledger"]  # newest first
    out: dict[tuple[str, str], Decimal] = {}
    for row in ledger.values():
        out.setdefault((normalize_asset(row["asset"]), row["wallet"]), Decimal(row["balance"]))
    return out


def test_intraday_balances_are_nightly_plus_listener_updates(sim: RunningSimulator, engine: Engine) -> None:
    sync_rest(sim, engine)  # the nightly state
    truth = httpx.get(sim.rest_url + "/_sim/truth/ledgers").json()["ledger"]
    with engine.begin() as conn:  # what reconciliation's wallet assignment does for REST rows
        for lid, row in truth.items():
            conn.execute(text("UPDATE kraken.ledger_entry SET wallet_resolved = :w, wallet_source = 'export' "
                              "WHERE ledger_id = :i"), {"w": row["wallet"], "i": lid})
    running = start_listener(sim, engine)
    wait_for(lambda: running.listener.filler is not None and running.listener.filler.filled == 1,
             what="start-up gap filled")
    new: set[str] = set()
    for _ in range(3):
        new |= set(advance(sim, 40)["ledger_ids"])
    wait_for(lambda: new <= ids(engine, "SELECT ledger_id FROM kraken.ws_balance_update"), what="updates")
    running.halt()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT asset, wallet, intraday_balance, updates_since_nightly "
                                 "FROM reporting.intraday_balances WHERE account = 'main'")).all()
        health = conn.execute(text("SELECT * FROM reporting.listener_health")).mappings().one()
    got = {(a, w): b for a, w, b, _ in rows}
    assert got == _truth_balances(sim)
    assert sum(n for *_, n in rows) > 0  # some of it came from the listener, not from REST
    assert health["status"] == "stopped" and health["messages_today"] > 0 and health["gaps_open"] == 0
    assert health["gaps_filled"] == health["gaps_total"] >= 1 and health["healthy"] is False
    line = listener_health_lines(engine)[0]
    assert line.startswith("listener main: stopped") and "messages today" in line
