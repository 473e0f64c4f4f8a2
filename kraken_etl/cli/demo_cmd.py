"""`kraken-etl demo`: the zero-config end-to-end run (embedded PostgreSQL + the local simulator)."""

from __future__ import annotations

import logging
import os

from rich.table import Table

from kraken_etl.cli.common import console, handle_errors, settings
from kraken_etl.db.engine import effective_url, libpq_url
from kraken_etl.jobs.events import Event


def _quiet_prefect() -> None:
    """Prefect offline and quiet (stack-notes.md), with its state under KRAKEN_ETL_HOME."""
    home = settings().home
    os.environ.setdefault("PREFECT_HOME", str((home / "prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)


@handle_errors
def demo() -> None:
    """Run the main job end to end against the local simulator and show what landed in PostgreSQL."""
    _quiet_prefect()
    import time

    from flows.sync import sync_flow  # Prefect is imported only when the demo runs
    from kraken_etl.jobs.demo import ACCOUNT, backfill_history, demo_account, summarise

    def say(line: str) -> None:
        console.print(f"• {line}", highlight=False, soft_wrap=True)

    def progress(event: Event) -> None:
        if event.kind in ("status", "done"):
            console.print(f"  [dim]{event.message}[/]", highlight=False, soft_wrap=True)

    with demo_account(say) as run:
        backfill_history(run, say, progress)
        began = time.monotonic()
        run.summary.sync = sync_flow(accounts=[ACCOUNT], since=run.cutover.isoformat())
        run.summary.seconds["incremental sync (Prefect flow)"] = time.monotonic() - began
        say("incremental sync done through the Prefect flow")
    summary = summarise(run)

    table = Table(title="rows per table")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in summary.counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    timing = Table(title="time taken")
    timing.add_column("step")
    timing.add_column("seconds", justify="right")
    for step, seconds in summary.seconds.items():
        timing.add_row(step, f"{seconds:.1f}")
    console.print(timing)
    console.print(f"quarantined records: {summary.quarantined:,} (see kraken.quarantine)")
    url = libpq_url(effective_url(settings()))
    console.print(f'Look at the data:  psql "{url}"', highlight=False, soft_wrap=True)
    console.print('             (or:  psql "$(.venv/bin/kraken-etl db url)")', highlight=False, soft_wrap=True)
    console.print("Try:  SELECT asset, sum(amount) - sum(fee) AS net FROM kraken.ledger_entry GROUP BY asset;",
                  highlight=False, soft_wrap=True)
    console.print("Guide: docs/sql-guide.md   Where things stand: kraken-etl status", highlight=False)
