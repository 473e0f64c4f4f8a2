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

from kraken_etl.backfill import BACKFILL_STREAMS, BackfillError, Event, ExportPolicy, backfill_label
from kraken_etl.cli.common import (
    console,
    err_console,
    expected_error,
    handle_errors,
    parse_date,
    settings,
)
from kraken_etl.db import migrate
from kraken_etl.db.engine import effective_url


@handle_errors
def backfill_(
    date_from: Annotated[str, typer.Option("--from", help="Start of the range (inclusive), UTC.")],
    date_to: Annotated[str, typer.Option("--to", help="End of the range (exclusive), UTC.")],
    via: Annotated[str, typer.Option("--via", help="auto | rest | export")] = "auto",
    stream: Annotated[list[str] | None, typer.Option("--stream", help="Stream(s) to load (repeatable).")] = None,
    account: Annotated[str | None, typer.Option("--account", help="Account label (default: all).")] = None,
    chunk_days: Annotated[int, typer.Option(help="Days per chunk (0 = the whole range at once).")] = 90,
    export_threshold: Annotated[int, typer.Option(help="auto: rows from which a chunk goes by export.")] = 5_000,
    poll_timeout: Annotated[float, typer.Option(help="Seconds before a stuck export is cancelled.")] = 10_800.0,
) -> None:
    """Load a past date range (exports for big ranges, REST for small ones); never moves the bookmark."""
    expected_error(BackfillError)  # until BackfillError derives from KrakenEtlError
    if via not in ("auto", "rest", "export"):
        raise typer.BadParameter("must be auto, rest or export", param_hint="--via")
    streams = tuple(stream or ("ledgers", "trades"))
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

            results = backfill_label(acct.label, start, end, via, streams, chunk_days,  # type: ignore[arg-type]
                                     export_threshold, settings=current, policy=policy, progress=show)
        for r in results:
            window = f"{r.window[0]:%Y-%m-%d}..{r.window[1]:%Y-%m-%d}" if r.window else "-"
            table.add_row(acct.label, r.kind, window, r.via, f"{r.rows:,}", f"{r.loaded:,}",
                          f"{r.quarantined:,}", str(r.job_id or "-"))
    console.print(table)
