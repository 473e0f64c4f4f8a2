"""Idempotent loads: COPY into a staging table, then ``INSERT … ON CONFLICT (account, id) DO UPDATE``.

`upsert_records` is the one write path for REST sync, export loads and file imports. Each batch is COPYed
into a session temp table shaped like the target (``LIKE … INCLUDING DEFAULTS``), then merged with one
``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE <merged values differ>``; ``RETURNING (xmax = 0)`` tells
inserted rows from updated ones, and unchanged rows are not touched (no write, no dead tuple). Running
any batch twice changes nothing. The caller owns the transaction (so rows, bookmark and run log commit
together).

MERGE RULE (shared by REST, exports and imports; also in docs/operations.md). Sources rank
``rest`` (3, also ``ws``) > ``export`` (2) > ``import`` (1). When a row already exists:

1. Time keeps the most precise value: the incoming ``time``/``time_raw`` replace the stored ones only if
   the incoming raw time has MORE fraction digits (``scale(time_raw)``), or as many and a rank at least
   as high. An export's whole-second time never overwrites REST's ``1688464484.1787``.
2. Nullable columns never go from a value to NULL: the higher-or-equal-ranked source wins where it has a
   value, the stored value is kept where it has none (REST has no ``wallet``/``subclass``; exports do, so
   an export after REST fills them and a REST re-read never erases them).
3. Every other column — and ``raw`` and ``source`` — comes from the most authoritative source seen: a
   lower-ranked source never overwrites a higher-ranked one's values.

Each stream's target (table, key, time columns kept by precision, record type) is declared once, on its
`StreamSpec` in the composition layer, as a `LoadTarget`; quarantine and balance snapshots live in
`kraken_etl.db.quarantine`; the COPY text encoding in `kraken_etl.db.copytext`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Literal

from sqlalchemy import Connection, Table, text

from kraken_etl.core.idcheck import case_reason
from kraken_etl.core.records import Rejected
from kraken_etl.db.copytext import Record, chunked, copy_str, copy_text, line_builder
from kraken_etl.db.quarantine import quarantine
from models import Base

LoadSource = Literal["rest", "export", "import", "ws"]
SOURCE_RANK: Mapping[str, int] = {"rest": 3, "ws": 3, "export": 2, "import": 1}


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
class LoadTarget:
    """Where one stream's records go: table (schema `kraken`), natural key, record type, precise times."""

    table_name: str
    key: str
    record_type: type
    time_pairs: tuple[tuple[str, str], ...] = ()  # (timestamp column, raw column) kept by precision

    @property
    def table(self) -> Table:
        return Base.metadata.tables[f"kraken.{self.table_name}"]


# Columns the database (or reconciliation) manages, never copied from a record.
_MANAGED = {"first_seen_at", "updated_at", "amends_synced_at", "wallet_resolved", "wallet_source", "wallet_at"}


def _columns(target: LoadTarget) -> list[str]:
    return [c.name for c in target.table.columns if c.name not in _MANAGED]


target_columns = _columns  # the columns a load writes, in table order (public for `db.cellcopy`)


def _rank(alias: str) -> str:
    cases = " ".join(f"WHEN '{s}' THEN {r}" for s, r in SOURCE_RANK.items())
    return f"(CASE {alias}.source {cases} ELSE 0 END)"


def _merge_expressions(target: LoadTarget, columns: list[str]) -> dict[str, str]:
    new, old = _rank("EXCLUDED"), _rank("t")
    wins = f"({new} >= {old})"
    exprs: dict[str, str] = {}
    paired = {}
    for ts, raw in target.time_pairs:
        more_precise = (
            f"(t.{raw} IS NULL OR (EXCLUDED.{raw} IS NOT NULL AND (scale(EXCLUDED.{raw}) > scale(t.{raw}) "
            f"OR (scale(EXCLUDED.{raw}) = scale(t.{raw}) AND {wins}))))"
        )
        paired[ts] = paired[raw] = more_precise
    for name in columns:
        if name in ("account", target.key):
            continue
        column = target.table.columns[name]
        if name in paired:
            exprs[name] = f"CASE WHEN {paired[name]} THEN EXCLUDED.{name} ELSE t.{name} END"
        elif column.nullable:
            exprs[name] = (f"CASE WHEN {wins} THEN COALESCE(EXCLUDED.{name}, t.{name}) "
                           f"ELSE COALESCE(t.{name}, EXCLUDED.{name}) END")
        else:
            exprs[name] = f"CASE WHEN {wins} THEN EXCLUDED.{name} ELSE t.{name} END"
    return exprs


