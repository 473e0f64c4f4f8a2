"""The interpreter's thread switch interval, lowered while a job whose threads hand work to each other runs.

CPython lets a CPU-bound thread keep the GIL for up to the switch interval (5 ms by default) before a
waiting thread gets it. The listener's committer and a file load's COPY stream each need the GIL for a
moment after every database round trip; behind a busy parsing thread they waited the whole interval
each time (measured: docs/listener.md, docs/backfill.md). Holds stack: the interval is the smallest one
asked for while any hold is taken, and the interpreter's own value comes back when the last one ends,
whatever order they end in.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holds: list[float] = []  # the interval each running hold asked for
_before: list[float] = []  # the interpreter's own value, while any hold is taken


def _apply() -> None:
    sys.setswitchinterval(min([_before[0], *_holds]) if _holds else _before.pop())


def hold_switch_interval(seconds: float) -> Callable[[], None]:
    """Lower the switch interval to `seconds` (never raise it) until the returned function is called
    (calling it again does nothing)."""
    with _lock:
        if not _holds:
            _before[:] = [sys.getswitchinterval()]
        _holds.append(seconds)
        _apply()
    released = False

    def release() -> None:
        nonlocal released
        with _lock:
            if released:
                return
            released = True
            _holds.remove(seconds)
            _apply()

    return release


@contextmanager
def lowered_switch_interval(seconds: float) -> Iterator[None]:
    """``with lowered_switch_interval(0.0005):`` — `hold_switch_interval` for the block."""
    release = hold_switch_interval(seconds)
    try:
        yield
    finally:
        release()
