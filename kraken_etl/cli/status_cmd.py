"""`kraken-etl status`: bookmarks, where each configured account's next sync starts (and why), last runs,
row counts and open quarantine, at a glance (read by `kraken_etl.jobs.status`)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from kraken_etl.cli.common import console, handle_errors, settings

RUN_COLUMNS = ("account", "stream", "kind", "status", "started_at", "fetched", "inserted", "updated", "quarantined")


@handle_errors
def status() -> None:
    """Show where each stream stands, the last runs, row counts and unresolved quarantine."""
    from kraken_etl.jobs.status import read_status

    now = read_status(settings())
    marks = _table("bookmarks (incremental sync)", "account", "stream", "bookmark", "updated")
    for account, stream, mark, updated in now.bookmarks:
        marks.add_row(Text(account), stream, str(mark or "—"), str(updated))
    starts = _table("next sync starts from (without --since)", "account", "stream", "from", "why")
    for account, stream, point in now.starts:
        starts.add_row(Text(account), stream, str(point.start or "the beginning"), point.reason)
    runs = _table("last runs", *(c.removesuffix("_at") for c in RUN_COLUMNS))
    for run in now.runs:
        runs.add_row(*(Text(str(run[k])) for k in RUN_COLUMNS))
    counts = _table("rows", "table", "rows")
    for name, count in now.row_counts.items():
        counts.add_row(name, f"{count:,}")
    for table in (marks, starts, runs, counts):
        console.print(table)
    console.print(f"unresolved quarantine: {now.open_quarantine:,}")
    for r in now.reconciliations:
        console.print(f"last reconciliation of {r['account']}: run {r['id']} {r['status']} "
                      f"as of {r['as_of']:%Y-%m-%d %H:%M}, "
                      f"open: {r['open_breaks']} break(s), {r['open_warnings']} warning(s), {r['open_info']} info"
                      + (f" ({r['acknowledged']} acknowledged)" if r["acknowledged"] else "")
                      + f"; {r['rows_examined']:,} rows examined")
    for line in now.listener_lines:
        console.print(line, highlight=False)
    console.print(f"running now (account locks held): {', '.join(now.held_locks) or 'none'}")


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right" if column == "rows" else "left")
    return table
