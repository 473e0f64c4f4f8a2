"""Progress of a long REST walk in plain text: rows done of the total, and the time left at the tier's pace.

The time left is the call counter's arithmetic (`core.callcounter.pace_seconds`): the pages still to read,
each costing the stream's call cost, at the key's decay rate (a long walk keeps the counter full, so the
burst is already spent). Request latency is not counted, so on a fast tier the real time may be longer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kraken_etl.core.callcounter import Tier, pace_seconds
from kraken_etl.jobs.streams import PAGE_SIZE


def duration_text(seconds: float) -> str:
    """``2h 05m``, ``4m 10s``, ``12s``."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


@dataclass(frozen=True, slots=True)
class WalkPace:
    """One stream's walk: how many rows it holds and how fast the key may read them."""

    stream: str
    total: int
    tier: Tier
    cost: int
    page_size: int = PAGE_SIZE

    def seconds_left(self, done: int) -> float:
        pages = math.ceil(max(0, self.total - done) / self.page_size)
        return pace_seconds(self.tier, pages, self.cost)

    def line(self, done: int) -> str:
        """``ledgers: 6,000 of 20,000 rows (30%), about 1m 10s left at the starter tier's pace``."""
        done = min(done, self.total)
        share = f" ({done * 100 // self.total}%)" if self.total else ""
        return (f"{self.stream}: {done:,} of {self.total:,} rows{share}, about "
                f"{duration_text(self.seconds_left(done))} left at the {self.tier.name} tier's pace")
