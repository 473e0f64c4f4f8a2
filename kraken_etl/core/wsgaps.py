"""Pure gap logic of the listener: sequence tracking per channel, and reconnect backoff with jitter.

Kraken's v2 `sequence` is a per-subscription counter (Kraken's WebSocket v2 docs): a snapshot starts a subscription
(sequence restarts), then every update must be the previous + 1. A jump means messages were lost on the
way and the interval must be read again from REST. A repeat (or a step back) is a replay: harmless,
because storage is idempotent, and reported as such.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SequenceGap:
    """Messages `expected` .. `got - 1` of `channel` never arrived."""

    channel: str
    expected: int
    got: int

    @property
    def missing(self) -> int:
        return self.got - self.expected


@dataclass(slots=True)
class SequenceTracker:
    """The last sequence seen per channel of one connection."""

    last: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget every channel (a new connection starts new subscriptions)."""
        self.last.clear()

    def observe(self, channel: str, kind: str | None, sequence: int | None) -> SequenceGap | None:
        """Record one data message; a gap when its sequence jumps past the previous + 1.

        A snapshot (or the first message of a channel) starts the count; messages without a sequence
        are not tracked.
        """
        if sequence is None:
            return None
        previous = self.last.get(channel)
        if kind == "snapshot" or previous is None:
            self.last[channel] = sequence
            return None
        if sequence <= previous:  # a replay: nothing new, keep the high-water mark
            return None
        self.last[channel] = sequence
        if sequence > previous + 1:
            return SequenceGap(channel, previous + 1, sequence)
        return None


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n)) seconds,
    never less than `floor`."""

    base: float = 0.5
    cap: float = 30.0
    floor: float = 0.05

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before reconnect attempt `attempt` (0 = the first retry)."""
        ceiling = min(self.cap, self.base * (2 ** max(0, attempt)))
        return max(self.floor, rng.uniform(0, ceiling))
