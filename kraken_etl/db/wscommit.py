"""The listener's commits: one connection kept for a stream of short transactions, and one batch's
transaction (`kraken_etl.db.ws` holds the statements)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from kraken_etl.core.clock import Clock
from kraken_etl.core.records import Rejected
from kraken_etl.core.wsrecords import WsBalanceUpdate, WsExecution, WsWalletBalance
from kraken_etl.db.ws import StoredCounts, store_batch, store_wallet_snapshot

T = TypeVar("T")


class CommitConnection:
    """One pooled connection kept for the listener's stream of short transactions (a commit every few
    ms): checking one out of the pool per batch costs the pool's pre-ping round trip and its CPU each time.

    The connection is checked out again (through the pool, with its pre-ping) when it was unused for
    `idle_seconds`, and after any failed transaction. A transaction that fails because the connection
    was found dead (``connection_invalidated``) on a reused connection is run once more on a fresh
    one, as the pre-ping would have done: every write is idempotent (``ON CONFLICT DO NOTHING``), so at
    worst the session's counters count that batch twice if the commit itself had reached PostgreSQL.
    """

    def __init__(self, engine: Engine, clock: Clock, idle_seconds: float = 30.0) -> None:
        self.engine, self.clock, self.idle_seconds = engine, clock, idle_seconds
        self._conn: Connection | None = None
        self._used = 0.0

    def transaction(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one transaction and commit it."""
        reused = self._conn is not None and self.clock.now() - self._used < self.idle_seconds
        if not reused:
            self.close()
        try:
            return self._run(work)
        except DBAPIError as exc:
            if not (reused and exc.connection_invalidated):
                raise
            return self._run(work)

    def _run(self, work: Callable[[Connection], T]) -> T:
        if self._conn is None:
            self._conn = self.engine.connect()
        try:
            with self._conn.begin():
                result = work(self._conn)
        except BaseException:
            self.close()  # never reuse a connection whose transaction failed
            raise
        self._used = self.clock.now()
        return result

    def close(self) -> None:
        """Give the connection back to the pool."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: S110 - a broken connection is discarded by the pool anyway
                pass


def commit_batch(db: CommitConnection, account: str, *, executions: Sequence[WsExecution],
                 balance_updates: Sequence[WsBalanceUpdate], wallets: Sequence[WsWalletBalance],
                 rejected: Sequence[Rejected], session_id: int | None, messages: int,
                 last_message_at: datetime | None) -> StoredCounts:
    """One listener batch in one transaction: `store_batch`, and the balances snapshot when it holds one."""

    def write(conn: Connection) -> StoredCounts:
        counts = store_batch(conn, account, executions=executions, balance_updates=balance_updates,
                             rejected=rejected, session_id=session_id, messages=messages,
                             last_message_at=last_message_at)
        if wallets and last_message_at is not None:
            store_wallet_snapshot(conn, account, last_message_at, wallets)
        return counts

    return db.transaction(write)
