"""`kraken-etl demo`: the zero-config end-to-end run (embedded PostgreSQL + the local simulator)."""

from __future__ import annotations

import logging
import os

from rich.table import Table

from kraken_etl.backfill import BackfillError, Event
from kraken_etl.cli.common import console, expected_error, handle_errors, settings
from kraken_etl.db.engine import effective_url, libpq_url


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
    expected_error(BackfillError)  # until BackfillError derives from KrakenEtlError
    _quiet_prefect()
    from kraken_etl.demo import run_demo

    def progress(event: Event) -> None:
        if event.kind in ("status", "done"):
            console.print(f"  [dim]{event.message}[/]", highlight=False, soft_wrap=True)

    summary = run_demo(lambda line: console.print(f"• {line}", highlight=False, soft_wrap=True), progress)

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
