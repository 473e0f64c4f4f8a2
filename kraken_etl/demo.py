"""The zero-config demo, as a composition: embedded PostgreSQL + the local simulator, the main job end to end.

1. migrate the database (embedded unless DATABASE_URL is set);
2. serve the simulator on loopback with a realistic seeded account (deterministic: the same every run);
3. backfill the older history of ledgers and trades through Kraken's export cycle;
4. run the incremental sync through the Prefect flow for the recent part (closed orders, order amends and
   balances in full: exports do not cover them);
5. summarise what is in the database.

A second run finds its export jobs already loaded and its bookmarks current, so it only re-reads the
overlap. The simulator's key lives in this process's environment only while the demo runs; it is never
printed. The simulator and the client run the call counter accelerated (`RATE_SCALE`), both sides alike,
so the demo shows real pacing without waiting real minutes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from kraken_etl.backfill import BackfillRequest, Event, ExportPolicy, LoadResult, backfill
from kraken_etl.db import migrate
from kraken_etl.db.engine import effective_url, make_engine
from kraken_etl.db.summary import open_quarantine, row_counts
from kraken_etl.core.clock import SystemClock
from kraken_etl.pipeline import client_for
from kraken_etl.settings import load_settings
from kraken_etl.simulator import SimConfig
from kraken_etl.simulator.server import running

ACCOUNT = "demo"
SEED = 2026
LEDGER_ENTRIES = 20_000
RECENT = timedelta(days=30)  # synced through REST; everything older comes through the export cycle
RATE_SCALE = 50.0

_ACCOUNT_VARS = ("KRAKEN_ETL_CONFIG", "KRAKEN_API_KEY_FILE", "KRAKEN_API_SECRET_FILE")


@dataclass
class DemoSummary:
    database: str
    backfill: list[LoadResult] = field(default_factory=list)
    sync: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set `values` (and clear other account sources) for the demo, restoring the caller's afterwards."""
    saved = {name: os.environ.get(name) for name in (*values, *_ACCOUNT_VARS)}
    for name in _ACCOUNT_VARS:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_demo(say: Callable[[str], None], progress: Callable[[Event], None]) -> DemoSummary:
    """Run the demo end to end; `say` gets one line per step, `progress` the backfill's events.

    Raises:
        SettingsError, EmbeddedDatabaseError, KrakenError, BackfillError: as the steps they come from.
    """
    from flows.sync import sync_flow  # Prefect is imported only when the demo runs

    started = time.monotonic()
    settings = load_settings()
    url = effective_url(settings)
    where = "DATABASE_URL" if settings.database_url else f"embedded PostgreSQL ({settings.home / 'pgdata'})"
    summary = DemoSummary(database=where)
    migrate.upgrade(url)
    say(f"database ready: {summary.database}, schema kraken at {', '.join(migrate.heads())}")

    config = SimConfig(seed=SEED, ledger_entries=LEDGER_ENTRIES, tier="pro", rate_scale=RATE_SCALE,
                       export_queued_seconds=0.5, export_processing_seconds=1.0)
    with running(config) as sim:
        say(f"simulator serving a {LEDGER_ENTRIES:,}-entry account on {sim.rest_url} (seed {SEED})")
        env = {"KRAKEN_API_URL": sim.rest_url, "KRAKEN_WS_AUTH_URL": sim.ws_url, "KRAKEN_API_KEY": sim.api_key,
               "KRAKEN_API_SECRET": sim.api_secret, "KRAKEN_TIER": "pro", "KRAKEN_ACCOUNT": ACCOUNT,
               "KRAKEN_RATE_SCALE": str(RATE_SCALE)}
        with _environment(env):
            demo_settings = load_settings()
            (account,) = demo_settings.select_accounts([ACCOUNT])
            cutover = config.end_time - RECENT
            history_start = config.end_time - timedelta(days=config.history_days + 1)

            step = time.monotonic()
            engine = make_engine(url)
            try:
                with client_for(account, demo_settings, clock=SystemClock()) as client:
                    # Exports cover ledgers and trades; closed orders only come through REST.
                    requests = (
                        BackfillRequest(ACCOUNT, history_start, cutover, ("ledgers", "trades"), "export", None),
                        BackfillRequest(ACCOUNT, history_start, cutover, ("closed_orders",), "rest", None),
                    )
                    policy = ExportPolicy(poll_initial=0.5, poll_max=2.0, timeout=300)
                    for request in requests:
                        summary.backfill += backfill(request, engine=engine, client=client, clock=client.clock,
                                                     home=demo_settings.home, policy=policy, progress=progress)
            finally:
                engine.dispose()
            summary.seconds["backfill (export cycle)"] = time.monotonic() - step
            say(f"backfilled {history_start:%Y-%m-%d} .. {cutover:%Y-%m-%d}: ledgers and trades through the export "
                "cycle, closed orders through REST")

            step = time.monotonic()
            summary.sync = sync_flow(accounts=[ACCOUNT], since=cutover.isoformat())
            summary.seconds["incremental sync (Prefect flow)"] = time.monotonic() - step
            say("incremental sync done through the Prefect flow")

    engine = make_engine(url)
    try:
        summary.counts = row_counts(engine)
        summary.quarantined = open_quarantine(engine)
    finally:
        engine.dispose()
    summary.seconds["total"] = time.monotonic() - started
    return summary
