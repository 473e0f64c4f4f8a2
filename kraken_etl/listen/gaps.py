"""The gaps of one listener session: each recorded in `listener_gap` the moment it is known (a crash keeps it),
then handed to the REST filler (`listen.gapfill`) `fill_delay` seconds after the first one still waiting,
so gaps close together are filled in one go."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from kraken_etl.core.clock import Clock
from kraken_etl.db import ws as store
from kraken_etl.db.runs import Engine
from kraken_etl.listen.batch import as_datetime
from kraken_etl.listen.gapfill import GapFiller
from kraken_etl.listen.stats import ListenStats

log = logging.getLogger(__name__)
EVENT_LOOKBACK = timedelta(minutes=10)  # how far a message's event time may lag its receipt


def gap_start(last_seen: datetime, newest_events: list[datetime]) -> datetime:
    """Where a gap after `last_seen` starts: messages still on their way when the connection died can carry
    event times before the last receipt, so the newest event seen on each channel bounds it too (channels
    quiet for more than `EVENT_LOOKBACK` are ignored)."""
    recent = [t for t in newest_events if t >= last_seen - EVENT_LOOKBACK]
    return min([last_seen, *recent])


class GapRecorder:
    """Records a session's gaps and hands them to its filler when they are due."""

    __slots__ = ("_ids", "account", "clock", "due", "engine", "fill_delay", "filler", "stats")

    def __init__(self, *, engine: Engine, account: str, clock: Clock, fill_delay: float,
                 stats: ListenStats) -> None:
        self.engine, self.account, self.clock, self.fill_delay, self.stats = engine, account, clock, fill_delay, stats
        self.filler: GapFiller | None = None  # set once the session has one
        self._ids: list[int] = []
        self.due: float | None = None  # when the gaps waiting are handed over (None: none waiting)

    def record(self, kind: str, start: datetime, end: datetime, *, channel: str | None = None,
               expected: int | None = None, got: int | None = None) -> None:
        """Store one gap (an empty interval is widened to a microsecond) and queue it for filling."""
        if end <= start:
            end = start + timedelta(microseconds=1)
        with self.engine.begin() as conn:
            gap_id = store.insert_gap(conn, self.account, self.stats.session_id, kind,
                                      as_datetime(self.clock.now()), start, end, channel=channel,
                                      expected=expected, got=got)
        self.stats.gaps += 1
        log.info("%s: %s gap %s..%s recorded", self.account, kind, start, end)
        self._ids.append(gap_id)
        if self.due is None:
            self.due = self.clock.now() + self.fill_delay

    def hand_over(self) -> None:
        """Give the waiting gaps to the filler once they are due (those left at a stop stay pending in the
        table for the next start)."""
        if not self._ids or self.due is None or self.clock.now() < self.due:
            return
        if self.filler is not None:
            self.filler.submit(self._ids)
        self._ids, self.due = [], None
