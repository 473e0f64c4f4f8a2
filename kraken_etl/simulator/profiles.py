"""Account profiles: which shapes of real Kraken accounts the generator writes besides the default mix.

A profile is a share of events and the weighted events it draws them from. ``default`` adds nothing and
draws no random number, so a default account is the same for a seed whatever other profiles exist.
Each event is a function ``(generator, batch, time, bases, mean_gap) -> time`` that writes whole,
balanced events through `Generator.leg` (and the trade/order writers), like the default events.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kraken_etl.simulator import shapes_margin, shapes_rare, shapes_retail, shapes_schedule

if TYPE_CHECKING:
    from kraken_etl.simulator.generator import GeneratedBatch, Generator

Event = Callable[["Generator", "GeneratedBatch", int, tuple[int, int, int], int], int]
# Run before every event: `(generator, batch, previous event's end, next event's time, bases) -> time`;
# writes what fell due in between (margin rollovers and position closes) and returns the event's time.
Before = Callable[["Generator", "GeneratedBatch", int, int, tuple[int, int, int]], int]
Finish = Callable[["Generator", "GeneratedBatch", int, tuple[int, int, int]], int]


@dataclass(frozen=True, slots=True)
class Profile:
    """A share of an account's events and the weighted shapes they are drawn from."""

    name: str
    share: float = 0.0  # fraction of events drawn from `events` instead of the default mix
    events: tuple[tuple[float, Event], ...] = ()
    before: Before | None = None  # what falls due between events (None: nothing, no random draw)
    # run once at the end of a built history (not of `/_sim/advance`): `(generator, batch, time, bases) -> time`
    finish: Finish | None = None
    # dated: its shapes follow the calendar (`Generator.after`/`before`), so the store places its history
    # exactly at `end_time - history_days` on (simulator/store.py)
    dated: bool = False

    def pick(self, rng: random.Random) -> Event:
        """One of `events`, by weight."""
        total = sum(weight for weight, _ in self.events)
        r = rng.random() * total
        for weight, event in self.events:
            r -= weight
            if r < 0:
                return event
        return self.events[-1][1]


def profile(name: str) -> Profile:
    """The profile called `name` (a name from `config.PROFILES`)."""
    return _PROFILES[name]


_PROFILES: dict[str, Profile] = {
    "default": Profile("default"),
    "retail-2019-2025": Profile("retail-2019-2025", 0.35, (
        (4.0, shapes_retail.buy_crypto),
        (3.0, shapes_retail.multi_wallet_sell),
        (1.5, shapes_retail.earn_migration),
        (2.0, shapes_retail.other_types),
        (0.5, shapes_retail.delisting_conversion),
        (1.0, shapes_rare.dust_conversion),
        (0.6, shapes_rare.adjustment),
        (2.0, shapes_rare.opt_in_rewards),
        (0.6, shapes_rare.sale),
        (0.5, shapes_rare.custody_transfer),
        (1.5, shapes_rare.nft),
        (1.0, shapes_rare.hybrid_earn_withdrawal),
    ), before=shapes_schedule.due, dated=True),
    "margin-trader": Profile("margin-trader", share=shapes_margin.SHARE, events=shapes_margin.EVENTS,
                             before=shapes_margin.due, finish=shapes_margin.finish),
}
