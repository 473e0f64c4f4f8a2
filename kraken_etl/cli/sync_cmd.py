"""`kraken-etl sync [--stream S]… [--account A]…`: incremental sync of Kraken history into PostgreSQL.

Runs ledgers, trades, closed_orders, order_amends and balances (or the chosen ones) for every configured
account (or the chosen ones), with a Rich progress bar per stream on stderr and a summary table on stdout.
Each stream's start (and why) is printed first; a long walk prints one plain line per committed
sub-window (rows done of the total, the time left at the tier's pace).
A fatal Kraken error (invalid key, missing permission, …) ends that account at once; the command exits
non-zero with one line per failure, no traceback and never a secret. The accelerated-counter knob
``KRAKEN_RATE_SCALE`` is for simulator runs only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn
from rich.table import Table

from kraken_etl.cli.common import console, err_console, handle_errors, one_line, parse_date, settings
from kraken_etl.cli.output import DescriptionColumn, print_error
from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.kraken.errors import KrakenError

if TYPE_CHECKING:
    from kraken_etl.core.results import JobResult
    from kraken_etl.jobs.events import Event


@handle_errors
def sync(
    stream: Annotated[list[str] | None, typer.Option(
        "--stream", "-s", help=f"Stream to sync (repeatable): {', '.join(SYNC_ORDER)}. Default: all.")] = None,
    account: Annotated[list[str] | None, typer.Option(
        "--account", "-a", help="Account label to sync (repeatable). Default: every configured account.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Where a stream with no bookmark yet starts (e.g. the end of an export backfill, "
        "YYYY-MM-DD, UTC). Ignored where a bookmark exists. Default: where the stream's stored rows end, "
        "else the beginning of the history.")] = None,
    window_rows: Annotated[int | None, typer.Option(
        "--window-rows", min=1, help="A window holding more rows is walked in sub-windows of about this many, "
        "each committed with its bookmark (default: KRAKEN_SYNC_WINDOW_ROWS, 50,000).")] = None,
) -> None:
    """Incrementally sync ledgers, trades, closed orders, order amends and balances."""
    from datetime import UTC, datetime

    from kraken_etl.db.locks import AccountBusy
    from kraken_etl.jobs.refresh import refresh_after_load
    from kraken_etl.jobs.sync import check_streams, run_sync
    from kraken_etl.jobs.wiring import database

    current = settings()
    start = parse_date(since, "--since") if since else None
    streams = check_streams(stream)
    accounts = current.select_accounts(account)
    now = datetime.now(UTC)  # one signpost for every stream of every account of this run
    results: list[JobResult] = []
    failures: list[str] = []
    code = 1
    rows = window_rows or current.sync_window_rows
    columns = (DescriptionColumn(), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with database(current, upgrade=True) as engine, Progress(*columns, console=err_console) as bar:
        for acct in accounts:
            tasks: dict[str, TaskID] = {}

            def task(stream: str, _t: dict[str, TaskID] = tasks, _label: str = acct.label) -> TaskID:
                if stream not in _t:  # a bar once the stream starts (a busy account shows none)
                    _t[stream] = bar.add_task(f"{_label} {stream}", total=None)
                return _t[stream]

            def show(event: Event, _task: Callable[[str], TaskID] = task) -> None:
                if event.kind in ("status", "commit"):  # plain lines: a start point, a committed sub-window
                    bar.console.print(event.message, markup=False, highlight=False)
                elif event.stream:
                    bar.update(_task(event.stream), completed=event.done, total=event.total)

            try:  # under the account's lock for all its streams
                for result in run_sync(acct.label, streams, now=now, since=start, settings=current,
                                       progress=show, window_rows=rows):
                    results.append(result)
                    bar.update(task(result.stream), completed=result.fetched, total=result.fetched or 1)
            except AccountBusy as exc:  # one line naming the account; the other accounts still run
                failures.append(str(exc))
                code = exc.exit_code
            except KrakenError as exc:
                failures.append(f"account {acct.label!r}: {one_line(exc)}")
                code = max(code, exc.exit_code)  # missing credentials: 2
        refreshed = refresh_after_load(engine, [a.label for a in accounts])  # e.g. a first sync's history
    if results:
        console.print(_summary(results))
    if refreshed:
        console.print(refreshed.line(), highlight=False)
    if failures:
        for line in failures:
            print_error(line)
        raise typer.Exit(code)


def _summary(results: list[JobResult]) -> Table:
    table = Table(title="sync summary")
    for column in ("account", "stream", "fetched", "inserted", "updated", "quarantined", "calls", "waits",
                   "duration"):
        table.add_column(column, justify="left" if column in ("account", "stream") else "right")
    for r in results:
        table.add_row(r.account, r.stream, str(r.fetched), str(r.inserted), str(r.updated), str(r.quarantined),
                      str(r.calls), f"{r.wait_seconds:.1f}s", f"{r.duration_seconds:.1f}s")
    return table
