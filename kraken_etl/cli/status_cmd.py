"""`kraken-etl status`: bookmarks, where each stream's next sync starts (and why), last runs, row counts
and open quarantine, at a glance."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from kraken_etl.cli.common import console, database_url, handle_errors, settings
from kraken_etl.db.engine import make_engine
from kraken_etl.db.locks import held_locks
from kraken_etl.db.recon_store import last_runs as last_reconciliations
from kraken_etl.db.summary import bookmarks, last_runs, open_quarantine, row_counts
from kraken_etl.db.wscheck import listener_health_lines
from kraken_etl.jobs.sync import start_points


@handle_errors
def status() -> None:
    """Show where each stream stands, the last runs, row counts and unresolved quarantine."""
    current = settings()
    engine = make_engine(database_url(current))
    try:
        marks = Table(title="bookmarks (incremental sync)")
        for column in ("account", "stream", "bookmark", "updated"):
            marks.add_column(column)
        for account, stream, mark, updated in bookmarks(engine):
            marks.add_row(account, stream, str(mark or "—"), str(updated))
        console.print(marks)

        labels = [a.label for a in current.select_accounts(None)]
        labels += sorted({account for account, *_ in bookmarks(engine)} - set(labels))
        starts = Table(title="next sync starts from (without --since)")
        for column in ("account", "stream", "from", "why"):
            starts.add_column(column)
        for account, stream, point in start_points(engine, labels):
            starts.add_row(Text(account), stream, str(point.start or "the beginning"), point.reason)
        console.print(starts)

        runs = Table(title="last runs")
        for column in (
            "account",
            "stream",
            "kind",
            "status",
            "started",
            "fetched",
            "inserted",
            "updated",
            "quarantined",
        ):
            runs.add_column(column)
        for run in last_runs(engine):
            runs.add_row(
                *(
                    str(run[k])
                    for k in (
                        "account",
                        "stream",
                        "kind",
                        "status",
                        "started_at",
                        "fetched",
                        "inserted",
                        "updated",
                        "quarantined",
                    )
                )
            )
        console.print(runs)

        counts = Table(title="rows")
        counts.add_column("table")
        counts.add_column("rows", justify="right")
        for name, count in row_counts(engine).items():
            counts.add_row(name, f"{count:,}")
        console.print(counts)
        console.print(f"unresolved quarantine: {open_quarantine(engine):,}")
        for r in last_reconciliations(engine):
            console.print(f"last reconciliation of {r['account']}: run {r['id']} {r['status']} "
                          f"as of {r['as_of']:%Y-%m-%d %H:%M}, "
                          f"open: {r['open_breaks']} break(s), {r['open_warnings']} warning(s), {r['open_info']} info"
                          + (f" ({r['acknowledged']} acknowledged)" if r["acknowledged"] else "")
                          + f"; {r['rows_examined']:,} rows examined")
        for line in listener_health_lines(engine):
            console.print(line, highlight=False)
        console.print(f"running now (account locks held): {', '.join(held_locks(engine)) or 'none'}")
    finally:
        engine.dispose()
