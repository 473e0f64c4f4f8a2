"""A margin account (profile margin-trader) backfilled through Kraken's exports (the trades export with its
position columns), the rest by REST: the position fields land in their columns exactly, and reconciliation
is clean. The oracle reads the truth's JSON with the standard library only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kraken_etl.db.engine import make_engine
from kraken_etl.jobs.backfill import BackfillRequest, backfill
from kraken_etl.jobs.sync import sync_account
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.recon import reconcile
from kraken_etl.simulator import RunningSimulator, serve_in_thread
from tests.exports.conftest import LinkedClock, sim_config
from tests.exports.test_backfill import (
    END,
    FAST,
    START,
    assert_ledger_equals_truth,
    assert_trades_equal_truth,
    truth,
)

POSITION = ("cprice", "ccost", "cfee", "cvol", "cmargin", "net")


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve_in_thread(sim_config(seed=3, profile="margin-trader", trades_header="position")) as running:
        yield running


def test_an_export_backfill_keeps_the_position_columns_and_reconciles_clean(
    engine: Engine, sim: RunningSimulator, client: KrakenClient, clock: LinkedClock, home: Path
) -> None:
    request = BackfillRequest("acct", START, END, ("ledgers", "trades"), "export", chunk=None)
    results = backfill(request, engine=engine, client=client, clock=clock, home=home, policy=FAST)
    assert [r.via for r in results] == ["export", "export"]
    assert_ledger_equals_truth(engine, sim)
    assert_trades_equal_truth(engine, sim)
    expected = truth(sim, "trades")["trades"]
    with engine.connect() as conn:
        rows = {r["txid"]: r for r in conn.execute(text(
            "SELECT txid, postxid, posstatus, cprice, ccost, cfee, cvol, cmargin, net, position_trades "
            "FROM kraken.trade WHERE account = 'acct'")).mappings()}
    closed = 0
    for txid, want in expected.items():
        row = rows[txid]
        assert (row["posstatus"], row["postxid"], row["position_trades"]) == (
            want.get("posstatus"), want["postxid"], want.get("trades")), txid
        for name in POSITION:  # by text: the scale Kraken wrote is kept
            got = None if row[name] is None else f"{row[name]:f}"
            assert got == (None if want.get(name) is None else str(want[name])), (txid, name)
        closed += want.get("posstatus") == "closed"
    assert closed > 10
    sync_account(["closed_orders", "balances"], client=client, engine=engine, account="acct")
    result = reconcile(engine, "acct", clock=clock)
    assert [f.message for f in result.open_findings if f.severity == "break"] == []
    assert {c.name: c.rows_examined for c in result.checks}["positions"] >= closed
