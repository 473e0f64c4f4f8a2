"""Bookmarks (`sync_state`), where each stream's stored rows end, and the order-amend bookkeeping; writes
happen inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, Table, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from kraken_etl.core.timeutil import to_unix
from models import ClosedOrderRow, SyncRunRow, SyncStateRow


def get_bookmark(conn: Connection, account: str, stream: str) -> datetime | None:
    """The stream's bookmark (end of the last fully loaded window), or None before the first sync."""
    return conn.execute(
        select(SyncStateRow.bookmark).where(SyncStateRow.account == account, SyncStateRow.stream == stream)
    ).scalar_one_or_none()


def stored_end(conn: Connection, account: str, table: Table, column: str, stream: str) -> datetime | None:
    """The latest `column` time among the account's stored rows of `table` (None when it holds none), whatever
    loaded them (REST, an export, a file import), except rows inside a listener gap fill's window.

    A gap fill reads a few seconds around a WebSocket gap: an island of rows, with history before it that
    only the listener's own tables hold. Starting a sync after the island would leave that history out of the
    table for good, so those rows do not count (widened by a second each side: Kraken's whole-second bounds).
    Leaving rows out only moves the start earlier: more is read again, nothing is skipped.
    """
    col = table.c[column]
    run = SyncRunRow
    in_a_gap_fill = select(run.id).where(
        run.account == account, run.stream == stream, run.kind == "listener_gap",
        col > run.window_start - timedelta(seconds=1), col <= run.window_end + timedelta(seconds=1),
    ).exists()
    return conn.execute(
        select(func.max(col)).where(table.c.account == account, ~in_a_gap_fill)
    ).scalar_one_or_none()


def set_bookmark(conn: Connection, account: str, stream: str, bookmark: datetime) -> None:
    """Move the bookmark (never backwards: a late, older window cannot rewind it).

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    stmt = insert(SyncStateRow).values(
        account=account, stream=stream, bookmark=bookmark, bookmark_raw=to_unix(bookmark), updated_at=func.now()
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["account", "stream"],
        set_={"bookmark": func.greatest(SyncStateRow.bookmark, stmt.excluded.bookmark),
              "bookmark_raw": func.greatest(SyncStateRow.bookmark_raw, stmt.excluded.bookmark_raw),
              "updated_at": func.now()},
    )
    conn.execute(stmt)


def orders_needing_amends(conn: Connection, account: str, limit: int | None = None) -> list[str]:
    """Amended orders whose OrderAmends trail was never fetched, or whose row changed since."""
    stmt = (
        select(ClosedOrderRow.txid)
        .where(
            ClosedOrderRow.account == account,
            ClosedOrderRow.amended.is_(True),
            or_(ClosedOrderRow.amends_synced_at.is_(None),
                ClosedOrderRow.amends_synced_at < ClosedOrderRow.updated_at),
        )
        .order_by(ClosedOrderRow.opentm, ClosedOrderRow.txid)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(conn.execute(stmt).scalars())


def mark_amends_synced(conn: Connection, account: str, order_txids: Sequence[str]) -> None:
    """Record that these orders' trails are stored (same transaction as the amend rows)."""
    if not order_txids:
        return
    conn.execute(
        update(ClosedOrderRow)
        .where(and_(ClosedOrderRow.account == account, ClosedOrderRow.txid.in_(list(order_txids))))
        .values(amends_synced_at=func.now())
    )