_SQL_CACHE: dict[LoadTarget, tuple[str, str]] = {}


def _statements(target: LoadTarget) -> tuple[str, str]:
    cached = _SQL_CACHE.get(target)
    if cached:
        return cached
    table = target.table
    columns = _columns(target)
    staging = f"stg_{table.name}"
    create = (f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
              f"(LIKE {table.schema}.{table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    exprs = _merge_expressions(target, columns)
    cols = ", ".join(columns)
    sets = ",\n    ".join(f"{name} = {expr}" for name, expr in exprs.items())
    if "updated_at" in table.columns:
        sets += ",\n    updated_at = now()"
    current = ", ".join(f"t.{name}" for name in exprs)
    merged = ", ".join(f"({expr})" for expr in exprs.values())
    merge = (
        f"INSERT INTO {table.schema}.{table.name} AS t ({cols})\n"
        f"SELECT {cols} FROM {staging}\n"
        f"ON CONFLICT (account, {target.key}) DO UPDATE SET\n    {sets}\n"
        f"WHERE ROW({current}) IS DISTINCT FROM ROW({merged})\n"
        f"RETURNING (xmax = 0) AS inserted"
    )
    # Count on the server: a large batch's per-row flags never travel to the client.
    merge = f"WITH merged AS ({merge})\nSELECT count(*) FILTER (WHERE inserted), count(*) FROM merged"
    _SQL_CACHE[target] = (create, merge)
    return create, merge


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
        build = _BUILDERS[target] = line_builder(_columns(target))
    flags = flags or {}
    account_cell = copy_str(account)
    no_flags = copy_text(())
    lines = [build(record, account_cell, source, copy_text(marks) if (marks := flags.get(rid)) else no_flags)
             for rid, record in unique.items()]
    return PreparedBatch(target, len(unique), chunked(lines))


def _repeats_statement(target: LoadTarget) -> str:
    """Staged rows whose row THIS transaction already wrote (an earlier batch of the same file): removed
    from staging; returned with whether merging them would change that row (a conflicting copy)."""
    table = target.table
    exprs = _merge_expressions(target, _columns(target))
    current = ", ".join(f"t.{name}" for name in exprs)
    merged = ", ".join(f"({expr})" for expr in exprs.values()).replace("EXCLUDED.", "s.")
    return (
        f"DELETE FROM stg_{table.name} s USING {table.schema}.{table.name} t\n"
        f"WHERE t.account = s.account AND t.{target.key} = s.{target.key} AND s.{target.key} = ANY(:keys)\n"
        f"  AND t.xmin::text::bigint = pg_current_xact_id()::text::bigint % 4294967296\n"
        f"RETURNING s.{target.key}, s.raw, ROW({current}) IS DISTINCT FROM ROW({merged}) AS differs"
    )


# Tables whose key is checked for look-alikes of stored keys (`core.idcheck`), by the stream they hold; each
# has an index on (account, lower(key)) (migration writer_lock_rejected_imports) so the check is a probe.
LOOKALIKE_CHECKED: Mapping[str, str] = {"ledger_entry": "ledgers", "trade": "trades"}


def _lookalike_statement(target: LoadTarget) -> str:
    """Staged rows whose key equals a stored key of the account once lower-cased, while that exact key is
    not stored: removed from staging and returned with the stored key (set-based: one statement a batch)."""
    table = f"{target.table.schema}.{target.table.name}"
    key = target.key
    return (
        f"DELETE FROM stg_{target.table.name} s USING {table} t\n"
        f"WHERE t.account = s.account AND lower(t.{key}) = lower(s.{key}) AND t.{key} <> s.{key}\n"
        f"  AND NOT EXISTS (SELECT 1 FROM {table} e WHERE e.account = s.account AND e.{key} = s.{key})\n"
        f"RETURNING s.{key}, t.{key}, s.raw"
    )


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
    columns = _columns(target)
    create, merge = _statements(target)
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
        for key, raw, differs in conn.execute(text(_repeats_statement(target)), {"keys": list(repeats)}):
            repeated += 1
            if differs:
                conflicts.append((str(key), dict(raw)))
    lookalikes: dict[str, tuple[str, str, dict[str, Any]]] = {}
    if target.table_name in LOOKALIKE_CHECKED:
        for key, stored, raw in conn.execute(text(_lookalike_statement(target))):
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
