"""A file import, database side: its rows of text as a `PreparedBatch`, and a direct COPY.

`prepare_cells` turns validated rows of text (`core.exportrows`: the column texts of each row, the cells
for `raw`) into the same `PreparedBatch` that `load.prepare_upsert` builds from records (the COPY text
writer of both is `db.copytext`): a stored numeric is the text Kraken wrote.

`copy_new` COPYs a prepared batch straight into the target table, with no staging table and no merge. It
is only for rows whose key the table cannot hold yet: the caller checked, inside the same transaction,
that the account had no row in the table when the file load began (`account_is_empty`), and sends every
key an earlier batch of the file wrote through the merge path instead (`load.load_prepared` with
`repeats`). A row another session inserts meanwhile makes the COPY fail with a unique violation: the
file's transaction rolls back whole and a re-run merges as usual (nothing is lost or doubled).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, text

from kraken_etl.core.exportrows import Value
from kraken_etl.db.copytext import cell_lines, chunked
from kraken_etl.db.load import PreparedBatch, UpsertCounts
from kraken_etl.db.merge_rule import LoadSource, LoadTarget, target_columns


def prepare_cells(
    account: str,
    target: LoadTarget,
    value_columns: Sequence[str],
    rows: Sequence[tuple[tuple[Value, ...], list[str], tuple[str, ...]]],
    columns: Sequence[str],
    source: LoadSource,
) -> PreparedBatch:
    """COPY text for rows given as (column texts in `value_columns` order, raw cells, flags).

    `columns` are the raw cells' names (the export header). Rows must have distinct keys.

    Raises:
        ValueError: when `value_columns` are not the target's columns between account and flags.
    """
    expected = target_columns(target)
    if expected != ["account", *value_columns, "flags", "source", "raw"]:
        raise ValueError(f"{target.table_name}: columns {expected} do not match {list(value_columns)}")
    return PreparedBatch(target, len(rows), chunked(cell_lines(account, rows, columns, source)))


def account_is_empty(conn: Connection, account: str, target: LoadTarget) -> bool:
    """Whether the target table holds no row of `account` (one index probe)."""
    table = target.table
    found = conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table.schema}.{table.name} WHERE account = :a)"),
                         {"a": account}).scalar()
    return not found


def copy_new(conn: Connection, batch: PreparedBatch) -> UpsertCounts:
    """COPY a prepared batch straight into its table: every row is inserted (see the module docstring).

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures, a key already present included (the caller's
            transaction is then unusable).
    """
    if not batch.rows:
        return UpsertCounts()
    table = batch.target.table
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    columns = ", ".join(target_columns(batch.target))
    with dbapi.cursor() as cursor, cursor.copy(f"COPY {table.schema}.{table.name} ({columns}) FROM STDIN") as copy:
        for chunk in batch.chunks:
            copy.write(chunk)
    return UpsertCounts(inserted=batch.rows)
