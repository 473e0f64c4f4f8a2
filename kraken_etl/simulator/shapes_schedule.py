"""The retail profile's schedule: every shape its history can hold, at least once, whatever the seed.

The profile's random events draw the shapes by weight, so a short history may miss one. The schedule (the
profile's `before` hook, simulator/profiles.py) writes each shape once more when the history's calendar passes
its date: the dated shapes on a day inside the period they existed in (opt-in rewards before Earn, NFTs while
the marketplace was open, the Earn migration after 2023-11-15, …), the others at fixed fractions of the
history. A history that does not cover a dated shape's day (one that starts after it) holds none of it: an
account opened in 2026 has no opt-in rewards.

A step retries its shape a second later (up to `TRIES` times) until it wrote a row: a shape can decline (an
empty balance), never the schedule. The schedule exists only while the store builds a dated history
(`gen.state["plan"]`, set and removed by simulator/store.py); `/_sim/advance` runs no schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from kraken_etl.simulator import shapes_rare as rare
from kraken_etl.simulator import shapes_retail as retail
from kraken_etl.simulator.shapes_rare import day

if TYPE_CHECKING:
    from kraken_etl.simulator.generator import GeneratedBatch, Generator

TICKS = 10_000_000
TRIES = 4
Step = Callable[["Generator", "GeneratedBatch", int, tuple[int, int, int], int], int]

# (day, shape): dated steps, in calendar order
DATED: tuple[tuple[int, Step], ...] = (
    (day(2021, 1, 5), partial(retail.other_types, which="stake_eth")),
    *((day(2021, 2, 1) + i * TICKS, partial(rare.opt_in_rewards, mirror_at=i, step="in")) for i in range(4)),
    *((day(2021, 9, 1) + i * TICKS, partial(rare.opt_in_rewards, mirror_at=i, step="reward")) for i in range(4)),
    (day(2022, 1, 5), partial(retail.earn_migration)),  # legacy DOT staking (DOT.S) before Earn
    *((day(2022, 9, 1) + i * TICKS, partial(rare.opt_in_rewards, mirror_at=i, step="out")) for i in (0, 2)),
    (day(2023, 1, 10), partial(rare.nft, step="buy")),
    (day(2023, 5, 10), partial(rare.nft, step="sell")),
    (day(2023, 6, 1), partial(retail.other_types, which="eth2")),
    (day(2023, 9, 10), partial(rare.nft, step="rebate")),
    (day(2024, 1, 10), partial(retail.earn_migration)),
    *((day(2024, 2, 1) + i * TICKS, partial(rare.opt_in_rewards, mirror_at=i, step="out")) for i in (1, 3)),
    (day(2024, 6, 10), partial(rare.hybrid_earn_withdrawal, ensure=True)),
    (day(2025, 5, 1), retail.delisting_conversion),
)
# (fraction of the history, shape): undated steps
ANYTIME: tuple[tuple[float, Step], ...] = (
    (0.15, retail.buy_crypto),
    (0.2, retail.multi_wallet_sell),
    (0.22, retail.multi_wallet_sell),  # the first may only have allocated to Earn
    (0.3, rare.dust_conversion),
    (0.31, rare.dust_conversion),  # the first may only have left the dust
    (0.4, rare.adjustment),
    (0.5, rare.sale),
    (0.6, rare.custody_transfer),
    (0.7, partial(retail.other_types, which="invite bonus")),
    (0.75, partial(retail.other_types, which="dividend")),
    (0.8, partial(retail.other_types, which="airdrop")),
)


def plan(origin: int, end: int) -> list[tuple[int, int, Step]]:
    """The steps of a history from `origin` to `end` (absolute ticks), latest first (popped from the end)."""
    span = end - origin
    steps = [(at, i, step) for i, (at, step) in enumerate(DATED) if origin < at < end]
    steps += [(origin + int(span * share), len(DATED) + i, step) for i, (share, step) in enumerate(ANYTIME)]
    return sorted(steps, reverse=True)


def due(gen: Generator, b: GeneratedBatch, prev: int, t: int, bases: tuple[int, int, int]) -> int:
    """Write the steps whose day the history reached by `t`; returns the next event's time."""
    steps: list[tuple[int, int, Step]] | None = gen.state.get("plan")
    if not steps or gen.origin is None:
        return t
    while steps and gen.origin + t >= steps[-1][0]:
        _, _, step = steps.pop()
        for _ in range(TRIES):
            before = len(b.ledger)
            t = step(gen, b, t, bases, TICKS) + TICKS
            if len(b.ledger) > before:
                break
    return t
