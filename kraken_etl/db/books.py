"""The books' SQL (rows in, rows out: the lot engine's types stay in kraken_etl.books): the ledger of an
entity with each entry's fair value, the treatments table, the user's opening lots, and the lot engine's
results stored per (entity, method, currency): replaced whole, or per asset from a checkpoint on (what changed
since the last run: `changed_assets`, `price_change`, `entry_counts`, `inputs_digest`).

Fair value has one place: `FAIR_VALUE`, the price of one unit of the entry's asset code in the reporting
currency at the entry's moment, from `reporting.price_at`. Everything the books value goes through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, text

__all__ = [  # Engine re-exported so the books name the type without importing SQLAlchemy
    "FAIR_VALUE",
    "OPENING_TYPE",
    "TABLES",
    "Engine",
    "OpeningLotInput",
    "RunFacts",
    "changed_assets",
    "checkpoint_assets",
    "count_before",
    "entry_counts",
    "inputs_digest",
    "price_change",
    "read_checkpoint",
    "read_disposals",
    "read_findings",
    "read_income",
    "read_ledger",
    "read_opening_lots",
    "read_run",
    "read_treatments",
    "reading",
    "replace_assets",
    "store_books",
    "store_opening_lots",
    "watermark",
]
TABLES = ("book_disposal", "book_income", "book_holding", "book_finding")

# The one fair value of a ledger entry (`l`): NULL when no stored price covers the moment.
FAIR_VALUE = "(reporting.price_at(l.asset, :currency, l.time)).price"
OPENING_TYPE = "opening balance"  # the balance a chain's stored history opens with (a partial history)

# An entry in the reporting currency itself is never valued (it carries no lots, and a trade takes its value from
# the amount such a leg moved): its price is 1, without asking `price_at` (the costly part of the read).
# Before the refresh boundary, the hourly grid `reporting.price_hourly` holds what `price_at` answers for each
# (asset, currency, hour) (the valued `reporting.ledger` reads it the same way): a join instead of a call per
# entry, used only while the grid is as new as every candle and identity (`:grid`, see `_GRID_FRESH`).
_LEDGER_COLUMNS = f"""
SELECT l.ledger_id, l.refid, l.time, l.type, l.subtype,
       kraken.book_asset(l.asset) AS asset,
       l.amount, l.fee,
       CASE WHEN kraken.book_asset(l.asset) = :currency THEN 1 WHEN s.hour IS NOT NULL THEN s.price
            ELSE {FAIR_VALUE} END AS price, l.account
FROM kraken.ledger_entry l
LEFT JOIN reporting.price_hourly s ON CAST(:grid AS boolean) AND s.asset = reporting.normalize_asset(l.asset)
      AND s.currency = :currency AND s.hour = date_trunc('hour', l.time, 'UTC')
"""
_GRID_FRESH = """
SELECT r.covered_before IS NOT NULL
   AND r.refreshed_at >= coalesce((SELECT max(p.fetched_at) FROM kraken.price p), '-infinity')
   AND r.refreshed_at >= coalesce((SELECT max(i.updated_at) FROM kraken.asset_identity i), '-infinity')
   AND EXISTS (SELECT 1 FROM reporting.price_hourly h WHERE h.currency = :currency)
FROM reporting.refresh_state r
"""
# Two index ranges: the entries from `from` on, and the earlier legs of the groups (refid) that start inside the
# range's first day (a trade's moment is its first leg's, so such a group must be read whole).
_LEDGER = f"""
{_LEDGER_COLUMNS}
WHERE l.account = ANY(:accounts) AND l.time <= :through AND l.time >= :from
UNION ALL
{_LEDGER_COLUMNS}
WHERE l.account = ANY(:accounts) AND l.time < :from
  AND l.refid IN (SELECT s.refid FROM kraken.ledger_entry s
                  WHERE s.account = ANY(:accounts) AND s.refid IS NOT NULL AND s.time <= :through
                    AND s.time >= :from AND s.time < CAST(:from AS timestamptz) + interval '1 day')
ORDER BY time, ledger_id
"""

# A chain that opens at a balance other than 0 (its history starts after the account's first entry): that
# balance arrives just before its first stored entry, valued like an entry of the chain's asset code.
_OPENINGS = f"""
SELECT 'opening:' || o.first_ledger_id AS ledger_id, o.first_time - interval '1 microsecond' AS time,
       kraken.book_asset(o.asset_code) AS asset,
       o.opening_balance AS amount, {FAIR_VALUE.replace("l.asset", "o.asset_code").replace("l.time", "o.first_time")}
       AS price, o.account
FROM reporting.opening_balance o
WHERE o.account = ANY(:accounts) AND o.opening_balance <> 0 AND o.first_time <= :through
  AND o.first_time - interval '1 microsecond' >= :from
