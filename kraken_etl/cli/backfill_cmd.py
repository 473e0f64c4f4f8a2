"""`kraken-etl backfill --from DAY --to DAY [--via auto|rest|export] [--stream S]… [--account A]`.

Loads a past range of every stream, planned from the data: a few count calls find where the history begins
and how many rows it holds; one export per report covers up to `--max-export-rows` (a larger history is split
by row count); closed orders and order amends go by REST. The plan is printed before anything is requested
(`--dry-run` stops there) and stored, so a rerun after a crash resumes the same plan and export jobs. Never
moves the incremental bookmark. Rich progress shows polling, download and load. `--from` and `--to` are both
inclusive (`kraken_etl.core.period`); the interval they resolved to is printed first. The table says per range
how many rows were new, changed and already stored unchanged.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TaskID
from rich.table import Table

from kraken_etl.cli.common import (
    console,
    database_url,
    err_console,
    handle_errors,
    parse_period,
    settings,
)
from kraken_etl.cli.output import DescriptionColumn
from kraken_etl.core.period import Period
from kraken_etl.jobs.events import Event
from kraken_etl.jobs.streams import STREAMS


@handle_errors
def backfill_(
    date_from: Annotated[str, typer.Option("--from", help="First day (or moment) of the range, inclusive, UTC.")],
    date_to: Annotated[str, typer.Option(
        "--to", help="Last day of the range, inclusive (through the end of that day), or a moment, inclusive; UTC.")],
    via: Annotated[str, typer.Option("--via", help="auto | rest | export")] = "auto",
    stream: Annotated[list[str] | None, typer.Option(
        "--stream", help=f"Stream(s) to load (repeatable): {', '.join(s.name for s in STREAMS)}. "
        "Default: all.")] = None,
    account: Annotated[str | None, typer.Option("--account", help="Account label (default: all).")] = None,
    chunk_days: Annotated[int, typer.Option(
        help="Calendar chunks of N days (0 = plan ranges from the data: one export per report unless it "
        "holds more than --max-export-rows).")] = 0,
    export_threshold: Annotated[int, typer.Option(help="auto: rows from which a range goes by export.")] = 5_000,
    max_export_rows: Annotated[int, typer.Option(
        envvar="KRAKEN_EXPORT_MAX_ROWS", help="Rows one export may hold; a larger history is split by rows.")
    ] = 1_000_000,
    poll_timeout: Annotated[float, typer.Option(help="Seconds before a stuck export is cancelled.")] = 10_800.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and stop.")] = False,
) -> None:
    """Load a past date range of every stream (exports where Kraken has them, REST elsewhere)."""
    from kraken_etl.jobs.backfill import BACKFILL_STREAMS, VIAS, run_backfill
    from kraken_etl.jobs.exportcycle import ExportPolicy

    if via not in VIAS:
        raise typer.BadParameter("must be auto, rest or export", param_hint="--via")
    streams = tuple(stream or BACKFILL_STREAMS)
    unknown = [s for s in streams if s not in BACKFILL_STREAMS]
    if unknown:
        raise typer.BadParameter(f"unknown stream {unknown[0]!r}; one of {', '.join(s.name for s in STREAMS)}",
                                 param_hint="--stream")
    period = parse_period(date_from, date_to)
    current = settings()
    database_url(current)  # migrated before anything is planned
    console.print(f"backfill {period.describe()}", highlight=False, soft_wrap=True)
    policy = ExportPolicy(timeout=poll_timeout)
    table = Table(title="backfill")
    numbers = ("rows", "new", "changed", "unchanged", "quarantined")
    for column in ("account", "stream", "range", "via", *numbers, "export job"):
        table.add_column(column, justify="right" if column in numbers else "left")
    notes: list[str] = []
    for acct in current.select_accounts([account] if account else None):
        with Progress(SpinnerColumn(), DescriptionColumn(), BarColumn(), DownloadColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task(f"{acct.label}: planning", total=None)

            def show(event: Event, _task: TaskID = task, _label: str = acct.label) -> None:
                total = event.total if event.kind in ("download", "load") else None
                bar.update(_task, description=f"{_label}: {event.message}", completed=event.done, total=total)
                if event.kind == "plan":
                    console.print(f"{_label} plan: {event.message}", highlight=False, soft_wrap=True)
                elif event.kind == "status":
                    err_console.print(f"{_label}: {event.message}", highlight=False)
                elif event.kind == "note":  # e.g. the reporting refresh after the load
                    notes.append(f"{_label}: {event.message}")

            # under the account's lock: AccountBusy (exit 3, one line) when another run holds it
            _, results = run_backfill(acct.label, period.start, period.end, via=via, streams=streams,
                                      chunk_days=chunk_days, export_threshold=export_threshold,
                                      max_export_rows=max_export_rows, settings=current, policy=policy,
                                      progress=show, dry_run=dry_run)
        for r in results:
            days = Period(*r.window) if r.window and r.window[1] > r.window[0] else None
            window = f"{days.first_day}..{days.last_day}" if days else "-"  # both days inclusive
            table.add_row(acct.label, r.stream, window, r.via, f"{r.fetched:,}", f"{r.inserted:,}",
                          f"{r.updated:,}", f"{r.unchanged:,}", f"{r.quarantined:,}", str(r.job_id or "-"))
    if not dry_run:
        console.print(table)
        for note in notes:
            console.print(note, highlight=False, markup=False)
