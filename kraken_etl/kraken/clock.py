"""The injected clock (STYLE §14, §32): `now()` in unix seconds and `sleep()`.

Everything that waits (the call counter, retry backoff, lockout cool-down) or stamps a run goes through a
`Clock`, so tests hand in a fake whose `sleep` advances `now` and never really sleep.
"""

from __future__ import annotations

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


def utcnow(clock: Clock) -> datetime:
    """The clock's reading as an aware UTC datetime."""
    return datetime.fromtimestamp(clock.now(), UTC)
