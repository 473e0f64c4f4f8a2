"""Coverage facts in SQL: open quarantine, the assets and ledger types present, sync windows, snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

_QUARANTINE = """
SELECT stream, count(*) AS n, (array_agg(coalesce(record_id, fingerprint) ORDER BY id))[1:5] AS ids,
       min(reason) AS reason
FROM kraken.quarantine WHERE account = :account AND resolved_at IS NULL
GROUP BY stream ORDER BY stream
"""

_VOCABULARY = """
SELECT asset, type, count(*) AS n, min(ledger_id) AS example FROM kraken.ledger_entry
WHERE account = :account AND time <= :as_of
  AND (CAST(:since AS timestamptz) IS NULL OR updated_at > CAST(:since AS timestamptz))
GROUP BY asset, type ORDER BY asset, type
"""

_WINDOWS = """
SELECT stream, kind, window_start, window_end, finished_at FROM kraken.sync_run
WHERE account = :account AND status = 'ok' AND stream = ANY(CAST(:streams AS text[]))
  AND window_end IS NOT NULL AND started_at <= :as_of
ORDER BY stream, window_start NULLS FIRST
"""

_LAST_SYNC = """
SELECT max(finished_at) FROM kraken.sync_run
WHERE account = :account AND status = 'ok' AND stream = :stream AND finished_at <= :as_of
"""

_LAST_SNAPSHOT = """
SELECT max(taken_at) FROM kraken.balance_snapshot WHERE account = :account AND taken_at <= :as_of
"""

_NEXT_SNAPSHOT = """
SELECT min(taken_at) FROM kraken.balance_snapshot WHERE account = :account AND taken_at > :as_of
"""

_UNKNOWN_WALLETS = """
SELECT asset, count(*) AS n, (array_agg(ledger_id ORDER BY time, ledger_id))[1:20] AS ids
FROM kraken.ledger_entry
WHERE account = :account AND wallet_source = 'unknown' AND time <= :as_of
GROUP BY asset ORDER BY asset
"""


def open_quarantine(conn: Connection, account: str) -> list[dict[str, Any]]:
    """Unresolved quarantine per stream: count, up to five record ids, one reason."""
    return [dict(r) for r in conn.execute(text(_QUARANTINE), {"account": account}).mappings()]


def vocabulary(conn: Connection, account: str, as_of: datetime,
               since: datetime | None = None) -> list[tuple[str, str, int, str]]:
    """(asset, type, rows, an example ledger id) over the ledger (rows changed after `since` only)."""
    rows = conn.execute(text(_VOCABULARY), {"account": account, "as_of": as_of, "since": since})
    return [(r.asset, r.type, int(r.n), r.example) for r in rows]


def sync_windows(conn: Connection, account: str, as_of: datetime, streams: Sequence[str]) -> list[dict[str, Any]]:
    """Successful windows (REST, export, import) of `streams`: start (None: from the beginning), end."""
    params = {"account": account, "as_of": as_of, "streams": list(streams)}
    return [dict(r) for r in conn.execute(text(_WINDOWS), params).mappings()]


def last_sync(conn: Connection, account: str, as_of: datetime, stream: str) -> datetime | None:
    """When the last successful load of `stream` finished."""
    return conn.execute(text(_LAST_SYNC), {"account": account, "as_of": as_of, "stream": stream}).scalar()


def last_snapshot(conn: Connection, account: str, as_of: datetime) -> datetime | None:
    """When the newest balance snapshot was taken."""
    return conn.execute(text(_LAST_SNAPSHOT), {"account": account, "as_of": as_of}).scalar()


def next_snapshot(conn: Connection, account: str, as_of: datetime) -> datetime | None:
    """When the first balance snapshot after `as_of` was taken (a nightly run takes it after its cut-off)."""
    return conn.execute(text(_NEXT_SNAPSHOT), {"account": account, "as_of": as_of}).scalar()


def unknown_wallets(conn: Connection, account: str, as_of: datetime) -> list[tuple[str, int, list[str]]]:
    """Per asset, the rows wallet assignment left `unknown`."""
    rows = conn.execute(text(_UNKNOWN_WALLETS), {"account": account, "as_of": as_of})
    return [(r.asset, int(r.n), list(r.ids)) for r in rows]
