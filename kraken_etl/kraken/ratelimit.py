"""The shared call counter: one `CallCounter` per API key, shared by every worker of that key.

Kraken keeps one counter per key, so every thread using a key must charge the same model; `counter_for`
returns the process-wide instance for a key id (Prefect's thread-pool tasks of one flow run share it).
`acquire(cost)` waits *before* a call would overflow, through the injected `Clock`, then spends — so a
healthy run never meets ``EAPI:Rate limit exceeded``. When Kraken says it anyway (another client on the
key, a counter we do not see), `penalise()` fills our model to the limit, so the next call cools down.

Separate processes on one key each keep their own model; run one sync per key at a time (the CLI and the
nightly flow do), or give each consumer its own key.
"""

from __future__ import annotations

import threading

from kraken_etl.core.callcounter import CallCounter, Tier
from kraken_etl.kraken.clock import Clock

# Model the counter slightly fuller than Kraken does, so the spread of request latency never overflows it:
# at least a quarter call, or 50 ms worth of decay on accelerated (test/benchmark) counters, capped at a
# quarter of the limit so the usable burst never vanishes.
SAFETY_UNITS = 0.25
SAFETY_SECONDS = 0.05


_EPSILON = 1e-6


def safety_margin(tier: Tier) -> float:
    """Counter units kept free below the tier's limit (at most a quarter of it)."""
    return min(max(SAFETY_UNITS, tier.decay_per_second * SAFETY_SECONDS), tier.limit / 4)


class SharedCounter:
    """A `CallCounter` behind a lock; `acquire` waits through the clock, then spends."""

    def __init__(self, tier: Tier, *, margin: float | None = None) -> None:
        self.tier = tier
        margin = safety_margin(tier) if margin is None else margin
        self._model = CallCounter(Tier(tier.name, tier.limit - margin, tier.decay_per_second))
        self._lock = threading.Lock()

    def acquire(self, cost: int, clock: Clock) -> float:
        """Wait until a call of `cost` fits, spend it, and return the seconds waited.

        The wait happens outside the lock, then the fit is checked again (another worker may have spent).
        """
        waited = 0.0
        while True:
            with self._lock:
                now = clock.now()
                delay = self._model.delay(cost, now)
                if delay <= _EPSILON:  # float residue after a sleep must not loop forever
                    self._model.spend(cost, now)
                    return waited
            clock.sleep(delay)
            waited += delay

    def penalise(self, clock: Clock) -> None:
        """Kraken reported an overflow: assume its counter is full, so the next call waits for decay."""
        with self._lock:
            self._model = CallCounter(self._model.tier, level=self._model.tier.limit, at=clock.now())

    def level(self, clock: Clock) -> float:
        with self._lock:
            return self._model.level(clock.now())


_REGISTRY: dict[tuple[str, str, float], SharedCounter] = {}
_REGISTRY_LOCK = threading.Lock()


def counter_for(api_key_id: str, tier: Tier) -> SharedCounter:
    """The process-wide counter of one key (created on first use)."""
    with _REGISTRY_LOCK:
        key = (api_key_id, tier.name, tier.decay_per_second)
        counter = _REGISTRY.get(key)
        if counter is None:
            counter = _REGISTRY[key] = SharedCounter(tier)
        return counter
