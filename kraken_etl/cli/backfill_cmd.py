"""`kraken-etl backfill --from DATE --to DATE [--via auto|rest|export] [--stream S]… [--account A]`.

Loads a past range: Kraken's export cycle for big chunks, REST windows for small ones (`auto` decides
from a `count`). Resumable: a rerun after a crash continues the same export jobs. Never moves the
incremental bookmark. Rich progress shows polling, download and load.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table

from kraken_etl.cli.common import (
    console,
    err_console,
    expected_error,
    fail,
    handle_errors,
    parse_date,
    settings,
)
from kraken_etl.cli.tuning import relaxed_gc
from kraken_etl.core.exportfile import ExportFileError
from kraken_etl.db import migrate
from kraken_etl.db.engine import effective_url
from kraken_etl.db.locks import AccountBusy
from kraken_etl.jobs.backfill import BACKFILL_STREAMS, VIAS, backfill_label
from kraken_etl.jobs.errors import BackfillError
from kraken_etl.jobs.events import Event
from kraken_etl.jobs.exclusive import exclusive_label
from kraken_etl.jobs.exportcycle import ExportPolicy
from kraken_etl.kraken.errors import KrakenError


@handle_errors
def backfill_(
    date_from: Annotated[str, typer.Option("--from", help="Start of the range (inclusive), UTC.")],
    date_to: Annotated[str, typer.Option("--to", help="End of the range (exclusive), UTC.")],
    via: Annotated[str, typer.Option("--via", help="auto | rest | export")] = "auto",
    stream: Annotated[list[str] | None, typer.Option(
        "--stream", help=f"Stream(s) to load (repeatable): {', '.join(BACKFILL_STREAMS)}. Default: all.")] = None,
    account: Annotated[str | None, typer.Option("--account", help="Account label (default: all).")] = None,
    chunk_days: Annotated[int, typer.Option(help="Days per chunk (0 = the whole range at once).")] = 90,
    export_threshold: Annotated[int, typer.Option(help="auto: rows from which a chunk goes by export.")] = 5_000,
    poll_timeout: Annotated[float, typer.Option(help="Seconds before a stuck export is cancelled.")] = 10_800.0,
) -> None:
    """Load a past date range of every stream (exports where Kraken has them, REST elsewhere)."""
    for exc_type in (BackfillError, ExportFileError, KrakenError):
        expected_error(exc_type)
    if via not in VIAS:
        raise typer.BadParameter("must be auto, rest or export", param_hint="--via")
    streams = tuple(stream or BACKFILL_STREAMS)
    unknown = [s for s in streams if s not in BACKFILL_STREAMS]
    if unknown:
        raise typer.BadParameter(f"unknown stream {unknown[0]!r}; one of {', '.join(BACKFILL_STREAMS)}",
                                 param_hint="--stream")
    start, end = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    if end <= start:
        raise typer.BadParameter("--to must be after --from", param_hint="--to")
    current = settings()
    migrate.upgrade(effective_url(current))
    policy = ExportPolicy(timeout=poll_timeout)
    table = Table(title=f"backfill {start:%Y-%m-%d} .. {end:%Y-%m-%d}")
    for column in ("account", "stream", "range", "via", "rows", "loaded", "quarantined", "export job"):
        table.add_column(column)
    for acct in current.select_accounts([account] if account else None):
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task(f"{acct.label}: planning", total=None)

            def show(event: Event, _task: TaskID = task, _label: str = acct.label) -> None:
                total = event.total if event.kind in ("download", "load") else None
                bar.update(_task, description=f"{_label}: {event.message}", completed=event.done, total=total)
                if event.kind == "status":
                    err_console.print(f"{_label}: {event.message}", highlight=False)

            try:
                with exclusive_label(acct.label, purpose="backfill", settings=current), relaxed_gc():
                    results = backfill_label(acct.label, start, end, via, streams, chunk_days,  # type: ignore[arg-type]
                                             export_threshold, settings=current, policy=policy, progress=show)
            except AccountBusy as exc:
                raise fail(str(exc), code=exc.exit_code) from None
        for r in results:
            window = f"{r.window[0]:%Y-%m-%d}..{r.window[1]:%Y-%m-%d}" if r.window else "-"
            table.add_row(acct.label, r.stream, window, r.via, f"{r.fetched:,}", f"{r.loaded:,}",
                          f"{r.quarantined:,}", str(r.job_id or "-"))
    console.print(table)
