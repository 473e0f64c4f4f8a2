"""The books' inputs in SQL (rows in, rows out: the lot engine's types stay in kraken_etl.books): the ledger of an
entity with each entry's fair value, the treatments table, the user's opening lots, and what changed since the
last run (`changed_assets`, `price_change`, `entry_counts`, `inputs_digest`). The stored results are in
`db.book_runs`.

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
    "Engine",
    "OpeningLotInput",
    "changed_assets",
    "entry_counts",
    "inputs_digest",
    "price_change",
    "read_ledger",
    "read_movements",
    "read_opening_lots",
    "read_treatments",
    "reading",
    "store_opening_lots",
    "watermark",
]

# The one fair value of a ledger entry (`l`): NULL when no stored price covers the moment.
FAIR_VALUE = "(reporting.price_at(l.asset, :currency, l.time)).price"
OPENING_TYPE = "opening balance"  # the balance a chain's stored history opens with (a partial history)

# An entry in the reporting currency itself is never valued (it carries no lots, and a trade takes its value from
# the amount such a leg moved): its price is 1, without asking `price_at` (the costly part of the read).
# `price_at` answers per (asset code, currency, hour): its candles are those that start at or before the hour.
# Before the refresh boundary, the hourly grid `reporting.price_hourly` holds what it answered for each hour at
# the refresh (the valued `reporting.ledger` reads it the same way): a join instead of a call per entry. The grid
# still answers for an entry earlier than every candle written since the refresh, and not at all once an identity
# changed (`:grid_until`, see `_GRID_UNTIL`): a `prices sync` that adds today's candles leaves the grid good for
# the past. The other entries are priced by one `price_at` call per (asset code, hour) they fall in.
_LEDGER_COLUMNS = """
SELECT l.ledger_id, l.refid, l.time, l.type, l.subtype, kraken.book_asset(l.asset) AS asset, l.asset AS code,
       l.amount, l.fee, l.account, s.hour IS NOT NULL AS in_grid, s.price AS grid_price
FROM kraken.ledger_entry l
LEFT JOIN reporting.price_hourly s ON l.time < CAST(:grid_until AS timestamptz)
      AND s.asset = reporting.normalize_asset(l.asset) AND s.currency = :currency
      AND s.hour = date_trunc('hour', l.time, 'UTC')
"""
_GRID_UNTIL = """
SELECT r.covered_before IS NOT NULL
       AND r.refreshed_at >= coalesce((SELECT max(i.updated_at) FROM kraken.asset_identity i), '-infinity')
       AND EXISTS (SELECT 1 FROM reporting.price_hourly h WHERE h.currency = :currency) AS usable,
       (SELECT min(p.start) FROM kraken.price p WHERE p.fetched_at > r.refreshed_at) AS first_new_candle
FROM reporting.refresh_state r
"""
# Two index ranges: the entries from `from` on, and the earlier legs of the groups (refid) that start inside the
# range's first day (a trade's moment is its first leg's, so such a group must be read whole).
_LEDGER = f"""
WITH e AS MATERIALIZED (
{_LEDGER_COLUMNS}
WHERE l.account = ANY(:accounts) AND l.time <= :through AND l.time >= :from
UNION ALL
{_LEDGER_COLUMNS}
WHERE l.account = ANY(:accounts) AND l.time < :from
  AND l.refid IN (SELECT s.refid FROM kraken.ledger_entry s
                  WHERE s.account = ANY(:accounts) AND s.refid IS NOT NULL AND s.time <= :through
                    AND s.time >= :from AND s.time < CAST(:from AS timestamptz) + interval '1 day')
),
hours AS MATERIALIZED (
    SELECT DISTINCT e.code, date_trunc('hour', e.time, 'UTC') AS hour FROM e
    WHERE NOT e.in_grid AND e.asset <> :currency
),
live AS MATERIALIZED (SELECT h.code, h.hour, (reporting.price_at(h.code, :currency, h.hour)).price FROM hours h)
SELECT e.ledger_id, e.refid, e.time, e.type, e.subtype, e.asset, e.amount, e.fee,
       CASE WHEN e.asset = :currency THEN 1 WHEN e.in_grid THEN e.grid_price ELSE v.price END AS price, e.account
FROM e LEFT JOIN live v ON NOT e.in_grid AND v.code = e.code AND v.hour = date_trunc('hour', e.time, 'UTC')
ORDER BY e.time, e.ledger_id
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
    grid = conn.execute(text(_GRID_UNTIL), {"currency": currency}).one_or_none()
    until: datetime | str = ("-infinity" if grid is None or not grid.usable
                             else "infinity" if grid.first_new_candle is None else grid.first_new_candle)
    entries = list(conn.execute(text(_LEDGER), {**params, "grid_until": until}))
    return list(conn.execute(text(_OPENINGS), params)), entries


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


def read_movements(conn: Connection, accounts: Sequence[str]) -> list[Any]:
    """The deposits and withdrawals of `accounts` (account, ledger_id, asset canonical, type, amount, time), in
    time order, withdrawals first among entries of one moment: what moves between the accounts are paired from."""
    return list(conn.execute(text(
        "SELECT account, ledger_id, kraken.book_asset(asset) AS asset, type, amount, time FROM kraken.ledger_entry "
        "WHERE account = ANY(:accounts) AND type IN ('deposit', 'withdrawal') "
        "ORDER BY time, type = 'deposit', account, ledger_id"), {"accounts": list(accounts)}))


def read_opening_lots(conn: Connection, currency: str) -> list[Any]:
    """The user's opening lots, each with `rate`: one unit of its cost currency in `currency` at its acquisition
    (1 for `currency` itself; from `reporting.price_at`, NULL when no stored price covers the moment)."""
    return list(conn.execute(text(
        "SELECT file_sha256, row_number, source_name, asset, amount, cost, currency, acquired_at, "
        "CASE WHEN upper(currency) = :currency THEN 1 "
        "ELSE (reporting.price_at(upper(currency), :currency, acquired_at)).price END AS rate "
        "FROM kraken.opening_lot ORDER BY acquired_at, file_sha256, row_number"), {"currency": currency}))
