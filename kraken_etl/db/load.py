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

`quarantine` stores rejected records idempotently: ``fingerprint = sha256(reason + canonical raw JSON)``,
unique per (account, stream).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, Literal

import orjson
from sqlalchemy import Connection, Table, text
from sqlalchemy.dialects.postgresql import insert

from kraken_etl.core.money import dumps
from kraken_etl.core.records import BalanceSnapshot, ClosedOrder, LedgerEntry, OrderAmend, Rejected, Trade
from models import BalanceSnapshotRow, ClosedOrderRow, LedgerEntryRow, OrderAmendRow, QuarantineRow, TradeRow

LoadSource = Literal["rest", "export", "import", "ws"]
SOURCE_RANK: Mapping[str, int] = {"rest": 3, "ws": 3, "export": 2, "import": 1}

Record = LedgerEntry | Trade | ClosedOrder | OrderAmend


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """Rows inserted, updated (merged values changed) and left unchanged by one batch."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(self.inserted + other.inserted, self.updated + other.updated,
                            self.unchanged + other.unchanged)


@dataclass(frozen=True, slots=True)
class _Target:
    table: Table
    key: str
    record_type: type
    time_pairs: tuple[tuple[str, str], ...]  # (timestamp column, raw column) kept by precision


TARGETS: Mapping[str, _Target] = {
    "ledgers": _Target(LedgerEntryRow.__table__, "ledger_id", LedgerEntry, (("time", "time_raw"),)),  # type: ignore[arg-type]
    "trades": _Target(TradeRow.__table__, "txid", Trade, (("time", "time_raw"),)),  # type: ignore[arg-type]
    "closed_orders": _Target(ClosedOrderRow.__table__, "txid", ClosedOrder,  # type: ignore[arg-type]
                             (("opentm", "opentm_raw"), ("closetm", "closetm_raw"))),
    "order_amends": _Target(OrderAmendRow.__table__, "amend_id", OrderAmend, ()),  # type: ignore[arg-type]
}

# Columns the database manages, never copied from a record.
_MANAGED = {"first_seen_at", "updated_at", "amends_synced_at", "wallet_resolved", "wallet_source"}


def table_for(stream: str) -> Table:
    """The target table of a stream (``ledgers`` → ``kraken.ledger_entry``)."""
    return TARGETS[stream].table


def _columns(target: _Target) -> list[str]:
    return [c.name for c in target.table.columns if c.name not in _MANAGED]


# COPY's text format (PostgreSQL docs, "COPY … File Formats → Text Format"): tab-separated, \N for NULL,
# and backslash, newline, carriage return and tab escaped with a backslash. Building the lines here is
# several times cheaper than psycopg's per-row `write_row` (measured: bench/bench_import.py).
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_NULL = "\\N"
COPY_CHUNK_ROWS = 5_000  # lines joined per write to the COPY stream


def _copy_str(value: str) -> str:
    if "\\" in value or not value.isprintable():
        return value.translate(_COPY_ESCAPES)
    return value


def _array_item(value: Any) -> str:
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _copy_bool(value: bool) -> str:
    return "t" if value else "f"


def _copy_null(value: None) -> str:
    return _NULL


def _copy_array(value: tuple[Any, ...] | list[Any]) -> str:
    return _copy_str("{" + ",".join(_array_item(item) for item in value) + "}")


# One formatter per Python type: a dict lookup per cell instead of a chain of type tests (a million-row
# import formats ~15 million cells).
_FORMATTERS: dict[type, Callable[[Any], str]] = {
    str: _copy_str, Decimal: str, int: str, bool: _copy_bool, datetime: datetime.isoformat,
    type(None): _copy_null, tuple: _copy_array, list: _copy_array,
}


def _copy_text(value: Any) -> str:
    """One value in COPY text format (the same text psycopg's dumpers send for these types)."""
    formatter = _FORMATTERS.get(type(value))
    if formatter is None:  # a subclass (e.g. a str enum): the first matching base type's formatter
        formatter = next((f for kind, f in _FORMATTERS.items() if isinstance(value, kind)), None)
        if formatter is None:
            raise TypeError(f"no COPY text form for {type(value).__name__}")
    return formatter(value)


def _decimal_as_string(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _raw_json(raw: Any) -> str:
    """The raw record as JSON for the ``raw`` JSONB column: Decimals as strings, like `money.dumps`.

    orjson is ~7x faster than the standard encoder here (a million-row import writes a million of these);
    its output can differ from `money.dumps` only in spelling (non-ASCII written as UTF-8 instead of
    ``\\u`` escapes), never in the JSONB value. What orjson refuses (integers beyond 64 bits) goes through
    `money.dumps`.
    """
    try:
        return orjson.dumps(raw, default=_decimal_as_string).decode()
    except orjson.JSONEncodeError:
        return dumps(raw)


def _line_builder(columns: list[str]) -> Callable[[Record, str, str, str], str]:
    """A function (record, account cell, source cell, flags cell) → one COPY line, for these columns.

    The record attributes are read with one `attrgetter` call; `account`, `source`, `flags` and `raw` are
    not record attributes taken as they are (raw is written as JSON).
    """
    special = ("account", "source", "flags", "raw")
    names = [name for name in columns if name not in special]
    getter = attrgetter(*names)
    inserts = [(position, name) for position, name in enumerate(columns) if name in special]
    formatters = _FORMATTERS
    fallback = _copy_text

    def build(record: Record, account: str, source: str, flags: str) -> str:
        cells = [(formatters.get(type(v)) or fallback)(v) for v in getter(record)]
        given = {"account": account, "source": source, "flags": flags}
        for position, name in inserts:  # ascending positions: each insert lands where the column is
            # raw: JSON escapes control characters itself; COPY needs its backslashes doubled
            cell = _raw_json(record.raw).replace("\\", "\\\\") if name == "raw" else given[name]
            cells.insert(position, cell)
        return "\t".join(cells) + "\n"

    return build


def _rank(alias: str) -> str:
    cases = " ".join(f"WHEN '{s}' THEN {r}" for s, r in SOURCE_RANK.items())
    return f"(CASE {alias}.source {cases} ELSE 0 END)"


def _merge_expressions(target: _Target, columns: list[str]) -> dict[str, str]:
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


_SQL_CACHE: dict[str, tuple[str, str]] = {}


def _statements(stream: str) -> tuple[str, str]:
    cached = _SQL_CACHE.get(stream)
    if cached:
        return cached
    target = TARGETS[stream]
    columns = _columns(target)
    staging = f"stg_{target.table.name}"
    create = (f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
              f"(LIKE {target.table.schema}.{target.table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    exprs = _merge_expressions(target, columns)
    cols = ", ".join(columns)
    sets = ",\n    ".join(f"{name} = {expr}" for name, expr in exprs.items())
    if "updated_at" in target.table.columns:
        sets += ",\n    updated_at = now()"
    current = ", ".join(f"t.{name}" for name in exprs)
    merged = ", ".join(f"({expr})" for expr in exprs.values())
    merge = (
        f"INSERT INTO {target.table.schema}.{target.table.name} AS t ({cols})\n"
        f"SELECT {cols} FROM {staging}\n"
        f"ON CONFLICT (account, {target.key}) DO UPDATE SET\n    {sets}\n"
        f"WHERE ROW({current}) IS DISTINCT FROM ROW({merged})\n"
        f"RETURNING (xmax = 0) AS inserted"
    )
    # Count on the server: a large batch's per-row flags never travel to the client.
    merge = f"WITH merged AS ({merge})\nSELECT count(*) FILTER (WHERE inserted), count(*) FROM merged"
    _SQL_CACHE[stream] = (create, merge)
    return create, merge


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch turned into COPY text for the stream's staging table (pure: no connection needed).

    Building it is the CPU-heavy, Python-side half of a load, so a file import can prepare the next batch
    in a worker thread while the database merges this one (`load_prepared`).
    """

    stream: str
    rows: int  # distinct ids (the text holds one line per id)
    chunks: list[str]  # COPY text, COPY_CHUNK_ROWS lines per chunk


_BUILDERS: dict[str, Callable[[Record, str, str, str], str]] = {}


def prepare_upsert(
    account: str,
    stream: str,
    records: Sequence[Record],
    source: LoadSource,
    *,
    flags: Mapping[str, tuple[str, ...]] | None = None,
) -> PreparedBatch:
    """The COPY text of `records` (duplicate ids: the last one wins); see `upsert_records`.

    Raises:
        KeyError: for an unknown stream or source.
        TypeError: when a record is not of the stream's type.
    """
    if source not in SOURCE_RANK:
        raise KeyError(f"unknown source {source!r}")
    target = TARGETS[stream]
    unique: dict[str, Record] = {}
    key = attrgetter(target.key)
    for record in records:
        if not isinstance(record, target.record_type):
            raise TypeError(f"{stream} expects {target.record_type.__name__}, got {type(record).__name__}")
        unique[key(record)] = record
    build = _BUILDERS.get(stream)
    if build is None:
        build = _BUILDERS[stream] = _line_builder(_columns(target))
    flags = flags or {}
    account_cell = _copy_str(account)
    no_flags = _copy_text(())
    chunks: list[str] = []
    lines: list[str] = []
    for rid, record in unique.items():
        marks = flags.get(rid)
        lines.append(build(record, account_cell, source, _copy_text(marks) if marks else no_flags))
        if len(lines) >= COPY_CHUNK_ROWS:
            chunks.append("".join(lines))
            lines = []
    if lines:
        chunks.append("".join(lines))
    return PreparedBatch(stream, len(unique), chunks)


def load_prepared(conn: Connection, batch: PreparedBatch) -> UpsertCounts:
    """COPY a prepared batch into staging and merge it under the MERGE RULE; see `upsert_records`.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures (the caller's transaction is then unusable).
    """
    if not batch.rows:
        return UpsertCounts()
    target = TARGETS[batch.stream]
    columns = _columns(target)
    create, merge = _statements(batch.stream)
    conn.execute(text(create))
    conn.execute(text(f"TRUNCATE stg_{target.table.name}"))
    dbapi = conn.connection.driver_connection
    assert dbapi is not None
    with dbapi.cursor() as cursor:
        with cursor.copy(f"COPY stg_{target.table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for chunk in batch.chunks:
                copy.write(chunk)
    inserted, touched = conn.execute(text(merge)).one()
    return UpsertCounts(int(inserted), int(touched) - int(inserted), batch.rows - int(touched))


def upsert_records(
    conn: Connection,
    account: str,
    stream: str,
    records: Sequence[Record],
    source: LoadSource,
    *,
    flags: Mapping[str, tuple[str, ...]] | None = None,
) -> UpsertCounts:
    """Merge `records` into the stream's table under the MERGE RULE (module docstring); idempotent.

    Args:
        conn: a connection inside the caller's transaction.
        account: the account label stored on every row.
        stream: ``ledgers``, ``trades``, ``closed_orders`` or ``order_amends``.
        records: domain records of that stream (duplicate ids: the last one wins).
        source: ``rest``, ``export``, ``import`` (or ``ws``).
        flags: informational flags by record id (tables with a ``flags`` column).

    Returns:
        Counts of inserted, updated and unchanged rows.

    Raises:
        KeyError: for an unknown stream or source.
        TypeError: when a record is not of the stream's type.
        sqlalchemy.exc.DBAPIError: on database failures (the caller's transaction is then unusable).
    """
    return load_prepared(conn, prepare_upsert(account, stream, records, source, flags=flags))


def fingerprint(reason: str, raw: Mapping[str, Any]) -> str:
    """sha256 of the reason and the canonical JSON of the raw record (quarantine's idempotency key)."""
    canonical = dumps(_sorted(raw))
    return hashlib.sha256(f"{reason}\n{canonical}".encode()).hexdigest()


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_sorted(v) for v in value]
    return value


def quarantine(
    conn: Connection,
    account: str,
    stream: str,
    source: str,
    rejected: Iterable[Rejected],
    run_id: int | None,
) -> int:
    """Store rejected records with their reasons; a record already quarantined is not stored twice.

    Returns:
        How many rows were newly quarantined.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    import json

    rows = []
    for item in rejected:
        raw = json.loads(dumps(_sorted(item.raw)))  # numbers as strings, JSON-safe
        rows.append({
            "account": account, "stream": stream, "source": source, "record_id": item.record_id,
            "reason": item.reason, "fingerprint": fingerprint(item.reason, item.raw), "raw": raw,
            "sync_run_id": run_id,
        })
    if not rows:
        return 0
    stmt = insert(QuarantineRow).on_conflict_do_nothing(
        index_elements=["account", "stream", "fingerprint"]
    ).returning(QuarantineRow.id)
    result = conn.execute(stmt, rows)
    return len(result.all())


def insert_balances(conn: Connection, account: str, snapshots: Sequence[BalanceSnapshot]) -> int:
    """Store balance snapshots (one per asset, source and moment); re-inserting one is a no-op.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    import json

    if not snapshots:
        return 0
    rows = [{
        "account": account, "taken_at": s.taken_at, "source": s.source, "asset": s.asset, "wallet": s.wallet,
        "balance": s.balance, "hold_trade": s.hold_trade, "credit": s.credit, "credit_used": s.credit_used,
        "raw": json.loads(dumps(s.raw)),
    } for s in snapshots]
    stmt = insert(BalanceSnapshotRow).on_conflict_do_nothing().returning(BalanceSnapshotRow.id)
    return len(conn.execute(stmt, rows).all())
