"""Quarantine (rejected records with their reasons) and balance snapshots: plain idempotent inserts.

`quarantine` stores rejected records idempotently: ``fingerprint = sha256(reason + canonical raw JSON)``,
unique per (account, stream). `insert_balances` stores one row per asset, source and moment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert

from kraken_etl.core.money import dumps
from kraken_etl.core.records import BalanceSnapshot, Rejected
from models import BalanceSnapshotRow, QuarantineRow


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
    if not snapshots:
        return 0
    rows = [{
        "account": account, "taken_at": s.taken_at, "source": s.source, "asset": s.asset, "wallet": s.wallet,
        "balance": s.balance, "hold_trade": s.hold_trade, "credit": s.credit, "credit_used": s.credit_used,
        "raw": json.loads(dumps(s.raw)),
    } for s in snapshots]
    stmt = insert(BalanceSnapshotRow).on_conflict_do_nothing().returning(BalanceSnapshotRow.id)
    return len(conn.execute(stmt, rows).all())
