"""Kraken's REST call counter, modelled (Spot REST Rate Limits page).

Each private call adds its cost (the caller passes it in: a stream's is declared on its `StreamSpec`, the
other calls' in `kraken.calls`) to a per-key counter that decays linearly; a call that would push the
counter past the tier's maximum is refused with ``EAPI:Rate limit exceeded``. The client uses `delay()`
to wait *before* such a call; the simulator uses `try_spend()` to enforce the limit. Time is passed in
(seconds, any monotonic origin): no clock here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TierName = Literal["starter", "intermediate", "pro"]


@dataclass(frozen=True, slots=True)
class Tier:
    """A verification tier's counter limits."""

    name: str
    limit: float
    decay_per_second: float

    def scaled(self, factor: float) -> Tier:
        """The same tier with time running `factor` times faster (for tests and benchmarks)."""
        return Tier(self.name, self.limit, self.decay_per_second * factor)


TIERS: dict[str, Tier] = {
    "starter": Tier("starter", 15, 0.33),
    "intermediate": Tier("intermediate", 20, 0.5),
    "pro": Tier("pro", 20, 1.0),
}

def pace_seconds(tier: Tier, calls: int, cost: int, level: float | None = None) -> float:
    """Seconds `calls` calls of `cost` take at the tier's pace from a counter at `level` (default: full, as
    it is during a long walk): the room left under the limit is spent at once, the rest at the decay rate.
    Request latency is not counted."""
    start = tier.limit if level is None else level
    units = calls * cost - max(0.0, tier.limit - start)
    return max(0.0, units) / tier.decay_per_second


class CallCounter:
    """A decaying counter: `level` drops by `decay_per_second` and never below zero.

    Not thread-safe by itself; callers sharing one counter hold a lock around delay+spend.
    """

    __slots__ = ("_at", "_level", "tier")

    def __init__(self, tier: Tier, *, level: float = 0.0, at: float = 0.0) -> None:
        self.tier = tier
        self._level = level
        self._at = at

    def level(self, now: float) -> float:
        """The counter's value at `now`."""
        elapsed = max(0.0, now - self._at)
        return max(0.0, self._level - elapsed * self.tier.decay_per_second)

    def delay(self, cost: int, now: float) -> float:
        """Seconds to wait from `now` before a call of `cost` fits under the limit (0 if it fits now)."""
        excess = self.level(now) + cost - self.tier.limit
        if excess <= 0:
            return 0.0
        return excess / self.tier.decay_per_second

    def spend(self, cost: int, now: float) -> None:
        """Record a call of `cost` made at `now` (even if it overshoots: the server decides)."""
        self._level = self.level(now) + cost
        self._at = max(now, self._at)

    def try_spend(self, cost: int, now: float) -> bool:
        """Spend `cost` if it fits under the limit; False (and nothing spent) if it would exceed."""
        if self.level(now) + cost > self.tier.limit:
            return False
        self.spend(cost, now)
        return True


def handed_over_level(tier: Tier, level: float, elapsed: float, released: bool) -> float:
    """The level a key's counter has `elapsed` seconds after the last machine that used it recorded `level`
    (the hand-over between machines, `jobs.exclusive`). A holder that never released the key (its process
    died mid-run) may have spent up to the limit after it recorded: its counter is taken as full now."""
    if not released:
        return tier.limit
    return max(0.0, level - max(0.0, elapsed) * tier.decay_per_second)
