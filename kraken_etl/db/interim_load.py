"""INTERIM stand-in for the shared loader (`kraken_etl.db.load`, issue 4), ledgers and trades only.

Used by `kraken_etl.backfill.load_batch` ONLY while `kraken_etl.db.load` does not exist yet, so the export
cycle can be built and tested; delete this file once the shared loader lands (one loader, one path).
Same announced signatures: `upsert_records(conn, account, stream, records, source)` and
`quarantine(conn, account, stream, rejected, source)`. COPY into a temporary staging table, then
INSERT … ON CONFLICT with the merge rule: the more precise time wins (more fraction digits in `time_raw`),
a non-null wallet/subclass is never overwritten by null.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from kraken_etl.core.money import dumps
from kraken_etl.core.records import LedgerEntry, Rejected, Trade

_LEDGER = ("ledger_id", "refid", "time", "time_raw", "type", "subtype", "aclass", "subclass", "asset",
           "wallet", "amount", "fee", "balance")
_TRADE = ("txid", "ordertxid", "postxid", "pair", "time", "time_raw", "type", "ordertype", "price", "cost",
          "fee", "vol", "margin", "leverage", "misc", "trade_id", "maker", "ledgers")
_TYPES = {"time": "timestamptz", "time_raw": "numeric", "amount": "numeric", "fee": "numeric",
          "balance": "numeric", "price": "numeric", "cost": "numeric", "vol": "numeric", "margin": "numeric",
          "trade_id": "bigint", "maker": "boolean", "ledgers": "text[]"}


def _scale(expr: str) -> str:
    return f"coalesce(scale({expr}), 0)"


def upsert_records(conn: Connection, account: str, stream: str, records: Sequence[Any], source: str) -> int:
    """Load ledger entries or trades; returns rows inserted or changed."""
    if not records:
        return 0
    cols, table, key = (_LEDGER, "ledger_entry", "ledger_id") if stream == "ledgers" else (_TRADE, "trade", "txid")
    staging = f"stg_{table}"
    defs = ", ".join(f"{c} {_TYPES.get(c, 'text')}" for c in cols)
    conn.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {staging} ({defs}, raw jsonb) ON COMMIT DELETE ROWS"))
    conn.execute(text(f"TRUNCATE {staging}"))
    raw_conn = conn.connection.driver_connection
    assert raw_conn is not None
    with raw_conn.cursor() as cur, cur.copy(f"COPY {staging} ({', '.join(cols)}, raw) FROM STDIN") as copy:
        for record in records:
            values = [getattr(record, c) for c in cols]
            if stream == "trades" and record.ledgers is not None:
                values[-1] = list(record.ledgers)
            copy.write_row([*values, json.dumps(record.raw)])
    nullable = ("wallet", "subclass") if stream == "ledgers" else (
        "postxid", "margin", "leverage", "trade_id", "maker", "ledgers", "ordertxid")
    sets = [
        f"time = CASE WHEN {_scale('EXCLUDED.time_raw')} > {_scale('t.time_raw')} THEN EXCLUDED.time ELSE t.time END",
        f"time_raw = CASE WHEN {_scale('EXCLUDED.time_raw')} > {_scale('t.time_raw')} "
        "THEN EXCLUDED.time_raw ELSE t.time_raw END",
        *(f"{c} = coalesce(t.{c}, EXCLUDED.{c})" for c in nullable),
        "updated_at = now()",
    ]
    changed = " OR ".join(
        [f"{_scale('EXCLUDED.time_raw')} > {_scale('t.time_raw')}",
         *(f"(t.{c} IS NULL AND EXCLUDED.{c} IS NOT NULL)" for c in nullable)]
    )
    result = conn.execute(text(
        f"INSERT INTO kraken.{table} AS t (account, {', '.join(cols)}, source, raw) "
        f"SELECT DISTINCT ON ({key}) :account, {', '.join(cols)}, :source, raw FROM {staging} "
        f"ON CONFLICT (account, {key}) DO UPDATE SET {', '.join(sets)} WHERE {changed}"
    ), {"account": account, "source": source})
    return int(result.rowcount or 0)


def quarantine(conn: Connection, account: str, stream: str, rejected: Sequence[Rejected], source: str) -> int:
    """Store rejected rows with their reason (idempotent by fingerprint)."""
    count = 0
    for item in rejected:
        body = dumps({"reason": item.reason, "raw": item.raw})
        fingerprint = hashlib.sha256(body.encode()).hexdigest()
        result = conn.execute(text(
            "INSERT INTO kraken.quarantine (account, stream, source, record_id, reason, fingerprint, raw) "
            "VALUES (:a, :s, :src, :rid, :reason, :fp, CAST(:raw AS jsonb)) "
            "ON CONFLICT (account, stream, fingerprint) DO NOTHING"
        ), {"a": account, "s": stream, "src": source, "rid": item.record_id, "reason": item.reason,
            "fp": fingerprint, "raw": dumps(item.raw)})
        count += int(result.rowcount or 0)
    return count


def validate(stream: str, records: Sequence[LedgerEntry | Trade]) -> tuple[list[Any], list[Rejected]]:
    """Interim validation: unique ids within the batch (the first wins; repeats are quarantined)."""
    seen: set[str] = set()
    valid: list[Any] = []
    invalid: list[Rejected] = []
    for record in records:
        key = record.ledger_id if isinstance(record, LedgerEntry) else record.txid
        if key in seen:
            invalid.append(Rejected(stream, key, f"duplicate id {key} in the batch", record.raw))
        else:
            seen.add(key)
            valid.append(record)
    return valid, invalid
