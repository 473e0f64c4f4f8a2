"""Fault injection: a spec parsed from ``--faults`` (or ``POST /_sim/faults``) and its runtime state.

Spec syntax: comma-separated ``name=value`` pairs, e.g.
``http_5xx=0.05,service_unavailable=0.05,rate_limit_storm=3,count_drift=1,seed=7``.
Rates are probabilities per request in [0, 1]; counts are "the next N …" budgets or how many records to
affect. Every random choice comes from ``random.Random(seed)``, drawn in a fixed order per request, so a
given spec and request sequence always produce the same faults. The table of names is `FIELDS`; the
documentation (docs/simulator.md) repeats it.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass, field
from typing import Any

# name -> (kind, meaning); kind is "rate" (0..1), "count" (int >= 0) or "seconds" (float >= 0)
FIELDS: dict[str, tuple[str, str]] = {
    "seed": ("count", "seed of the fault RNG and of which records the discrepancy faults pick"),
    "http_5xx": ("rate", "answer with an HTML 500/502/503/504/520 page instead of the API"),
    "hang": ("rate", "hold the response for hang_seconds, then answer 504"),
    "hang_seconds": ("seconds", "how long a hung response hangs (default 30)"),
    "service_unavailable": ("rate", 'answer {"error": ["EService:Unavailable"]}'),
    "service_busy": ("rate", 'answer {"error": ["EService:Busy"]}'),
    "truncated_json": ("rate", "cut the JSON body in half"),
    "rate_limit_storm": ("count", "refuse the next N private calls with EAPI:Rate limit exceeded"),
    "count_drift": ("count", "before each of the next N paged calls with ofs > 0, add new entries"),
    "drift_entries": ("count", "ledger entries added per count_drift event (default 3)"),
    "export_stuck": ("count", "the next N exports stay in Processing forever"),
    "corrupt_zip": ("count", "the next N RetrieveExport answers are a corrupt zip"),
    "ws_drop": ("count", "abruptly drop each WS connection after N messages (0 = never)"),
    "ws_seq_gap": ("count", "skip one sequence number every N channel messages (0 = never)"),
    "ws_lose": ("count", "lose every Nth channel message: never sent, its sequence number used (0 = never)"),
    "hide_ledger": ("count", "N non-trade ledger entries are hidden from REST (truth keeps them)"),
    "missing_leg": ("count", "N trades have one ledger leg hidden from REST Ledgers"),
    "balance_drift": ("count", "N assets' Balance/BalanceEx differ from the ledger"),
    "vol_exec_mismatch": ("count", "N closed orders report a vol_exec that disagrees with their trades"),
    "leg_amount": ("count", "N trades have a base leg whose REST amount differs from the trade's vol"),
    "altered_balance": ("count", "N spot ledger entries report a REST balance off their chain (next row is right)"),
    "trade_balance_skew": ("count", "TradeBalance values one held asset (picked by seed) N % above its price"),
    "hide_rollover": ("count", "N margin rollover entries are hidden from REST (of open positions first)"),
    "position_mismatch": ("count", "N open positions report 0.0001 more volume in OpenPositions than traded"),
    "candle_skew": ("count", "OHLC serves one pair's candles overlapping the hour after the faults were set N % high"),
}


class FaultSpecError(ValueError):
    """A fault spec that cannot be parsed."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Which faults to inject (all off by default)."""

    seed: int = 0
    http_5xx: float = 0.0
    hang: float = 0.0
    hang_seconds: float = 30.0
    service_unavailable: float = 0.0
    service_busy: float = 0.0
    truncated_json: float = 0.0
    rate_limit_storm: int = 0
    count_drift: int = 0
    drift_entries: int = 3
    export_stuck: int = 0
    corrupt_zip: int = 0
    ws_drop: int = 0
    ws_seq_gap: int = 0
    ws_lose: int = 0
    hide_ledger: int = 0
    missing_leg: int = 0
    balance_drift: int = 0
    vol_exec_mismatch: int = 0
    leg_amount: int = 0
    altered_balance: int = 0
    trade_balance_skew: int = 0
    candle_skew: int = 0
    hide_rollover: int = 0
    position_mismatch: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The spec as a plain dict (for the admin endpoint)."""
        return dataclasses.asdict(self)


def _coerce(name: str, value: object) -> int | float:
    kind = FIELDS[name][0]
    try:
        if kind == "count":
            number: int | float = int(str(value))
        else:
            number = float(str(value))  # float-ok: a fault rate or duration, not money
    except ValueError as exc:
        raise FaultSpecError(f"fault {name}: {value!r} is not a number") from exc
    if number < 0 or (kind == "rate" and number > 1):
        raise FaultSpecError(f"fault {name}: {value!r} out of range")
    return number


def fault_spec_from_mapping(values: dict[str, Any]) -> FaultSpec:
    """Build a spec from a name→value mapping (JSON body of ``POST /_sim/faults``).

    Raises:
        FaultSpecError: on an unknown name or a bad value.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise FaultSpecError(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    return FaultSpec(**{k: _coerce(k, v) for k, v in values.items()})  # type: ignore[arg-type]


def parse_fault_spec(text: str | None) -> FaultSpec:
    """Parse ``name=value,name=value`` (empty or None → no faults).

    Raises:
        FaultSpecError: on syntax errors, unknown names or bad values.
    """
    values: dict[str, str] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise FaultSpecError(f"fault {part!r}: expected name=value")
        values[name.strip()] = value.strip()
    return fault_spec_from_mapping(values)


@dataclass(slots=True)
class FaultState:
    """The live counters and RNG behind a spec (replaced whole when the spec changes)."""

    spec: FaultSpec
    rng: random.Random = field(init=False)
    storm_left: int = field(init=False)
    drift_left: int = field(init=False)
    stuck_left: int = field(init=False)
    corrupt_left: int = field(init=False)
    lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.spec.seed)
        self.storm_left = self.spec.rate_limit_storm
        self.drift_left = self.spec.count_drift
        self.stuck_left = self.spec.export_stuck
        self.corrupt_left = self.spec.corrupt_zip

    def draw_transport(self) -> str | None:
        """One request's transport-level fate: "5xx", "hang", "unavailable", "busy", "truncate" or None.

        Draws every rate in a fixed order (even the zero ones) so the sequence stays deterministic.
        """
        s = self.spec
        with self.lock:
            draws = [self.rng.random() for _ in range(5)]
        for draw, rate, name in zip(
            draws,
            (s.http_5xx, s.hang, s.service_unavailable, s.service_busy, s.truncated_json),
            ("5xx", "hang", "unavailable", "busy", "truncate"),
            strict=True,
        ):
            if draw < rate:
                return name
        return None

    def pick_status(self) -> int:
        """Which 5xx status to send."""
        with self.lock:
            return self.rng.choice((500, 502, 503, 504, 520))

    def take(self, budget: str) -> bool:
        """Consume one unit of a "next N" budget (``storm``, ``drift``, ``stuck``, ``corrupt``)."""
        attr = f"{budget}_left"
        with self.lock:
            left: int = getattr(self, attr)
            if left <= 0:
                return False
            setattr(self, attr, left - 1)
            return True
