"""A real PostgreSQL for the tests: the embedded cluster by default, or TEST_DATABASE_URL when set.

Each pytest process migrates one template database of its own, then every test that needs committed
data gets a fresh copy of it (CREATE DATABASE … TEMPLATE, ~0.1 s); tests that only need a connection run
inside a transaction that is rolled back. Several pytest processes can share the embedded cluster.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from kraken_etl.db import embedded, migrate

REPO = Path(__file__).resolve().parent.parent
TEST_HOME = REPO / ".kraken-etl-test"
_counter = itertools.count()


def admin_libpq_url() -> str:
    """A libpq URL to a maintenance database on the test server (where CREATE DATABASE runs)."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        url = make_url(given).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)
    warnings.filterwarnings("ignore", module="platformdirs")
    server = embedded.ensure_running(TEST_HOME, database="postgres")
    return server.libpq_url("postgres")


def url_for(admin_url: str, database: str, driver: str = "postgresql+psycopg") -> str:
    return make_url(admin_url).set(drivername=driver, database=database).render_as_string(hide_password=False)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{next(_counter)}"


def create_template(admin_url: str) -> str:
    """Create and migrate this process's template database; return its name."""
    name = unique_name("kt_tpl")
    embedded.create_database(admin_url, name)
    migrate.upgrade(url_for(admin_url, name))
    return name


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def database_copy(admin_url: str, template: str) -> Iterator[str]:
    """A fresh database cloned from `template`, dropped afterwards; yields its SQLAlchemy URL."""
    name = unique_name("kt")
    embedded.create_database(admin_url, name, template=template)
    try:
        yield url_for(admin_url, name)
    finally:
        drop_database(admin_url, name)
