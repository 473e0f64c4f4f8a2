"""The effective database: DATABASE_URL when set, else the embedded PostgreSQL under KRAKEN_ETL_HOME.

A DATABASE_URL that cannot be reached is found here, once, before any work: `effective_url` opens one
connection with a short `connect_timeout`, and a failure becomes `DatabaseUnreachable` — one line naming
the setting, the URL with its password masked and libpq's reason, exit code 2 — instead of a traceback
from deep inside a migration or a query.
"""

from __future__ import annotations

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError, ProgrammingError

from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.db import embedded
from kraken_etl.settings import Settings, SettingsError

CONNECT_TIMEOUT_SECONDS = 3  # libpq's minimum useful value is 2; the whole check must end within 5 s


class DatabaseUnreachable(KrakenEtlError):
    """DATABASE_URL names a server that cannot be reached or refuses us (a configuration problem)."""

    exit_code = 2


# The database going away mid-command (server stopped, network cut, disk full): operational, not a bug.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, psycopg.OperationalError)


# A statement the server refused (a missing table among them: see `schema_missing`).
SCHEMA_ERRORS: tuple[type[BaseException], ...] = (ProgrammingError,)

# What a command meets on a database that was never migrated (or is behind this version's schema).
_SCHEMA_MISSING = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedFunction,
                   psycopg.errors.InvalidSchemaName)


def schema_missing(exc: BaseException) -> bool:
    """Whether `exc` says a table, column, function or schema of ours does not exist (an unmigrated database)."""
    return isinstance(getattr(exc, "orig", None) or exc, _SCHEMA_MISSING)


def describe_database_error(exc: BaseException) -> str:
    """One line for a `DATABASE_ERRORS` failure: libpq's reason, without the SQL text or its parameters."""
    reason = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(reason).splitlines() if line.strip()]
    return f"database: {lines[0] if lines else type(exc).__name__}"


def masked(url: str) -> str:
    """`url` with its password replaced by ``***`` (safe to print)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


def check_reachable(url: str, *, setting: str = "DATABASE_URL", timeout: int = CONNECT_TIMEOUT_SECONDS) -> None:
    """Open and close one connection to `url`.

    Raises:
        DatabaseUnreachable: naming `setting`, the masked URL and the reason, in one line.
    """
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=timeout):
            pass
    except psycopg.Error as exc:
        reason = " ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__
        password = make_url(url).password
        if password:
            reason = reason.replace(str(password), "***")
        raise DatabaseUnreachable(f"{setting}: cannot connect to {masked(url)}: {reason}") from None


def effective_url(settings: Settings, *, check: bool = True) -> str:
    """The SQLAlchemy URL to use (`postgresql+psycopg://…`), starting the embedded cluster if needed.

    Args:
        check: connect once to a DATABASE_URL first (False only to print the URL).

    Raises:
        SettingsError: when DATABASE_URL is malformed.
        DatabaseUnreachable: when DATABASE_URL cannot be reached (with `check`).
        EmbeddedDatabaseError: when the embedded cluster cannot start.
    """
    url = settings.sqlalchemy_url()
    if url is not None:
        try:
            make_url(url)
        except ArgumentError:
            raise SettingsError("DATABASE_URL: not a valid URL") from None
        if check:
            check_reachable(url)
        return url
    return embedded.ensure_running(settings.home).sqlalchemy_url()


def libpq_url(sqlalchemy_url: str) -> str:
    """The same URL without the SQLAlchemy driver suffix (`postgresql://…`), for psql and BI tools."""
    url = make_url(sqlalchemy_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: object) -> Engine:
    """An Engine for `url` (psycopg 3), with pre-ping so a restarted embedded cluster is survived."""
    return create_engine(url, pool_pre_ping=True, **kwargs)
