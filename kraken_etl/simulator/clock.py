"""The simulator's injectable clock: real time by default, a manual one for tests.

Export state transitions, call-counter decay, token expiry and lockouts all read `Clock.now()`; a test
hands in a `ManualClock` and moves it forward instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Anything with `now()` returning unix seconds."""

    def now(self) -> float:
        """Current unix time in seconds."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        """Current unix time in seconds."""
        return time.time()


class ManualClock:
    """A clock that only moves when told to (thread-safe)."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        """The clock's current reading."""
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
