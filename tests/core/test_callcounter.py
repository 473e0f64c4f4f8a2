from __future__ import annotations

import pytest

from kraken_etl.core.callcounter import TIERS, CallCounter


@pytest.mark.parametrize(
    ("tier", "limit", "decay"), [("starter", 15, 0.33), ("intermediate", 20, 0.5), ("pro", 20, 1.0)]
)
def test_tiers(tier: str, limit: float, decay: float) -> None:
    assert TIERS[tier].limit == limit
    assert TIERS[tier].decay_per_second == decay


def test_counter_fills_and_decays() -> None:
    counter = CallCounter(TIERS["pro"])
    for _ in range(10):
        assert counter.try_spend(2, now=0.0)
    assert counter.level(0.0) == 20
    assert not counter.try_spend(1, now=0.0)
    assert counter.delay(2, now=0.0) == pytest.approx(2.0)
    assert counter.level(5.0) == pytest.approx(15.0)
    assert counter.try_spend(2, now=2.0)


def test_delay_is_zero_when_it_fits_and_level_never_negative() -> None:
    counter = CallCounter(TIERS["starter"])
    assert counter.delay(2, now=100.0) == 0.0
    counter.spend(15, now=0.0)
    assert counter.level(1000.0) == 0.0
    assert counter.delay(1, now=0.0) == pytest.approx(1 / 0.33)


def test_scaled_tier_runs_faster() -> None:
    fast = TIERS["starter"].scaled(10)
    assert fast.decay_per_second == pytest.approx(3.3)
    assert fast.limit == 15
