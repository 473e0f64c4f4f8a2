"""Windows are pure values, and the one place Kraken's start/end exclusivity is translated.

Our domain: ``Window(start, end)`` is half-open, ``start <= time < end``; ``start=None`` means "from the
beginning of the history". Kraken's history endpoints (Ledgers, TradesHistory, ClosedOrders) take integer
unix seconds (the schema says integer; ccxt#23443) with ``start`` EXCLUSIVE and ``end`` INCLUSIVE
(Kraken's history endpoints). `to_kraken_params` asks for the smallest whole-second interval covering the
window:

    start_param = ceil(start) - 1     → Kraken returns time > ceil(start) - 1, which includes every time >= start
    end_param   = ceil(end)           → Kraken returns time <= ceil(end), which includes every time < end

So Kraken may return a little more than the window (up to one second on each side, e.g. an entry at
exactly `end`). That is harmless: loads are idempotent upserts and adjacent windows overlap anyway. The
interval Kraken will actually return is `kraken_bounds` — validation uses it for "time in window".

Incremental windows start `lag` before the bookmark (a closed, overlapping start: an entry that became
visible late is still read) and end at the signpost, "now" captured once at run start and truncated to a
whole second, so `end` is fixed while paging (frozen window) and equals the bookmark written afterwards.

Where a stream without a bookmark starts (`start_point`): `--since` when given, else where the stored rows
of that stream end (the latest row's time minus the lag, whatever loaded them, listener gap fills aside),
else the beginning of the history.

A window holding more rows than a bound is walked as consecutive sub-windows, oldest first (`sub_window_cut`
says where each ends). Cuts fall on whole seconds, so a set of rows sharing one timestamp is never split
between two sub-windows: Kraken's `end` is an integer and inclusive, and the next sub-window's `start`
(exclusive) is one second earlier than that end, so the second just before a cut is read by both
sub-windows (idempotent loads make that harmless) and no second is read by neither.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from kraken_etl.core.timeutil import from_unix, to_unix


@dataclass(frozen=True, slots=True)
class Window:
    """``start <= time < end`` (UTC-aware); ``start=None``: from the beginning."""

    start: datetime | None
    end: datetime

    def __post_init__(self) -> None:
        if self.end.tzinfo is None or (self.start is not None and self.start.tzinfo is None):
            raise ValueError("window bounds must be timezone-aware")
        if self.start is not None and self.start >= self.end:
            raise ValueError(f"empty window: start {self.start} >= end {self.end}")


def signpost(now: datetime) -> datetime:
    """The end of an incremental window: `now` truncated to the whole second."""
    return now.replace(microsecond=0)


def plan_incremental(bookmark: datetime | None, signpost_at: datetime, lag: timedelta) -> Window:
    """The next incremental window: from ``bookmark - lag`` (or the beginning) to the signpost.

    Raises:
        ValueError: when the bookmark is ahead of the signpost by more than the lag (clock trouble).
    """
    if bookmark is None:
        return Window(None, signpost_at)
    start = bookmark - lag
    if start >= signpost_at:
        raise ValueError(f"bookmark {bookmark} is ahead of now {signpost_at}: check the clock")
    return Window(start, signpost_at)


def plan_backfill(start: datetime, end: datetime, chunk: timedelta) -> list[Window]:
    """Consecutive windows of at most `chunk` covering ``[start, end)`` (oldest first).

    Raises:
        ValueError: on an empty range or a non-positive chunk.
    """
    if chunk <= timedelta(0):
        raise ValueError("chunk must be positive")
    if start >= end:
        raise ValueError("backfill range is empty")
    windows = []
    cursor = start
    while cursor < end:
        nxt = min(cursor + chunk, end)
        windows.append(Window(cursor, nxt))
        cursor = nxt
    return windows


def _ceil_seconds(moment: datetime) -> int:
    return math.ceil(to_unix(moment))


def to_kraken_params(window: Window) -> dict[str, int]:
    """Kraken's ``start`` (exclusive) / ``end`` (inclusive) integer seconds covering `window`."""
    params = {"end": _ceil_seconds(window.end)}
    if window.start is not None:
        params["start"] = _ceil_seconds(window.start) - 1
    return params


def kraken_bounds(window: Window) -> tuple[Decimal | None, Decimal]:
    """(exclusive low, inclusive high) in unix seconds: what Kraken returns for `to_kraken_params`."""
    params = to_kraken_params(window)
    low = params.get("start")
    return (Decimal(low) if low is not None else None), Decimal(params["end"])



StartReason = Literal["bookmark", "since", "stored data", "epoch"]


@dataclass(frozen=True, slots=True)
class StartPoint:
    """Where a stream's next incremental window starts, and why."""

    start: datetime | None  # None: the beginning of the history
    reason: StartReason

    def describe(self) -> str:
        """One line for people: ``2026-11-01 08:00:00+00:00 (bookmark)``."""
        return f"{self.start.isoformat(sep=' ') if self.start else 'the beginning'} ({self.reason})"


def start_point(bookmark: datetime | None, since: datetime | None, stored_end: datetime | None,
                lag: timedelta) -> StartPoint:
    """The start of the next incremental window: the bookmark (minus the lag) wins; without one, `since`;
    without it, the latest stored row's time minus the lag; else the beginning.

    The lag re-reads rows that share the latest stored row's timestamp or became visible late: idempotent
    loads make the overlap harmless, and a start at the latest row itself could miss rows of that second.
    """
    if bookmark is not None:
        return StartPoint(bookmark - lag, "bookmark")
    if since is not None:
        return StartPoint(since, "since")
    if stored_end is not None:
        return StartPoint(stored_end - lag, "stored data")
    return StartPoint(None, "epoch")


def window_from(start: StartPoint, signpost_at: datetime) -> Window:
    """The incremental window from `start` to the signpost.

    Raises:
        ValueError: when the start is not before the signpost (clock trouble).
    """
    if start.start is not None and start.start >= signpost_at:
        raise ValueError(f"{start.reason} start {start.start} is not before now {signpost_at}: check the clock")
    return Window(start.start, signpost_at)


def sub_window_cut(window: Window, newest_of_oldest: Decimal) -> datetime:
    """Where the oldest sub-window of `window` ends (a whole second; `window.end` means: no cut).

    `newest_of_oldest` is the time (unix seconds) of the row at offset ``count - bound`` of `window`'s
    newest-first pages: the newest of its oldest `bound` rows. The sub-window ``[window.start, cut)`` asks
    Kraken for ``time <= cut``; with ``cut = ceil(t) - 1`` every such row is strictly older than `t`, so it
    holds fewer than `bound` rows. When those rows all sit in the window's first second (more than `bound`
    rows in one second), the cut is the first whole second after the start: that sub-window holds more than
    the bound, the only way not to split rows of one timestamp.
    """
    cut = math.ceil(newest_of_oldest) - 1
    low = math.floor(to_unix(window.start)) + 1 if window.start is not None else None
    if low is not None and cut < low:
        cut = low
    moment = from_unix(Decimal(cut))
    return min(moment, window.end)
