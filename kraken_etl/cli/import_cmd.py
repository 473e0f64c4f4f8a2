"""`kraken-etl import FILE… [--account A]`: load export files a person downloaded from Kraken.

Zips, CSVs or TSVs; ledgers or trades, told apart by the header. Each file is verified completely before a
row is parsed and loads in one transaction, so a corrupt, truncated or malicious file is rejected with one
clear line and loads nothing. Ends with a table of rows loaded and quarantined per file; exits 1 when any
file was rejected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn
from rich.table import Table

from kraken_etl.backfill import Event, import_files
from kraken_etl.cli.common import console, err_console, handle_errors, settings
from kraken_etl.db import migrate
from kraken_etl.db.engine import effective_url, make_engine


@handle_errors
def import_(
    files: Annotated[
        list[Path], typer.Argument(help="Kraken export files: .zip, .csv or .tsv.", metavar="FILE...")
    ],
    account: str | None = typer.Option(None, "--account", help="Account label the rows belong to."),
) -> None:
    """Load Kraken export files (ledgers or trades, detected from the header)."""
    current = settings()
    label = current.select_accounts([account] if account else None)[0].label
    url = effective_url(current)
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=err_console,
                      transient=True) as bar:
            task = bar.add_task("import", total=None)

            def show(event: Event) -> None:
                bar.update(task, description=event.message, completed=event.done, total=event.total)

            results = import_files(engine, files, account=label, progress=show)
    finally:
        engine.dispose()
    table = Table(title=f"import into account {label!r}")
    for column in ("file", "kind", "rows", "loaded", "quarantined", "result"):
        table.add_column(column, justify="right" if column in ("rows", "loaded", "quarantined") else "left")
    failed = 0
    for result in results:
        if result.error:
            failed += 1
            err_console.print(f"[bold red]error:[/] {result.error}", highlight=False, soft_wrap=True)
            table.add_row(result.name, "-", "-", "0", "0", "[red]rejected, nothing loaded[/]")
        else:
            table.add_row(result.name, result.kind, f"{result.rows:,}", f"{result.loaded:,}",
                          f"{result.quarantined:,}", "ok")
    console.print(table)
    if failed:
        raise typer.Exit(1)
