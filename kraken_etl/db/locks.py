"""The per-account lock: one writer per account, whatever runs it (CLI, any Prefect worker, any machine).

A row lock (``SELECT … FOR UPDATE NOWAIT``) on the account's row of `kraken.account_lock`, taken in a
transaction of a connection of its own and held for the whole job. PostgreSQL grants a row lock only to a
role with UPDATE on the table, so the read-only `kraken_reader` role cannot take it (an advisory lock,
used before, is open to every role: a reader could lock every writer out). Because the transaction belongs
to the session, PostgreSQL releases the lock the moment the holder's connection ends: a clean exit, a crash
or a `kill -9` of the holder never leaves an account locked.

Who holds it is written by the holder, right after taking the lock, into `kraken.account_lock_holder`
(only the writing role can write there) with its database session's pid and start; it is believed only
while that very session holds a row-share lock on `account_lock`. A client-chosen `application_name` is
never trusted (it is still set, for a DBA's `pg_stat_activity`).

Choice: a second run does not wait, it exits at once with `AccountBusy` (exit code 3) naming the account
and the holder, for the CLI and the flows alike (docs/operations.md, "The per-account lock"). Waiting
would let a stuck run pile up the schedule behind it; failing fast shows it.

Costs and limits: the holder keeps one transaction open for the job (it holds back vacuum's horizon for
that time; the history tables are insert-mostly). If the lock's connection drops mid-job (the database
restarts), the lock is gone while the job may still run; the loads stay idempotent, so the cost is at most
one overlapping, harmless re-read.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from kraken_etl.core.errors import KrakenEtlError

_LOCK_NOT_AVAILABLE = "55P03"

# A holder row is believed only while its session (pid and start) holds a row-share lock on account_lock.
_LIVE_HOLDERS = (
    "SELECT h.account, h.purpose, h.host, h.pid, h.since FROM kraken.account_lock_holder h "
    "JOIN pg_stat_activity a ON a.pid = h.pid AND a.backend_start = h.backend_start "
    "WHERE EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = h.pid AND l.granted AND l.locktype = 'relation' "
    "AND l.mode = 'RowShareLock' AND l.relation = 'kraken.account_lock'::regclass "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
)

class AccountBusy(KrakenEtlError):
    """Another run holds the account's lock; this one exits without touching the account."""

    exit_code = 3

    def __init__(self, account: str, holder: str | None = None) -> None:
        self.account = account
        self.holder = holder
        by = f" ({holder})" if holder else ""
        super().__init__(f"account {account!r} is busy: another run holds its lock{by}; "
                         "this run exits without changes, run it again once that one ends")


def _describe(row: object) -> str:
    return (f"kraken-etl {row.purpose} {row.account} @{row.host}, database pid {row.pid}, "  # type: ignore[attr-defined]
            f"since {row.since:%Y-%m-%d %H:%M:%S %Z}")  # type: ignore[attr-defined]


def _holder(engine: Engine, account: str) -> str | None:
    with engine.connect() as conn:
        row = conn.execute(text(_LIVE_HOLDERS + " AND h.account = :a"), {"a": account}).first()
    return _describe(row) if row is not None else None


def _application_name(account: str, purpose: str) -> str:
    return f"kraken-etl {purpose} {account} @{socket.gethostname()}"[:63]  # PostgreSQL keeps 63 bytes


def take_row_lock(conn: Connection, table: str, account: str) -> bool:
    """Take the row lock on `account`'s row of `kraken.<table>` in `conn`'s open transaction (the row must
    exist); False when another session holds it. Only a role with UPDATE on the table can take it."""
    try:
        conn.execute(text(f"SELECT 1 FROM kraken.{table} WHERE account = :a FOR UPDATE NOWAIT"), {"a": account})
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        return False
    return True


@contextmanager
def account_lock(engine: Engine, account: str, *, purpose: str = "run") -> Iterator[None]:
    """Hold the account's lock for the block, in a transaction of a dedicated connection.

    `purpose` ("sync", "nightly", …) is shown to a run that finds the account busy and in `status`.

    Raises:
        AccountBusy: at once when another session holds the lock.
        sqlalchemy.exc.DBAPIError: when the database cannot be reached, or the role may not take the lock
            (no UPDATE on `kraken.account_lock`: the read-only role).
    """
    with engine.begin() as setup:  # the account's row, once (never waits: DO NOTHING takes no row lock)
        setup.execute(text("INSERT INTO kraken.account_lock (account) VALUES (:a) ON CONFLICT DO NOTHING"),
                      {"a": account})
    conn = engine.connect()
    try:
        conn.execute(text("SELECT set_config('application_name', :name, false)"),
                     {"name": _application_name(account, purpose)})
        conn.commit()
        if not take_row_lock(conn, "account_lock", account):
            conn.rollback()
            raise AccountBusy(account, _holder(engine, account))
        with engine.begin() as other:  # committed at once, while this session holds the row lock
            other.execute(text(
                "INSERT INTO kraken.account_lock_holder (account, pid, backend_start, purpose, host) "
                "SELECT :a, pid, backend_start, :purpose, :host FROM pg_stat_activity WHERE pid = :pid "
                "ON CONFLICT (account) DO UPDATE SET pid = EXCLUDED.pid, backend_start = EXCLUDED.backend_start, "
                "purpose = EXCLUDED.purpose, host = EXCLUDED.host, since = now()"),
                {"a": account, "purpose": purpose, "host": socket.gethostname(),
                 "pid": conn.execute(text("SELECT pg_backend_pid()")).scalar_one()})
        yield
        # released together with its holder row (the row of a later holder has another pid: kept)
        conn.execute(text("DELETE FROM kraken.account_lock_holder WHERE account = :a AND pid = pg_backend_pid()"),
                     {"a": account})
        conn.commit()
    except BaseException:
        conn.invalidate()  # ending the session releases anything it still holds
        raise
    finally:
        conn.close()


def lock_is_held(engine: Engine, account: str) -> bool:
    """Whether a writing session holds the account's lock now (for `status` and tests)."""
    return _holder(engine, account) is not None


def held_locks(engine: Engine) -> list[str]:
    """What holds an account lock now, as the holders recorded themselves ("kraken-etl nightly main @host,
    database pid …"), oldest first; only sessions that do hold the lock are listed."""
    with engine.connect() as conn:
        rows = conn.execute(text(_LIVE_HOLDERS + " ORDER BY h.since, h.account")).all()
    return [_describe(row) for row in rows]
