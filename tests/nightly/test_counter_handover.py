"""A key's call counter is handed from machine to machine through the database while its account is held.

Two "machines" are two KRAKEN_ETL_HOME directories, each with its own counter file. Machine A spends the
counter; machine B, next to hold the account, must start from what A left (aged by the database's clock),
and from a full counter when A died without letting go.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from kraken_etl.core.callcounter import TIERS, handed_over_level
from kraken_etl.core.clock import ManualClock
from kraken_etl.db.countermark import counter_mark, record_counter
from kraken_etl.db.engine import make_engine
from kraken_etl.jobs.exclusive import exclusive
from kraken_etl.kraken.client import key_counter
from kraken_etl.kraken.nonce import key_id
from kraken_etl.kraken.ratelimit import safety_margin
from kraken_etl.settings import Account

KEY = "fleet-handover-key"
ACCOUNT = Account("main", SecretStr(KEY), SecretStr("c2VjcmV0"), "starter")
STARTER = TIERS["starter"]


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url)
    yield made
    made.dispose()


@pytest.mark.parametrize(("level", "elapsed", "released", "expected"), [
    (10.0, 0.0, True, 10.0),
    (10.0, 3.0, True, 10.0 - 3 * 0.33),
    (10.0, 100.0, True, 0.0),
    (10.0, -5.0, True, 10.0),  # a clock step back never adds to the level
    (2.0, 0.0, False, 15.0),  # the holder died: it may have spent up to the limit
])
def test_handed_over_level(level: float, elapsed: float, released: bool, expected: float) -> None:
    assert handed_over_level(STARTER, level, elapsed, released) == pytest.approx(expected)


def test_the_next_machine_starts_from_what_the_last_one_spent(engine: Engine, tmp_path: Path) -> None:
    clock = ManualClock(1_800_000_000.0)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    with exclusive(engine, ACCOUNT, a, purpose="sync", clock=clock):
        counter_a = key_counter(ACCOUNT.api_key, "starter", a)
        for _ in range(7):
            assert counter_a.acquire(2, clock) == 0  # seven Ledgers pages: 14 units, no wait yet
        spent = counter_a.level(clock)
    assert spent == pytest.approx(14.0)
    mark = counter_mark(engine, key_id(KEY))
    assert mark is not None and mark.released and mark.level == Decimal("14.000000")

    assert key_counter(ACCOUNT.api_key, "starter", c).level(clock) == 0  # the control: C never held the key
    with exclusive(engine, ACCOUNT, b, purpose="sync", clock=clock):
        counter_b = key_counter(ACCOUNT.api_key, "starter", b)
        assert counter_b.level(clock) == pytest.approx(spent, abs=0.5)  # aged by the little time in between
        assert counter_b.acquire(2, clock) > 0  # so B waits where a fresh model would have sent at once


def test_a_holder_that_died_leaves_the_counter_taken_as_full(engine: Engine, tmp_path: Path) -> None:
    clock = ManualClock(1_800_000_000.0)
    record_counter(engine, key_id(KEY), Decimal("1"), released=False)  # took the key, never let go
    with exclusive(engine, ACCOUNT, tmp_path / "b", purpose="sync", clock=clock):
        counter = key_counter(ACCOUNT.api_key, "starter", tmp_path / "b")
        assert counter.level(clock) == pytest.approx(STARTER.limit - safety_margin(STARTER))
        mark = counter_mark(engine, key_id(KEY))
        assert mark is not None and not mark.released  # held now, by this machine
    mark = counter_mark(engine, key_id(KEY))
    assert mark is not None and mark.released
