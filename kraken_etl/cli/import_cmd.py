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
from rich.progress import BarColumn, DownloadColumn, Progress
from rich.table import Table

from kraken_etl.cli.common import console, err_console, handle_errors, settings
from kraken_etl.cli.output import DescriptionColumn, print_error, styled
from kraken_etl.jobs.events import Event


@handle_errors
def import_(
    files: Annotated[
        list[Path], typer.Argument(help="Kraken export files: .zip, .csv or .tsv.", metavar="FILE...")
    ],
    account: str | None = typer.Option(
        None, "--account", help="Account label the rows belong to (a file import needs no key: a label that is "
        "not configured is accepted as a new account)."),
    new_account: bool = typer.Option(
        False, "--new-account", help="The --account label is new on purpose (even if it looks like a known one)."),
) -> None:
    """Load Kraken export files (ledgers or trades, detected from the header)."""
    from kraken_etl.jobs.imports import run_import

    with Progress(DescriptionColumn(), BarColumn(), DownloadColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("import", total=None)

        def show(event: Event) -> None:
            if event.kind == "note":  # a line for the person, kept above the bar
                bar.console.print(event.message, highlight=False, markup=False)
            bar.update(task, description=event.message, completed=event.done, total=event.total)

        run = run_import(files, account=account, allow_new=new_account, settings=settings(), progress=show)
    label, results, refreshed = run.account, run.results, run.refreshed
    table = Table(title=f"import into account {label!r}")
    numbers = ("rows", "new", "changed", "unchanged", "quarantined", "pending (not entries)")
    for column in ("file", "kind", *numbers, "result"):
        table.add_column(column, justify="right" if column in numbers else "left")
    failed = 0
    for result in results:
        if result.error:
            failed += 1
            print_error(result.error)
            table.add_row(result.name, "-", "-", "0", "0", "0", "0", "0", styled("rejected, nothing loaded", "red"))
        else:
            table.add_row(result.name, result.stream, f"{result.fetched:,}", f"{result.inserted:,}",
                          f"{result.updated:,}", f"{result.unchanged:,}", f"{result.quarantined:,}",
                          f"{result.pending:,}",
                          _ok(result.details.get("identical_copies", 0)))
    console.print(table)
    if refreshed:
        console.print(refreshed.line(), highlight=False)
    if failed:
        raise typer.Exit(1)


def _ok(identical_copies: int) -> str:
    return f"ok ({identical_copies:,} identical repeats ignored)" if identical_copies else "ok"
