"""Fixtures for reconciliation tests: the in-process simulator (tests/pipeline) and a fresh database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from kraken_etl.db.engine import make_engine


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url)
    yield made
    made.dispose()
