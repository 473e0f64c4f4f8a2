"""The per-account lock: one writer per account, whatever runs it (CLI, any Prefect worker, any machine).

A PostgreSQL *session* advisory lock (`pg_try_advisory_lock`) taken on a connection of its own and held
for the whole job. Keyed by a stable 64-bit hash of the account label, so every process that shares the
database agrees on the key. Because the lock belongs to the session, PostgreSQL releases it the moment
the holder's connection ends: a clean exit, a crash or a `kill -9` of the holder never leaves an account
locked (the server sees the socket close and ends the backend).

Choice: a second run does not wait, it exits at once with `AccountBusy` (exit code 3) naming the account
and the holder, for the CLI and the flows alike (docs/operations.md, "The per-account lock"). Waiting
would let a stuck run pile up the schedule behind it; failing fast shows it.

Limit: if the lock's connection drops mid-job (the database restarts), the lock is gone while the job may
still run; the loads stay idempotent, so the cost is at most one overlapping, harmless re-read.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, text

from kraken_etl.core.errors import KrakenEtlError

_NAMESPACE = b"kraken-etl account lock:"

_HOLDER_SQL = text(
    "SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l "
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.classid = :hi AND l.objid = :lo AND l.database = "
    "(SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1"
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


def lock_key(account: str) -> int:
    """The advisory-lock key of an account: a signed 64-bit hash of its label, the same on every machine."""
    digest = hashlib.sha256(_NAMESPACE + account.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _split(key: int) -> tuple[int, int]:
    """pg_locks shows a bigint key as two unsigned 32-bit halves (classid, objid)."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


def _holder(conn: Connection, key: int) -> str | None:
    hi, lo = _split(key)
    row = conn.execute(_HOLDER_SQL, {"hi": hi, "lo": lo}).first()
    if row is None:
        return None
    since: datetime = row.backend_start
    what = row.application_name or "a client"
    return f"{what}, database pid {row.pid}, connected since {since:%Y-%m-%d %H:%M:%S %Z}"


def _application_name(account: str, purpose: str) -> str:
    return f"kraken-etl {purpose} {account} @{socket.gethostname()}"[:63]  # PostgreSQL keeps 63 bytes


@contextmanager
def account_lock(engine: Engine, account: str, *, purpose: str = "run") -> Iterator[None]:
    """Hold the account's lock for the block, on a dedicated autocommit connection.

    `purpose` ("sync", "nightly", …) is shown to a run that finds the account busy (as the holder's
    application_name).

    Raises:
        AccountBusy: at once when another session holds the lock.
        sqlalchemy.exc.DBAPIError: when the database cannot be reached.
    """
    key = lock_key(account)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        conn.execute(text("SELECT set_config('application_name', :name, false)"),
                     {"name": _application_name(account, purpose)})
        if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one():
            raise AccountBusy(account, _holder(conn, key))
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    except BaseException:
        conn.invalidate()  # ending the session releases anything it still holds
        raise
    finally:
        conn.close()


def lock_is_held(engine: Engine, account: str) -> bool:
    """Whether any session holds the account's lock now (for `status` and tests)."""
    hi, lo = _split(lock_key(account))
    with engine.connect() as conn:
        return conn.execute(_HOLDER_SQL, {"hi": hi, "lo": lo}).first() is not None


def held_locks(engine: Engine) -> list[str]:
    """What holds an account lock now, as the holders name themselves ("kraken-etl nightly main @host")."""
    query = text(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND a.application_name LIKE 'kraken-etl %' "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY a.backend_start"
    )
    with engine.connect() as conn:
        return [str(name) for name in conn.execute(query).scalars()]
