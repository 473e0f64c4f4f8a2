"""The books' SQL (rows in, rows out: the lot engine's types stay in kraken_etl.books): the ledger of an
entity with each entry's fair value, the treatments table, the user's opening lots, and the lot engine's
results stored per (entity, method, currency).

Fair value has one place: `FAIR_VALUE`, the price of one unit of the entry's asset code in the reporting
currency at the entry's moment, from `reporting.price_at`. Everything the books value goes through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, text

__all__ = [  # Engine re-exported so the books name the type without importing SQLAlchemy
    "FAIR_VALUE", "OPENING_TYPE", "Engine", "OpeningLotInput", "read_disposals", "read_findings", "read_income",
    "read_ledger", "read_opening_lots", "read_treatments", "store_books", "store_opening_lots",
]

# The one fair value of a ledger entry (`l`): NULL when no stored price covers the moment.
FAIR_VALUE = "(reporting.price_at(l.asset, :currency, l.time)).price"
OPENING_TYPE = "opening balance"  # the balance a chain's stored history opens with (a partial history)

_LEDGER = f"""
SELECT l.ledger_id, l.refid, l.time, l.type, l.subtype,
       kraken.book_asset(l.asset) AS asset,
       l.amount, l.fee, {FAIR_VALUE} AS price, l.account
FROM kraken.ledger_entry l
WHERE l.account = ANY(:accounts) AND l.time <= :through
ORDER BY l.time, l.ledger_id
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
"""


def read_ledger(conn: Connection, accounts: Sequence[str], currency: str,
                through: datetime | None = None) -> tuple[list[Any], list[Any]]:
    """(the chains' opening balances, every entry) of `accounts` up to `through` (inclusive; None: all), each
    with its canonical asset without the wallet suffix and its fair value (`price`, NULL without one)."""
    params = {"accounts": list(accounts), "currency": currency, "through": through or datetime(9999, 1, 1)}
    return list(conn.execute(text(_OPENINGS), params)), list(conn.execute(text(_LEDGER), params))


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


def store_books(conn: Connection, *, entity: str, method: str, currency: str, accounts: Sequence[str],
                entries: int, last_entry_time: datetime | None, fee_rule: str,
                tables: dict[str, list[dict[str, Any]]]) -> None:
    """Replace the stored computation of (entity, method, currency): `tables` maps book_disposal,
    book_income, book_holding and book_finding to their rows (without the key and seq columns)."""
    key = {"entity": entity, "method": method, "currency": currency}
    conn.execute(text("DELETE FROM kraken.book_run WHERE entity = :entity AND method = :method "
                      "AND currency = :currency"), key)
    conn.execute(text(
        "INSERT INTO kraken.book_run (entity, method, currency, accounts, entries, last_entry_time, fee_rule) "
        "VALUES (:entity, :method, :currency, :accounts, :entries, :last, :fee_rule)"),
        {**key, "accounts": list(accounts), "entries": entries, "last": last_entry_time, "fee_rule": fee_rule})
    for table in ("book_disposal", "book_income", "book_holding", "book_finding"):
        _insert(conn, table, key, tables.get(table, []))


def _insert(conn: Connection, table: str, key: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    statement = text(f"INSERT INTO kraken.{table} (entity, method, currency, seq, {', '.join(columns)}) "
                     f"VALUES (:entity, :method, :currency, :seq, {', '.join(':' + c for c in columns)})")
    for start in range(0, len(rows), 5000):
        conn.execute(statement, [{**key, "seq": start + i, **row} for i, row in enumerate(rows[start:start + 5000])])


def read_disposals(conn: Connection, entity: str, method: str, currency: str, start: datetime,
                   end: datetime) -> list[Any]:
    return list(conn.execute(text(
        "SELECT * FROM reporting.disposals WHERE entity = :e AND method = :m AND currency = :c "
        "AND disposed_at >= :start AND disposed_at < :end ORDER BY disposed_at, asset"),
        {"e": entity, "m": method, "c": currency, "start": start, "end": end}))


def read_income(conn: Connection, entity: str, method: str, currency: str, start: datetime,
                end: datetime) -> list[Any]:
    return list(conn.execute(text(
        "SELECT i.asset, i.received_at, i.amount, i.value, i.kind, i.entries, i.is_expense "
        "FROM kraken.book_income i WHERE i.entity = :e AND i.method = :m AND i.currency = :c "
        "AND i.received_at >= :start AND i.received_at < :end ORDER BY i.received_at, i.seq"),
        {"e": entity, "m": method, "c": currency, "start": start, "end": end}))


def read_findings(conn: Connection, entity: str, method: str, currency: str) -> list[Any]:
    return list(conn.execute(text(
        "SELECT kind, asset, at, entries, detail FROM kraken.book_finding WHERE entity = :e AND method = :m "
        "AND currency = :c ORDER BY seq"), {"e": entity, "m": method, "c": currency}))

