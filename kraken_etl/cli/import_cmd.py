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

from kraken_etl.cli.common import console, err_console, fail, handle_errors, settings
from kraken_etl.cli.tuning import relaxed_gc
from kraken_etl.core.exportfile import ExportFileError
from kraken_etl.db import migrate
from kraken_etl.db.engine import effective_url, make_engine
from kraken_etl.db.locks import AccountBusy
from kraken_etl.jobs.events import Event
from kraken_etl.jobs.exclusive import exclusive
from kraken_etl.jobs.fileload import import_files


@handle_errors
def import_(
    files: Annotated[
        list[Path], typer.Argument(help="Kraken export files: .zip, .csv or .tsv.", metavar="FILE...")
    ],
    account: str | None = typer.Option(None, "--account", help="Account label the rows belong to."),
) -> None:
    """Load Kraken export files (ledgers or trades, detected from the header)."""
    from kraken_etl.cli.common import expected_error

    expected_error(ExportFileError)
    current = settings()
    chosen = current.select_accounts([account] if account else None)[0]
    label = chosen.label
    url = effective_url(current)
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=err_console,
                      transient=True) as bar:
            task = bar.add_task("import", total=None)

            def show(event: Event) -> None:
                bar.update(task, description=event.message, completed=event.done, total=event.total)

            with exclusive(engine, chosen, current.home, purpose="import"), relaxed_gc():
                results = import_files(engine, files, account=label, progress=show)
    except AccountBusy as exc:
        raise fail(str(exc), code=exc.exit_code) from None
    finally:
        engine.dispose()
    table = Table(title=f"import into account {label!r}")
    numbers = ("rows", "new", "changed", "unchanged", "quarantined", "pending (not entries)")
    for column in ("file", "kind", *numbers, "result"):
        table.add_column(column, justify="right" if column in numbers else "left")
    failed = 0
    for result in results:
        if result.error:
            failed += 1
            err_console.print(f"[bold red]error:[/] {result.error}", highlight=False, soft_wrap=True)
            table.add_row(result.name, "-", "-", "0", "0", "0", "0", "0", "[red]rejected, nothing loaded[/]")
        else:
            unchanged = result.loaded - result.inserted - result.updated
            table.add_row(result.name, result.stream, f"{result.fetched:,}", f"{result.inserted:,}",
                          f"{result.updated:,}", f"{unchanged:,}", f"{result.quarantined:,}", f"{result.pending:,}",
                          "ok")
    console.print(table)
    if failed:
        raise typer.Exit(1)
