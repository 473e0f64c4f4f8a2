"""Idempotent loads: COPY into a staging table, then ``INSERT … ON CONFLICT (account, id) DO UPDATE``.

`upsert_records` is the one write path for REST sync, export loads and file imports. Each batch is COPYed
into a session temp table shaped like the target (``LIKE … INCLUDING DEFAULTS``), then merged with one
``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE <merged values differ>``; ``RETURNING (xmax = 0)`` tells
inserted rows from updated ones, and unchanged rows are not touched (no write, no dead tuple). Running
any batch twice changes nothing. The caller owns the transaction (so rows, bookmark and run log commit
together).

The MERGE RULE (which source's values win when a row already exists) and its SQL live in
`kraken_etl.db.merge_rule`.

Each stream's target (table, key, time columns kept by precision, record type) is declared once, on its
`StreamSpec` in the composition layer, as a `LoadTarget`; quarantine and balance snapshots live in
`kraken_etl.db.quarantine`; the COPY text encoding in `kraken_etl.db.copytext`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, text

from kraken_etl.core.idcheck import case_reason
from kraken_etl.core.records import Rejected
from kraken_etl.db.copytext import Record, chunked, copy_str, copy_text, line_builder
from kraken_etl.db.merge_rule import (
    LOOKALIKE_CHECKED,
    SOURCE_RANK,
    LoadSource,
    LoadTarget,
    lookalike_statement,
    merge_statements,
    repeats_statement,
    target_columns,
)
from kraken_etl.db.quarantine import quarantine


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """Rows inserted, updated (merged values changed) and left unchanged by one batch; repeats of ids the
    same load already wrote (identical: no-ops; conflicting: returned, not merged)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    identical_repeats: int = 0  # later copies of an id this load already wrote, equal to it: no-ops
    conflicts: tuple[tuple[str, dict[str, Any]], ...] = ()  # later copies that differ: (id, raw), not merged
    # ids equal to a stored id once lower-cased but not equal to it: (id, stored id, raw), not loaded
    lookalikes: tuple[tuple[str, str, dict[str, Any]], ...] = ()

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(self.inserted + other.inserted, self.updated + other.updated,
                            self.unchanged + other.unchanged, self.identical_repeats + other.identical_repeats,
                            self.conflicts + other.conflicts, self.lookalikes + other.lookalikes)


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch turned into COPY text for the target's staging table (pure: no connection needed).

    Building it is the CPU-heavy, Python-side half of a load, so a file import can prepare the next batch
    in a worker thread while the database merges this one (`load_prepared`).
    """

    target: LoadTarget
    rows: int  # distinct ids (the text holds one line per id)
    chunks: list[str]  # COPY text, COPY_CHUNK_ROWS lines per chunk


_BUILDERS: dict[LoadTarget, Callable[[Record, str, str, str], str]] = {}


def prepare_upsert(
    account: str,
    target: LoadTarget,
    records: Sequence[Record],
    source: LoadSource,
    *,
    flags: Mapping[str, tuple[str, ...]] | None = None,
) -> PreparedBatch:
    """The COPY text of `records` (duplicate ids: the last one wins); see `upsert_records`.

    Raises:
        KeyError: for an unknown source.
        TypeError: when a record is not of the target's type.
    """
    if source not in SOURCE_RANK:
        raise KeyError(f"unknown source {source!r}")
    unique: dict[str, Record] = {}
    key = attrgetter(target.key)
    for record in records:
        if not isinstance(record, target.record_type):
            raise TypeError(f"{target.table_name} expects {target.record_type.__name__}, "
                            f"got {type(record).__name__}")
        unique[key(record)] = record
    build = _BUILDERS.get(target)
    if build is None:
        build = _BUILDERS[target] = line_builder(target_columns(target))
    flags = flags or {}
    account_cell = copy_str(account)
    no_flags = copy_text(())
    lines = [build(record, account_cell, source, copy_text(marks) if (marks := flags.get(rid)) else no_flags)
             for rid, record in unique.items()]
    return PreparedBatch(target, len(unique), chunked(lines))


def load_prepared(conn: Connection, batch: PreparedBatch, *, repeats: Sequence[str] = ()) -> UpsertCounts:
    """COPY a prepared batch into staging and merge it under the MERGE RULE; see `upsert_records`.

    `repeats`: keys that may already have been written by this transaction (a file load is one transaction;
    the caller tracks its ids). Such a row keeps its first copy: an identical later copy is a no-op and a
    conflicting one is returned in `conflicts` (for quarantine), never merged over the first. A row whose
    key is a look-alike of a stored key (`LOOKALIKE_CHECKED` tables: the same key in another case, that
    exact key not stored) is returned in `lookalikes` (for quarantine), never loaded.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures (the caller's transaction is then unusable).
    """
    if not batch.rows:
        return UpsertCounts()
    target = batch.target
    columns = target_columns(target)
    create, merge = merge_statements(target)
    staging = f"stg_{target.table.name}"
    conn.execute(text(create))
    conn.execute(text(f"TRUNCATE {staging}"))
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    with dbapi.cursor() as cursor:
        with cursor.copy(f"COPY {staging} ({', '.join(columns)}) FROM STDIN") as copy:
            for chunk in batch.chunks:
                copy.write(chunk)
    conflicts: list[tuple[str, dict[str, Any]]] = []
    repeated = 0
    if repeats:
        for key, raw, differs in conn.execute(text(repeats_statement(target)), {"keys": list(repeats)}):
            repeated += 1
            if differs:
                conflicts.append((str(key), dict(raw)))
    lookalikes: dict[str, tuple[str, str, dict[str, Any]]] = {}
    if target.table_name in LOOKALIKE_CHECKED:
        for key, stored, raw in conn.execute(text(lookalike_statement(target))):
            lookalikes.setdefault(str(key), (str(key), str(stored), dict(raw)))
    inserted, touched = conn.execute(text(merge)).one()
    rows = batch.rows - repeated - len(lookalikes)
    return UpsertCounts(int(inserted), int(touched) - int(inserted), rows - int(touched),
                        repeated - len(conflicts), tuple(conflicts), tuple(lookalikes.values()))


def upsert_records(
    conn: Connection,
    account: str,
    target: LoadTarget,
    records: Sequence[Record],
    source: LoadSource,
    *,
    flags: Mapping[str, tuple[str, ...]] | None = None,
) -> UpsertCounts:
    """Merge `records` into the target's table under the MERGE RULE (module docstring); idempotent.

    Args:
        conn: a connection inside the caller's transaction.
        account: the account label stored on every row.
        target: the stream's `LoadTarget` (its `StreamSpec.target`).
        records: domain records of that stream (duplicate ids: the last one wins).
        source: ``rest``, ``export``, ``import`` (or ``ws``).
        flags: informational flags by record id (tables with a ``flags`` column).

    Returns:
        Counts of inserted, updated and unchanged rows; look-alikes of stored keys (see `load_prepared`) are
        quarantined here (with the reason naming both ids, no run id) and listed in `lookalikes`.

    Raises:
        KeyError: for an unknown source.
        TypeError: when a record is not of the target's type.
        sqlalchemy.exc.DBAPIError: on database failures (the caller's transaction is then unusable).
    """
    counts = load_prepared(conn, prepare_upsert(account, target, records, source, flags=flags))
    if counts.lookalikes:
        quarantine(conn, account, LOOKALIKE_CHECKED[target.table_name], source,
                   [lookalike_rejection(LOOKALIKE_CHECKED[target.table_name], item) for item in counts.lookalikes],
                   None)
    return counts


def lookalike_rejection(stream: str, item: tuple[str, str, dict[str, Any]]) -> Rejected:
    """The quarantine item of a look-alike of a stored id (`UpsertCounts.lookalikes`)."""
    record_id, stored, raw = item
    return Rejected(stream, record_id, case_reason(record_id, stored, "already stored"), raw)
