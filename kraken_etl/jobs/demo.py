"""The zero-config demo, as a composition: embedded PostgreSQL + the local simulator, the main job end to end.

1. migrate the database (embedded unless DATABASE_URL is set);
2. serve the simulator on loopback with a realistic seeded account (deterministic: the same every run);
3. backfill the older history of ledgers and trades through Kraken's export cycle;
4. (the CLI) run the incremental sync through the Prefect flow for the recent part;
5. summarise what is in the database.

The steps are here; `kraken_etl.cli.demo_cmd` strings them together with the flow, since the composition
layer never imports `flows/`.

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
from datetime import datetime, timedelta
from typing import Any

from kraken_etl.core.results import JobResult
from kraken_etl.db import migrate
from kraken_etl.db.engine import effective_url, make_engine
from kraken_etl.db.reporting import holdings_now_sql
from kraken_etl.db.summary import open_quarantine, row_counts
from kraken_etl.jobs.backfill import run_backfill
from kraken_etl.jobs.events import Progress
from kraken_etl.jobs.exportcycle import ExportPolicy
from kraken_etl.settings import Settings, load_settings
from kraken_etl.simulator import SimConfig
from kraken_etl.simulator.server import serving_process

ACCOUNT = "demo"
# The first query the demo suggests (the README shows the same): holdings now, from the reporting schema.
FIRST_QUERY = holdings_now_sql(ACCOUNT)
SEED = 2026
LEDGER_ENTRIES = 20_000
RECENT = timedelta(days=30)  # synced through REST; everything older comes through the export cycle
RATE_SCALE = 50.0

_ACCOUNT_VARS = ("KRAKEN_ETL_CONFIG", "KRAKEN_API_KEY_FILE", "KRAKEN_API_SECRET_FILE")


@dataclass
class DemoSummary:
    database: str
    backfill: list[JobResult] = field(default_factory=list)
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


@dataclass
class Demo:
    """A running demo: the simulator serving, its account configured in this process's environment."""

    url: str
    settings: Settings
    config: SimConfig
    cutover: datetime
    history_start: datetime
    summary: DemoSummary
    started: float = field(default_factory=time.monotonic)


@contextmanager
def demo_account(say: Callable[[str], None]) -> Iterator[Demo]:
    """Migrate the database, serve the simulator on loopback and configure its account for the demo.

    The account's key lives in this process's environment only inside the block; it is never printed.

    Raises:
        SettingsError, EmbeddedDatabaseError: from the settings or the database.
    """
    settings = load_settings()
    url = effective_url(settings)
    where = "DATABASE_URL" if settings.database_url else f"embedded PostgreSQL ({settings.home / 'pgdata'})"
    summary = DemoSummary(database=where)
    migrate.upgrade(url)
    say(f"database ready: {summary.database}, schema kraken at {', '.join(migrate.heads())}")
    config = SimConfig(seed=SEED, ledger_entries=LEDGER_ENTRIES, tier="pro", rate_scale=RATE_SCALE,
                       export_queued_seconds=0.5, export_processing_seconds=1.0)
    with serving_process(config) as sim:
        say(f"simulator serving a {LEDGER_ENTRIES:,}-entry account on {sim.rest_url} (seed {SEED})")
        env = {"KRAKEN_API_URL": sim.rest_url, "KRAKEN_WS_AUTH_URL": sim.ws_url, "KRAKEN_API_KEY": sim.api_key,
               "KRAKEN_API_SECRET": sim.api_secret, "KRAKEN_TIER": "pro", "KRAKEN_ACCOUNT": ACCOUNT,
               "KRAKEN_RATE_SCALE": str(RATE_SCALE)}
        with _environment(env):
            yield Demo(url, load_settings(), config, config.end_time - RECENT,
                       config.end_time - timedelta(days=config.history_days + 1), summary)


def backfill_history(demo: Demo, say: Callable[[str], None], progress: Progress) -> None:
    """Load the older history, as `kraken-etl backfill --via export` does: ledgers and trades through the
    export cycle, the rest through REST.

    Raises:
        AccountBusy, KrakenError, BackfillError: as `jobs.backfill.run_backfill`.
    """
    step = time.monotonic()
    policy = ExportPolicy(poll_initial=0.5, poll_max=2.0, timeout=300)
    _, demo.summary.backfill = run_backfill(ACCOUNT, demo.history_start, demo.cutover, via="export",
                                            settings=demo.settings, policy=policy, progress=progress)
    demo.summary.seconds["backfill (export cycle)"] = time.monotonic() - step
    say(f"backfilled {demo.history_start:%Y-%m-%d} .. {demo.cutover:%Y-%m-%d}: ledgers and trades through the "
        "export cycle, closed orders and amends through REST")


def summarise(demo: Demo) -> DemoSummary:
    """Count what landed; the total time since the demo started."""
    engine = make_engine(demo.url)
    try:
        demo.summary.counts = row_counts(engine)
        demo.summary.quarantined = open_quarantine(engine)
    finally:
        engine.dispose()
    demo.summary.seconds["total"] = time.monotonic() - demo.started
    return demo.summary
