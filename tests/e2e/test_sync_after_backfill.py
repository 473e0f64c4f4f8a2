"""`backfill` of the whole history, then a plain `sync` (no `--since`, as the nightly deployment runs it):
the sync reads only what arrived since, from the backfill's bookmarks, or, without bookmarks, from where the
stored rows end; `status` says where each stream will start and why."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from kraken_etl.simulator import RunningSimulator, SimConfig, create_app, serve_in_thread
from tests.drills.calllog import CallLog, LoggingMiddleware
from tests.e2e.sync_support import REPO, advance, sim_env, truths
from tests.pipeline.truth import compare_closed_orders, compare_ledgers, compare_trades

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
HISTORY = ("Ledgers", "TradesHistory", "ClosedOrders")


@pytest.fixture(scope="module")
def logged_sim() -> Iterator[tuple[RunningSimulator, CallLog]]:
    config = SimConfig(seed=29, ledger_entries=4_000, tier="pro", rate_scale=200.0, export_queued_seconds=0.0,
                       export_processing_seconds=0.0)
    app = create_app(config)
    log = CallLog()
    app.add_middleware(LoggingMiddleware, log=log)
    with serve_in_thread(config, app=app) as sim:
        yield sim, log


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "kraken_etl", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **env, "COLUMNS": "200", "NO_COLOR": "1"}, timeout=400, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def equal_to_truth(engine: Engine, sim: RunningSimulator, new: dict[str, Any]) -> list[str]:
    """Every truth id stored and nothing else; the rows that arrived since the backfill exactly as REST gives
    them (the backfilled rows keep the export's precision, checked by the backfill's own tests)."""
    truth = truths(sim)
    problems = []
    for kind, key, table, column in (("ledgers", "ledger", "ledger_entry", "ledger_id"),
                                     ("trades", "trades", "trade", "txid"),
                                     ("closed_orders", "closed", "closed_order", "txid")):
        with engine.connect() as conn:
            have = set(conn.execute(text(f"SELECT {column} FROM kraken.{table}")).scalars())
        if have != set(truth[kind][key]):
            expected = set(truth[kind][key])
            problems.append(f"{kind}: {len(expected - have)} missing, {len(have - expected)} extra")
    picked = {"ledger": {i: truth["ledgers"]["ledger"][i] for i in new["ledger_ids"]}}
    problems += compare_ledgers(engine, "main", picked)
    problems += compare_trades(engine, "main", {"trades": {i: truth["trades"]["trades"][i] for i in new["trade_ids"]}})
    problems += compare_closed_orders(engine, "main", {"closed": {i: truth["closed_orders"]["closed"][i]
                                                                  for i in new["order_ids"]
                                                                  if i in truth["closed_orders"]["closed"]}})
    return [p for p in problems if not p.startswith(("extra ledger", "extra trade", "extra closed", "extra order"))]


def starts(status_output: str) -> dict[str, str]:
    """stream -> why, from the status table of where each stream's next sync starts."""
    found = {}
    for line in status_output.splitlines():
        cells = [c.strip() for c in line.split("│") if c.strip()]
        if len(cells) == 4 and cells[0] == "main" and cells[3] in ("bookmark", "stored data", "since", "epoch"):
            found[cells[1]] = cells[3]
    return found


def test_a_sync_after_a_whole_history_backfill_reads_only_what_arrived_since(
    logged_sim: tuple[RunningSimulator, CallLog], db_url: str, tmp_path: Path
) -> None:
    sim, log = logged_sim
    env = sim_env(sim, db_url, tmp_path)
    engine = create_engine(db_url)
    try:
        assert starts(cli(env, "status").stdout) == dict.fromkeys(("ledgers", "trades", "closed_orders"), "epoch")
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        cli(env, "backfill", "--from", "2000-01-01", "--to", tomorrow, "--via", "export")
        log.reset()
        cli(env, "sync", "--stream", "ledgers", "--stream", "trades", "--stream", "closed_orders")
        full = {m: log.calls[m] for m in HISTORY}
        # the backfill reached the present: it bookmarked every windowed stream, and sync starts there
        assert starts(cli(env, "status").stdout) == dict.fromkeys(("ledgers", "trades", "closed_orders"), "bookmark")

        new = advance(sim, 60)
        log.reset()
        out = cli(env, "sync")
        assert "starts from" in out.stderr and "(bookmark)" in out.stderr
        after_bookmarks = {m: log.calls[m] for m in HISTORY}
        assert new["ledger_ids"] and equal_to_truth(engine, sim, new) == []

        # rows stored without a bookmark (a file import, a listener gap fill): sync starts where they end
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM kraken.sync_state"))
        assert starts(cli(env, "status").stdout) == dict.fromkeys(
            ("ledgers", "trades", "closed_orders"), "stored data")
        new = advance(sim, 60)
        log.reset()
        out = cli(env, "sync")
        assert "(stored data)" in out.stderr
        after_stored = {m: log.calls[m] for m in HISTORY}
        assert new["ledger_ids"] and equal_to_truth(engine, sim, new) == []
    finally:
        engine.dispose()
    print(f"\nhistory calls of the sync right after the backfill {full}, after 60 new entries from the bookmarks "
          f"{after_bookmarks}, from the stored rows {after_stored}")
    # 4,000 entries from zero would be 80+ Ledgers pages; what arrived since fits in a page or two per stream.
    # From the stored rows, the lag re-reads the last quarter hour: both bursts of 60 (about 120 ledger rows).
    assert all(calls <= 2 for calls in (*full.values(), *after_bookmarks.values()))
    assert all(calls <= 3 for calls in after_stored.values())
