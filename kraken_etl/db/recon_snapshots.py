"""Ledger vs exchange in SQL: each chain's balance at the moment of each stored balance snapshot.

For every distinct snapshot time and every (asset, wallet) chain that had rows by then, the balance of
its last row at or before that time (entries after the snapshot excluded). When several rows share that
last moment, the chain's end is the row whose balance no other of them starts from.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

_SNAPSHOTS = """
SELECT id, taken_at, source, asset, wallet, balance FROM kraken.balance_snapshot
WHERE account = :account AND taken_at <= :as_of
ORDER BY taken_at, source, asset
"""

# `chains` walks the (account, asset, wallet_resolved, ...) index from one chain to the next (a loose index
# scan: one probe per chain) instead of reading every ledger row to find the few distinct chains.
_AT = """
WITH RECURSIVE
snaps AS (SELECT DISTINCT taken_at FROM kraken.balance_snapshot WHERE account = :account AND taken_at <= :as_of),
chains AS (
    (SELECT asset, wallet_resolved AS wallet FROM kraken.ledger_entry
     WHERE account = :account AND wallet_resolved IS NOT NULL ORDER BY asset, wallet_resolved LIMIT 1)
    UNION ALL
    SELECT n.asset, n.wallet FROM chains c CROSS JOIN LATERAL (
        SELECT x.asset, x.wallet_resolved AS wallet FROM kraken.ledger_entry x
        WHERE x.account = :account AND x.wallet_resolved IS NOT NULL
          AND (x.asset, x.wallet_resolved) > (c.asset, c.wallet)
        ORDER BY x.asset, x.wallet_resolved LIMIT 1) n
)
SELECT s.taken_at, c.asset, c.wallet, last.balance, last.ledger_id
FROM snaps s CROSS JOIN chains c
CROSS JOIN LATERAL (
    SELECT max(e.time) AS t FROM kraken.ledger_entry e
    WHERE e.account = :account AND e.asset = c.asset AND e.wallet_resolved = c.wallet
      AND e.balance IS NOT NULL AND e.time <= s.taken_at
) m
CROSS JOIN LATERAL (
    SELECT e.balance, e.ledger_id FROM kraken.ledger_entry e
    WHERE e.account = :account AND e.asset = c.asset AND e.wallet_resolved = c.wallet AND e.time = m.t
      AND e.balance IS NOT NULL
    ORDER BY EXISTS (
        SELECT 1 FROM kraken.ledger_entry o
        WHERE o.account = e.account AND o.asset = e.asset AND o.wallet_resolved = e.wallet_resolved
          AND o.time = e.time AND o.ledger_id <> e.ledger_id AND o.balance - (o.amount - o.fee) = e.balance
    ), e.ledger_id DESC
    LIMIT 1
) last
WHERE m.t IS NOT NULL
ORDER BY s.taken_at, c.asset, c.wallet
"""


def snapshots(conn: Connection, account: str, as_of: datetime) -> list[dict[str, Any]]:
    """Stored balance snapshots up to `as_of`, oldest first."""
    return [dict(r) for r in conn.execute(text(_SNAPSHOTS), {"account": account, "as_of": as_of}).mappings()]


def ledger_at_snapshots(conn: Connection, account: str,
                        as_of: datetime) -> dict[datetime, list[tuple[str, str, Decimal, str]]]:
    """Per snapshot time: (asset, wallet, balance, ledger id of the chain's last row) for every chain.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    out: dict[datetime, list[tuple[str, str, Decimal, str]]] = {}
    for r in conn.execute(text(_AT), {"account": account, "as_of": as_of}):
        out.setdefault(r.taken_at, []).append((r.asset, r.wallet, r.balance, r.ledger_id))
    return out
