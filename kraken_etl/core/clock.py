"""The one injected clock for the whole product: the client, the jobs and the simulator.

Everything that waits (the call counter, retry backoff, lockout cool-down, export polling) or stamps a run
reads a `Clock`. `SystemClock` is real time; `ManualClock` moves only when told to (`advance`, or `sleep`,
which advances instead of waiting), so tests never really sleep. This is the only core module allowed to
read the time: it is the seam through which everything else gets it.

A real wait is cancellable: `stop_waits()` (the CLI calls it on Ctrl-C or SIGTERM) wakes every
`SystemClock.sleep` of the process at once, in any thread, and makes it raise `WaitCancelled`, so a retry
backoff or lockout probe in a Prefect task's worker thread does not keep a stopping process alive.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol

from kraken_etl.core.errors import KrakenEtlError

_STOPPING = threading.Event()  # set once: the process is stopping, no wait starts or goes on


class WaitCancelled(KrakenEtlError):
    """A real wait was cut short because the process is stopping (Ctrl-C, SIGTERM)."""

    exit_code = 130


def stop_waits() -> None:
    """Wake every real wait of the process now and make it (and any later one) raise `WaitCancelled`."""
    _STOPPING.set()


@contextmanager
def waits_stop_with_block() -> Iterator[None]:
    """`stop_waits()` when the block is left by an interrupt (KeyboardInterrupt, or an orchestrator's
    termination signal such as Prefect's on SIGTERM: anything not an `Exception`), before it propagates. A
    flow waits on task threads in such a block: its task runner joins them on the way out."""
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, Exception):
            stop_waits()
        raise


class Clock(Protocol):
    """Anything with `now()` (unix seconds) and `sleep(seconds)`."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`, unless the process is stopping.

        Raises:
            WaitCancelled: when `stop_waits` was called before or during the wait.
        """
        if _STOPPING.wait(seconds if seconds > 0 else 0):
            raise WaitCancelled("stopped while waiting (interrupted)")


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
