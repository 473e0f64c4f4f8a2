"""`kraken-etl demo`: the zero-config end-to-end run (embedded PostgreSQL + the local simulator)."""

from __future__ import annotations

import os
from typing import Any

from rich.table import Table

from kraken_etl.cli.common import console, handle_errors, settings
from kraken_etl.cli.output import styled
from kraken_etl.db.engine import effective_url, libpq_url
from kraken_etl.jobs.events import Event


def _quiet_prefect() -> None:
    """Prefect offline and quiet, with its state under KRAKEN_ETL_HOME."""
    from flows import prefect_api

    prefect_api.offline(settings().home)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")


def _steps_lines(outcome: dict[str, Any]) -> list[str]:
    """What the nightly run's later steps did, one line each (skipped steps say why)."""
    lines = []
    for step in outcome["steps"]:
        if step["name"] == "reconcile":
            lines.append(f"reconciliation: {step['detail']}" if step["status"] == "ok"
                         else f"reconciliation: {step['status']} ({step['detail']})")
        elif step["name"] == "report":
            lines.append(f"report: {step['path']}" if step["status"] == "ok"
                         else f"report: {step['status']} ({step['detail']})")
        elif step["status"] != "ok":
            lines.append(f"{step['name']}: {step['status']} ({step['detail']})")
    return lines


@handle_errors
def demo() -> None:
    """Run the nightly flow end to end against the local simulator and show what landed in PostgreSQL."""
    _quiet_prefect()
    import time

    from flows import prefect_api
    from kraken_etl.jobs.demo import ACCOUNT, FIRST_QUERY, backfill_history, demo_account, summarise

    api = prefect_api.start_in_background()  # overlaps the database, the simulator and the backfill

    def say(line: str) -> None:
        console.print(f"• {line}", highlight=False, soft_wrap=True)

    def progress(event: Event) -> None:
        if event.kind in ("status", "done"):
            console.print("  ", styled(event.message, "dim"), sep="", soft_wrap=True)

    with demo_account(say) as run:
        backfill_history(run, say, progress)  # under the account's lock, as `kraken-etl backfill`
        began = time.monotonic()
        api.result()
        from flows.nightly import nightly_flow  # imported by the warm-up: Prefect only when the demo runs

        run.summary.seconds["waiting for the Prefect API (started at the beginning)"] = time.monotonic() - began
        began = time.monotonic()
        outcome = nightly_flow(accounts=[ACCOUNT], since=run.cutover.isoformat())[ACCOUNT]
        run.summary.sync = outcome["sync"]
        run.summary.seconds["nightly flow (sync, balances, reconcile, report)"] = time.monotonic() - began
        added = sum(r["inserted"] for r in outcome["sync"] if r["stream"] != "balances")
        calls = sum(r["calls"] for r in outcome["sync"])
        say(f"nightly flow done through Prefect: {added:,} new history rows and a balance snapshot from {calls} "
            "calls (run `make demo` again: the second run is incremental and only re-reads the overlap)")
    summary = summarise(run)

    console.print(_figures("rows per table", "table", "rows", {k: f"{v:,}" for k, v in summary.counts.items()}))
    console.print(_figures("time taken", "step", "seconds", {k: f"{v:.1f}" for k, v in summary.seconds.items()}))
    console.print(f"quarantined records: {summary.quarantined:,} (see kraken.quarantine)")
    for line in _steps_lines(outcome):
        console.print(line, highlight=False, soft_wrap=True)
    url = libpq_url(effective_url(settings()))
    console.print(f'Look at the data:  psql "{url}"', highlight=False, soft_wrap=True)
    console.print('             (or:  psql "$(.venv/bin/kraken-etl db url)")', highlight=False, soft_wrap=True)
    console.print(f"Try:  {FIRST_QUERY}", highlight=False, soft_wrap=True)
    console.print("Guide: docs/sql-guide.md   Where things stand: kraken-etl status   Runbook: docs/operations.md",
                  highlight=False)


def _figures(title: str, name: str, figure: str, rows: dict[str, str]) -> Table:
    """A two-column table: names on the left, their figures right-aligned."""
    table = Table(title=title)
    table.add_column(name)
    table.add_column(figure, justify="right")
    for key, value in rows.items():
        table.add_row(key, value)
    return table
