"""A simulator account synced into a real PostgreSQL once per module, and its truth, for the reporting tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine

from kraken_etl.db.engine import make_engine
from kraken_etl.db.reporting import refresh_reporting
from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.jobs.sync import sync_account
from tests import dbharness
from tests.pipeline.conftest import make_sim

ACCOUNT = "default"
DEMO = "demo"  # the label `kraken-etl demo` loads: what docs/sql-guide.md, the README and Grafana examples use


@dataclass
class Loaded:
    engine: Engine
    url: str
    truths: dict[str, dict[str, Any]]


def _load(admin_url: str, template: str, account: str) -> Iterator[Loaded]:
    sim = make_sim(seed=11, ledger_entries=1_500)
    with dbharness.database_copy(admin_url, template) as url:
        engine = make_engine(url)
        try:
            sync_account(SYNC_ORDER, client=sim.client(), engine=engine, account=account)
            refresh_reporting(engine)
            yield Loaded(engine, url, sim.truths())
        finally:
            engine.dispose()
            sim.http.close()


@pytest.fixture(scope="module")
def loaded(pg_admin_url: str, pg_template: str) -> Iterator[Loaded]:
    """1,500 simulated entries synced over the in-process simulator, reporting refreshed."""
    yield from _load(pg_admin_url, pg_template, ACCOUNT)


@pytest.fixture(scope="module")
def demo_loaded(pg_admin_url: str, pg_template: str) -> Iterator[Loaded]:
    """The same simulated account under the demo's label, `demo`."""
    yield from _load(pg_admin_url, pg_template, DEMO)
