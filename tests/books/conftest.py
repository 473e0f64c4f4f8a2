"""A simulator account synced into a real PostgreSQL once per module, wallets assigned, and the tools that
check the journal (Beancount's bean-check, hledger)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from kraken_etl.db.engine import make_engine
from kraken_etl.db.reporting import refresh_reporting
from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.jobs.sync import sync_account
from kraken_etl.recon.runner import reconcile
from tests import dbharness
from tests.pipeline.conftest import make_sim

ACCOUNT = "main"
BEAN_CHECK = Path(sys.executable).with_name("bean-check")
HLEDGER = shutil.which("hledger") or "/usr/bin/hledger"


@dataclass
class Synced:
    engine: Engine
    url: str
    truths: dict[str, dict[str, Any]]


@contextmanager
def synced_account(pg_admin_url: str, pg_template: str, **sim: Any) -> Iterator[Synced]:
    """A simulated account (`make_sim`'s arguments) synced over the in-process simulator into a fresh
    database, reconciled (wallets assigned), reporting refreshed."""
    simulator = make_sim(**sim)
    with dbharness.database_copy(pg_admin_url, pg_template) as url:
        engine = make_engine(url)
        try:
            sync_account(SYNC_ORDER, client=simulator.client(), engine=engine, account=ACCOUNT)
            reconcile(engine, ACCOUNT)
            refresh_reporting(engine)
            yield Synced(engine, url, simulator.truths())
        finally:
            engine.dispose()
            simulator.http.close()


@pytest.fixture(scope="module")
def synced(pg_admin_url: str, pg_template: str) -> Iterator[Synced]:
    """1,500 simulated entries (two years), synced and reconciled (`synced_account`)."""
    with synced_account(pg_admin_url, pg_template, seed=11, ledger_entries=1_500) as account:
        yield account


@dataclass
class Checked:
    code: int
    output: str


def bean_check(path: Path) -> Checked:
    """Beancount's own check of a file (exit code, stdout + stderr)."""
    proc = subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True, timeout=600, check=False)
    return Checked(proc.returncode, proc.stdout + proc.stderr)


def hledger_check(path: Path) -> Checked:
    """hledger's own check of a file: parse, balanced transactions, balance assertions."""
    assert Path(HLEDGER).exists(), "hledger is missing: `make test` installs Debian's hledger (apt-get install hledger)"
    proc = subprocess.run([HLEDGER, "-f", str(path), "check"], capture_output=True, text=True, timeout=600,
                          check=False)
    return Checked(proc.returncode, proc.stdout + proc.stderr)
