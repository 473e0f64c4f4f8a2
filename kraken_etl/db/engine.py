"""The effective database: DATABASE_URL when set, else the embedded PostgreSQL under KRAKEN_ETL_HOME."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from kraken_etl.db import embedded
from kraken_etl.settings import Settings


def effective_url(settings: Settings) -> str:
    """The SQLAlchemy URL to use (`postgresql+psycopg://…`), starting the embedded cluster if needed.

    Raises:
        SettingsError: when DATABASE_URL is malformed.
        EmbeddedDatabaseError: when the embedded cluster cannot start.
    """
    url = settings.sqlalchemy_url()
    if url is not None:
        return url
    return embedded.ensure_running(settings.home).sqlalchemy_url()


def libpq_url(sqlalchemy_url: str) -> str:
    """The same URL without the SQLAlchemy driver suffix (`postgresql://…`), for psql and BI tools."""
    url = make_url(sqlalchemy_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: object) -> Engine:
    """An Engine for `url` (psycopg 3), with pre-ping so a restarted embedded cluster is survived."""
    return create_engine(url, pool_pre_ping=True, **kwargs)
