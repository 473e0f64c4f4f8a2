"""The shared call counter: one `CallCounter` per API key, shared by every worker of that key.

Kraken keeps one counter per key, so every thread using a key must charge the same model; `counter_for`
returns the process-wide instance for a key id (Prefect's thread-pool tasks of one flow run share it).
`acquire(cost)` waits *before* a call would overflow, through the injected `Clock`, then spends — so a
healthy run never meets ``EAPI:Rate limit exceeded``. When Kraken says it anyway (another client on the
key, a counter we do not see), `penalise()` fills our model to the limit, so the next call cools down.

Processes on one machine share the model too when the counter has a state file
(``KRAKEN_ETL_HOME/counter/<key id>.state``, what `KrakenClient.for_account` uses): its level and time are
read and written under an exclusive ``flock`` on every acquire, like the nonce file, so a nightly sync and a
manual backfill on the same key wait for each other instead of overflowing Kraken's counter. Machines hand
a key's level over through the database while they hold its account (`jobs.exclusive`: `raise_level` on the
way in); any other consumer on another machine is not seen, and `penalise` covers it when Kraken reports an
overflow.
"""

from __future__ import annotations

import fcntl
import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kraken_etl.core.callcounter import CallCounter, Tier
from kraken_etl.core.clock import Clock

# Model the counter slightly fuller than Kraken does, so the spread of request latency never overflows it:
# at least a quarter call, or 50 ms worth of decay on accelerated (test/benchmark) counters, capped at a
# quarter of the limit so the usable burst never vanishes.
SAFETY_UNITS = 0.25
SAFETY_SECONDS = 0.05


_EPSILON = 1e-6

# Kraken's public endpoints are limited per IP address, apart from any key's counter: about one call per
# second with a small burst (UNVERIFIED: Kraken publishes no exact figure). Modelled like the private
# counter, one per machine (KRAKEN_ETL_HOME/counter/public.state), accelerated by KRAKEN_RATE_SCALE.
PUBLIC_TIER = Tier("public", 15, 1.0)


def safety_margin(tier: Tier) -> float:
    """Counter units kept free below the tier's limit (at most a quarter of it)."""
    return min(max(SAFETY_UNITS, tier.decay_per_second * SAFETY_SECONDS), tier.limit / 4)


class SharedCounter:
    """A `CallCounter` behind a lock (and a state file shared by processes, when given); `acquire` waits
    through the clock, then spends."""

    def __init__(self, tier: Tier, *, margin: float | None = None, state_file: Path | None = None) -> None:
        self.tier = tier
        margin = safety_margin(tier) if margin is None else margin
        self._model = CallCounter(Tier(tier.name, tier.limit - margin, tier.decay_per_second))
        self._lock = threading.Lock()
        self.state_file = state_file
        if state_file is not None:
            state_file.parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _held(self, clock: Clock) -> Iterator[CallCounter]:
        """The model, locked for this thread and (with a state file) for other processes; saved on exit."""
        with self._lock:
            if self.state_file is None:
                yield self._model
                return
            fd = os.open(self.state_file, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._model = self._read(os.pread(fd, 128, 0), clock)
                yield self._model
                now = clock.now()
                state = f"{self._model.level(now)!r} {now!r}".encode()
                os.ftruncate(fd, 0)
                os.pwrite(fd, state, 0)
            finally:
                os.close(fd)  # closing releases the flock

    def _read(self, data: bytes, clock: Clock) -> CallCounter:
        """Parse ``"<level> <at>"``; an empty file is a fresh counter, a damaged one is taken as full."""
        tier = self._model.tier
        if not data.strip():
            return CallCounter(tier)
        try:
            level_text, at_text = data.decode("ascii").split()
            level = min(tier.limit, max(0.0, float(level_text)))  # float-ok: counter units, not money
            at = float(at_text)  # float-ok: unix seconds
            if not (math.isfinite(level) and math.isfinite(at)):
                raise ValueError("not finite")
        except ValueError:
            return CallCounter(tier, level=tier.limit, at=clock.now())
        # A time ahead of ours (the clock was stepped back, or another process's clock differs): take the level
        # as of now, or the counter would not decay until our clock caught up.
        return CallCounter(tier, level=level, at=min(at, clock.now()))

    def acquire(self, cost: int, clock: Clock) -> float:
        """Wait until a call of `cost` fits, spend it, and return the seconds waited.

        The wait happens outside the lock, then the fit is checked again (another worker may have spent).
        """
        waited = 0.0
        while True:
            with self._held(clock) as model:
                now = clock.now()
                delay = model.delay(cost, now)
                if delay <= _EPSILON:  # float residue after a sleep must not loop forever
                    model.spend(cost, now)
                    return waited
            clock.sleep(delay)
            waited += delay

    def penalise(self, clock: Clock) -> None:
        """Kraken reported an overflow: assume its counter is full, so the next call waits for decay."""
        with self._held(clock) as model:
            self._model = CallCounter(model.tier, level=model.tier.limit, at=clock.now())  # saved on exit

    def level(self, clock: Clock) -> float:
        with self._held(clock) as model:
            return model.level(clock.now())

    def raise_level(self, level: float, clock: Clock) -> None:
        """Take the counter as at least `level` now (another machine's use of the key, handed over)."""
        with self._held(clock) as model:
            now = clock.now()
            if level > model.level(now):
                self._model = CallCounter(model.tier, level=min(level, model.tier.limit), at=now)  # saved on exit


_REGISTRY: dict[tuple[str, str, float, Path | None], SharedCounter] = {}
_REGISTRY_LOCK = threading.Lock()


def counter_for(api_key_id: str, tier: Tier, directory: Path | None = None) -> SharedCounter:
    """The process-wide counter of one key (created on first use); with `directory`, its state lives in
    ``directory/<key id>.state`` and is shared with other processes of this machine."""
    with _REGISTRY_LOCK:
        key = (api_key_id, tier.name, tier.decay_per_second, directory)
        counter = _REGISTRY.get(key)
        if counter is None:
            state = directory / f"{api_key_id}.state" if directory is not None else None
            counter = _REGISTRY[key] = SharedCounter(tier, state_file=state)
        return counter
