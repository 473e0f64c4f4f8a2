"""The one injected clock for the whole product: the client, the jobs and the simulator.

Everything that waits (the call counter, retry backoff, lockout cool-down, export polling) or stamps a run
reads a `Clock`. `SystemClock` is real time; `ManualClock` moves only when told to (`advance`, or `sleep`,
which advances instead of waiting), so tests never really sleep. This is the only core module allowed to
read the time: it is the seam through which everything else gets it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Anything with `now()` (unix seconds) and `sleep(seconds)`."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A clock that only moves when told to (thread-safe); `sleep` advances it at once."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward.

        Raises:
            ValueError: when `seconds` is negative.
        """
        if seconds < 0:
            raise ValueError("a clock does not run backwards")
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)


def utcnow(clock: Clock) -> datetime:
    """The clock's reading as an aware UTC datetime."""
    return datetime.fromtimestamp(clock.now(), UTC)
