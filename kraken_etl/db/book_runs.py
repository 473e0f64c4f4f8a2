"""The lot engine's stored results, per (entity, method, currency): the run row, the rows of each table
(`TABLES`), and the per-asset checkpoints an incremental run starts from. A computation is replaced whole
(`store_books`) or per asset from a checkpoint on (`replace_assets`); the reads serve the commands and the journal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

TABLES = ("book_disposal", "book_income", "book_holding", "book_finding")


def read_run(conn: Connection, entity: str, method: str, currency: str) -> Any:
    """The stored computation's run row (None when there is none)."""
    return conn.execute(text(
        "SELECT entity, method, currency, accounts, entries, last_entry_time, fee_rule, watermark, inputs "
        "FROM kraken.book_run WHERE entity = :e AND method = :m AND currency = :c"),
        {"e": entity, "m": method, "c": currency}).one_or_none()


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


_DISPOSALS = (  # the table's rows: the view has no `seq`
    "SELECT d.*, d.disposed_at::date - d.acquired_first::date AS holding_days FROM kraken.book_disposal d "
    "WHERE entity = :e AND method = :m AND currency = :c "
    "AND disposed_at >= :start AND disposed_at < :end ORDER BY disposed_at, asset, seq")
_INCOME = (
    "SELECT i.asset, i.received_at, i.amount, i.value, i.kind, i.entries, i.is_expense "
    "FROM kraken.book_income i WHERE i.entity = :e AND i.method = :m AND i.currency = :c "
    "AND i.received_at >= :start AND i.received_at < :end ORDER BY i.received_at, i.asset, i.seq")


def read_disposals(conn: Connection, entity: str, method: str, currency: str, start: datetime,
                   end: datetime) -> list[Any]:
    """The rows of `reporting.disposals` for a period, in order."""
    return _in_period(conn, _DISPOSALS, entity, method, currency, start, end)


def read_income(conn: Connection, entity: str, method: str, currency: str, start: datetime,
                end: datetime) -> list[Any]:
    """The income and expense rows of a period, in order."""
    return _in_period(conn, _INCOME, entity, method, currency, start, end)


def _in_period(conn: Connection, sql: str, entity: str, method: str, currency: str, start: datetime,
               end: datetime) -> list[Any]:
    return list(conn.execute(text(sql), {"e": entity, "m": method, "c": currency, "start": start, "end": end}))


def read_findings(conn: Connection, entity: str, method: str, currency: str) -> list[Any]:
    return list(conn.execute(text(
        "SELECT kind, nullif(asset, '') AS asset, at, entries, detail FROM kraken.book_finding WHERE entity = :e "
        "AND method = :m AND currency = :c ORDER BY at NULLS LAST, asset, seq"),
        {"e": entity, "m": method, "c": currency}))
