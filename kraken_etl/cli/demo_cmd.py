"""`kraken-etl demo`: the zero-config end-to-end run (embedded PostgreSQL + the local simulator)."""

from __future__ import annotations

import time

from rich.table import Table

from kraken_etl.cli.common import console, handle_errors, settings
from kraken_etl.db import migrate
from kraken_etl.db.engine import effective_url, libpq_url, make_engine
from kraken_etl.db.summary import row_counts


@handle_errors
def demo() -> None:
    """Create and migrate the database, then show what is in it."""
    started = time.monotonic()
    current = settings()
    embedded = current.database_url is None
    url = effective_url(current)
    console.print(
        f"database: {'embedded PostgreSQL under ' + str(current.home / 'pgdata') if embedded else 'DATABASE_URL'}"
    )
    migrate.upgrade(url)
    console.print(f"schema kraken migrated to {', '.join(migrate.heads())}")
    engine = make_engine(url)
    try:
        counts = row_counts(engine)
    finally:
        engine.dispose()
    table = Table(title="rows per table")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    console.print(f'done in {time.monotonic() - started:.1f} s. Look at the data: psql "{libpq_url(url)}"')