"""
_EVER = datetime(1, 1, 1, tzinfo=UTC)


def read_ledger(conn: Connection, accounts: Sequence[str], currency: str, through: datetime | None = None,
                start: datetime | None = None) -> tuple[list[Any], list[Any]]:
    """(the chains' opening balances, every entry) of `accounts` up to `through` (inclusive; None: all) and
    from `start` on (None: from the first; with every leg of an entry group that starts in the range's first day),
    each with its canonical asset without the wallet suffix and its fair value (`price`, NULL without one)."""
    params = {"accounts": list(accounts), "currency": currency, "through": through or datetime(9999, 1, 1, tzinfo=UTC),
              "from": start or _EVER}
    grid = bool(conn.execute(text(_GRID_FRESH), {"currency": currency}).scalar())
    return list(conn.execute(text(_OPENINGS), params)), list(conn.execute(text(_LEDGER), {**params, "grid": grid}))


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """One repeatable-read, read-only transaction: the ledger, prices, treatments and what changed agree."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        conn.execute(text("SET TRANSACTION READ ONLY"))
        yield conn


_WATERMARK = """
SELECT least(now(), min(xact_start)) FROM pg_stat_activity
WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
"""


def watermark(conn: Connection) -> datetime:
    """Where the next run starts looking for changed entries: now, or the start of the oldest open transaction
    (a sync still writing as we read commits rows stamped with its start, which must not be skipped)."""
    return conn.execute(text(_WATERMARK)).scalar_one()  # type: ignore[no-any-return]


_INPUTS = """
SELECT md5(concat_ws(' | ',
    (SELECT string_agg(concat_ws(',', ledger_type, ledger_subtype, treatment, flagged), ';'
                       ORDER BY ledger_type, ledger_subtype) FROM kraken.treatment),
    (SELECT string_agg(concat_ws(',', file_sha256, row_number, asset, amount, cost, currency, acquired_at), ';'
                       ORDER BY file_sha256, row_number) FROM kraken.opening_lot),
    (SELECT string_agg(CAST(i.* AS text), ';' ORDER BY i.id) FROM kraken.asset_identity i)))
"""


def inputs_digest(conn: Connection) -> str:
    """A digest of what every entry's treatment and value depend on besides the entries and prices: the
    treatments table, the opening lots and the asset identities."""
    return str(conn.execute(text(_INPUTS)).scalar_one())


def read_run(conn: Connection, entity: str, method: str, currency: str) -> Any:
    """The stored computation's run row (None when there is none)."""
    return conn.execute(text(
        "SELECT entity, method, currency, accounts, entries, last_entry_time, fee_rule, watermark, inputs "
        "FROM kraken.book_run WHERE entity = :e AND method = :m AND currency = :c"),
        {"e": entity, "m": method, "c": currency}).one_or_none()


_CHANGED = """
WITH changed AS (
    SELECT l.asset, l.time, l.refid FROM kraken.ledger_entry l
    WHERE l.account = ANY(:accounts) AND l.updated_at >= :since
), touched AS (
    SELECT asset, time FROM changed
    UNION ALL  -- the other legs of a changed entry's group (a trade's value comes from all its legs)
    SELECT l.asset, l.time FROM kraken.ledger_entry l
    WHERE l.account = ANY(:accounts) AND l.refid IN (SELECT refid FROM changed WHERE refid IS NOT NULL)
)
SELECT kraken.book_asset(asset) AS asset, min(time) AS first FROM touched GROUP BY 1
"""


def changed_assets(conn: Connection, accounts: Sequence[str], since: datetime) -> dict[str, datetime]:
    """Per asset (canonical, as the books count it), the earliest moment of an entry written after `since`,
    or of another entry of such an entry's group."""
    rows = conn.execute(text(_CHANGED), {"accounts": list(accounts), "since": since})
    return {r.asset: r.first for r in rows}


def entry_counts(conn: Connection, accounts: Sequence[str], since: datetime) -> tuple[int, int]:
    """(how many entries `accounts` have, how many of them were first seen after `since`): with the count of
    the last run, tells whether an entry was removed since."""
    row = conn.execute(text(
        "SELECT count(*) AS total, count(*) FILTER (WHERE first_seen_at >= :since) AS new "
        "FROM kraken.ledger_entry WHERE account = ANY(:accounts)"), {"accounts": list(accounts), "since": since}).one()
    return int(row.total), int(row.new)


def price_change(conn: Connection, since: datetime) -> datetime | None:
    """The start of the earliest candle written after `since` (fair values from there on may differ), or None."""
    return conn.execute(text(  # type: ignore[no-any-return]
        "SELECT min(start) FROM kraken.price WHERE fetched_at >= :since"), {"since": since}).scalar_one()


def checkpoint_assets(conn: Connection, entity: str, method: str, currency: str) -> list[str]:
    return list(conn.execute(text(
        "SELECT DISTINCT asset FROM kraken.book_checkpoint WHERE entity = :e AND method = :m AND currency = :c "
        "ORDER BY 1"), {"e": entity, "m": method, "c": currency}).scalars())


def count_before(conn: Connection, entity: str, method: str, currency: str, asset: str,
                 at: datetime) -> dict[str, int]:
    """How many rows of each table the asset has before `at` (rows without a moment count as after)."""
    key = {"e": entity, "m": method, "c": currency, "a": asset, "t": at}
    return {table: int(conn.execute(text(
        f"SELECT count(*) FROM kraken.{table} WHERE entity = :e AND method = :m AND currency = :c AND asset = :a "
        f"AND {column} < :t"), key).scalar_one())
        for table, column in (("book_disposal", "disposed_at"), ("book_income", "received_at"),
                              ("book_holding", "at"), ("book_finding", "at"))}


def read_checkpoint(conn: Connection, entity: str, method: str, currency: str, asset: str,
                    target: datetime) -> Any:
    """The asset's latest checkpoint at or before `target` (at, state, opening, row_counts), or None."""
    return conn.execute(text(
        "SELECT at, state, opening, row_counts FROM kraken.book_checkpoint WHERE entity = :e AND method = :m "
        "AND currency = :c AND asset = :a AND at <= :t ORDER BY at DESC LIMIT 1"),
        {"e": entity, "m": method, "c": currency, "a": asset, "t": target}).one_or_none()


def read_treatments(conn: Connection) -> list[Any]:
    return list(conn.execute(text(
        "SELECT ledger_type, ledger_subtype, treatment, flagged, note, origin FROM kraken.treatment "
        "ORDER BY ledger_type, ledger_subtype")))


@dataclass(frozen=True, slots=True)
class OpeningLotInput:
    row_number: int
    asset: str
    amount: Decimal
    cost: Decimal
    currency: str
    acquired_at: datetime


def store_opening_lots(conn: Connection, sha256: str, source_name: str, lots: Iterable[OpeningLotInput]) -> int:
    """Insert the lots of one file; a row already imported (same file content, same row) is left as it is.
    Returns how many rows were new."""
    rows = [{"sha": sha256, "name": source_name, "row": lot.row_number, "asset": lot.asset, "amount": lot.amount,
             "cost": lot.cost, "currency": lot.currency, "at": lot.acquired_at} for lot in lots]
    if not rows:
        return 0
    result = conn.execute(text(
        "INSERT INTO kraken.opening_lot (file_sha256, row_number, source_name, asset, amount, cost, currency, "
        "acquired_at) VALUES (:sha, :row, :name, :asset, :amount, :cost, :currency, :at) "
        "ON CONFLICT (file_sha256, row_number) DO NOTHING"), rows)
    return int(result.rowcount or 0)


def read_opening_lots(conn: Connection) -> list[Any]:
    return list(conn.execute(text(
        "SELECT file_sha256, row_number, source_name, asset, amount, cost, currency, acquired_at "
        "FROM kraken.opening_lot ORDER BY acquired_at, file_sha256, row_number")))


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What `book_run` says about a stored computation besides its key."""

    accounts: Sequence[str]
    entries: int
    last_entry_time: datetime | None
    fee_rule: str
    watermark: datetime
    inputs: str
    incremental: bool


def store_books(conn: Connection, *, entity: str, method: str, currency: str, facts: RunFacts,
                tables: dict[str, list[dict[str, Any]]], checkpoints: list[dict[str, Any]]) -> None:
    """Replace the stored computation of (entity, method, currency): `tables` maps book_disposal, book_income,
    book_holding and book_finding to their rows (with asset and seq, without the key); `checkpoints` are
    book_checkpoint rows without the key (state, opening and row_counts as JSON text)."""
    key = {"entity": entity, "method": method, "currency": currency}
    conn.execute(text("DELETE FROM kraken.book_run WHERE entity = :entity AND method = :method "
                      "AND currency = :currency"), key)
    conn.execute(text(
        "INSERT INTO kraken.book_run (entity, method, currency, accounts, entries, last_entry_time, fee_rule, "
        "watermark, inputs, incremental) VALUES (:entity, :method, :currency, :accounts, :entries, :last, "
        ":fee_rule, :watermark, :inputs, :incremental)"), {**key, **_facts(facts)})
    for table in TABLES:
        _insert(conn, table, key, tables.get(table, []))
    _insert_checkpoints(conn, key, checkpoints)


def replace_assets(conn: Connection, *, entity: str, method: str, currency: str, facts: RunFacts,
                   starts: dict[str, tuple[datetime, dict[str, int]]], tables: dict[str, list[dict[str, Any]]],
                   checkpoints: list[dict[str, Any]], read_watermark: datetime) -> bool:
    """Replace, for each asset of `starts` ({asset: (checkpoint moment, rows the asset keeps per table)}),
    its rows from the checkpoint on (seq from the count kept) and its checkpoints after it; update the run.

    Returns False, having written nothing, when the stored run is no longer the one read (its watermark is
    not `read_watermark`: another run stored these books meanwhile)."""
    key = {"entity": entity, "method": method, "currency": currency}
    stored = conn.execute(text("SELECT watermark FROM kraken.book_run WHERE entity = :entity AND method = :method "
                               "AND currency = :currency FOR UPDATE"), key).scalar_one_or_none()
    if stored != read_watermark:
        return False
    for asset, (at, counts) in starts.items():
        for table in TABLES:
            conn.execute(text(f"DELETE FROM kraken.{table} WHERE entity = :entity AND method = :method "
                              "AND currency = :currency AND asset = :asset AND seq >= :seq"),
                         {**key, "asset": asset, "seq": counts.get(table, 0)})
        conn.execute(text("DELETE FROM kraken.book_checkpoint WHERE entity = :entity AND method = :method "
                          "AND currency = :currency AND asset = :asset AND at > :at"),
                     {**key, "asset": asset, "at": at})
    conn.execute(text(
        "UPDATE kraken.book_run SET computed_at = now(), accounts = :accounts, entries = :entries, "
        "last_entry_time = :last, fee_rule = :fee_rule, watermark = :watermark, inputs = :inputs, "
        "incremental = :incremental WHERE entity = :entity AND method = :method AND currency = :currency"),
        {**key, **_facts(facts)})
    for table in TABLES:
        _insert(conn, table, key, tables.get(table, []))
    _insert_checkpoints(conn, key, checkpoints)
    return True


def _facts(facts: RunFacts) -> dict[str, Any]:
    return {"accounts": list(facts.accounts), "entries": facts.entries, "last": facts.last_entry_time,
            "fee_rule": facts.fee_rule, "watermark": facts.watermark, "inputs": facts.inputs,
            "incremental": facts.incremental}


def _insert(conn: Connection, table: str, key: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    statement = text(f"INSERT INTO kraken.{table} (entity, method, currency, {', '.join(columns)}) "
                     f"VALUES (:entity, :method, :currency, {', '.join(':' + c for c in columns)})")
    for start in range(0, len(rows), 5000):
        conn.execute(statement, [{**key, **row} for row in rows[start:start + 5000]])


def _insert_checkpoints(conn: Connection, key: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    statement = text(
        "INSERT INTO kraken.book_checkpoint (entity, method, currency, asset, at, state, opening, row_counts) "
        "VALUES (:entity, :method, :currency, :asset, :at, CAST(:state AS jsonb), CAST(:opening AS jsonb), "
        "CAST(:row_counts AS jsonb))")
    for start in range(0, len(rows), 2000):
        conn.execute(statement, [{**key, **row} for row in rows[start:start + 2000]])


def read_disposals(conn: Connection, entity: str, method: str, currency: str, start: datetime,
                   end: datetime) -> list[Any]:
    """The rows of `reporting.disposals` for a period, in order (the table's: the view has no `seq`)."""
    return list(conn.execute(text(
        "SELECT d.*, d.disposed_at::date - d.acquired_first::date AS holding_days FROM kraken.book_disposal d "
        "WHERE entity = :e AND method = :m AND currency = :c "
        "AND disposed_at >= :start AND disposed_at < :end ORDER BY disposed_at, asset, seq"),
        {"e": entity, "m": method, "c": currency, "start": start, "end": end}))


def read_income(conn: Connection, entity: str, method: str, currency: str, start: datetime,
                end: datetime) -> list[Any]:
    return list(conn.execute(text(
        "SELECT i.asset, i.received_at, i.amount, i.value, i.kind, i.entries, i.is_expense "
        "FROM kraken.book_income i WHERE i.entity = :e AND i.method = :m AND i.currency = :c "
        "AND i.received_at >= :start AND i.received_at < :end ORDER BY i.received_at, i.asset, i.seq"),
        {"e": entity, "m": method, "c": currency, "start": start, "end": end}))


def read_findings(conn: Connection, entity: str, method: str, currency: str) -> list[Any]:
    return list(conn.execute(text(
        "SELECT kind, nullif(asset, '') AS asset, at, entries, detail FROM kraken.book_finding WHERE entity = :e "
        "AND method = :m AND currency = :c ORDER BY at NULLS LAST, asset, seq"),
        {"e": entity, "m": method, "c": currency}))

