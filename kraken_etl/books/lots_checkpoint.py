"""Checkpoints of the lot engine: the state of one asset's lots at the start of a week, so a later run can
start there instead of at the asset's first entry. Pure.

A checkpoint at `at` (a Monday, 00:00 UTC) is the asset's state before any event at or after `at`: its open lots
(`fifo`, `lifo`, `hifo`, `average`), or for `uk` the section 104 pool and what the 30-day rule had already
drawn, from disposals before `at`, on acquisitions at or after it. The engine records one at the start of every
week in which the asset has an event (plus one after its last week); a run resumed from a checkpoint gives the
rows from `at` on exactly as a run from the beginning would (a test compares the two).

Where a run can start (`resume_target`): at the day of the asset's earliest changed event; for `uk` 30 days
before it, because the 30-day rule looks forward: an acquisition matches disposals of the 30 days before it.

`encode`/`decode` turn a state into JSON-friendly values and back (Decimals and moments as text, exactly).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from kraken_etl.books.lots_model import Checkpoint, Method

__all__ = ["UK_LOOKBACK", "WEEK", "Checkpoint", "State", "day_start", "decode", "encode", "resume_target",
           "week_start"]

WEEK = timedelta(days=7)
UK_LOOKBACK = timedelta(days=30)  # the 30-day rule: a disposal is matched with acquisitions of the next 30 days

# A state: the queue methods {"lots": [(acquired_at, amount, cost, entries, cost_assumed, seq, key, count)],
# "last": acquired_at of the pool's latest lot | None, "count": lots added so far}; uk {"pool": (acquired_at,
# amount, cost, cost_assumed) | None, "pool_last": moment | None, "draws": [(acquisition day, quantity)]}.
State = dict[str, Any]


def week_start(moment: datetime) -> datetime:
    """The Monday 00:00 UTC on or before `moment`."""
    day = moment.astimezone(UTC).date() if moment.tzinfo else moment.date()
    return datetime.combine(day - timedelta(days=day.weekday()), time(), UTC)


def day_start(moment: datetime) -> datetime:
    day = moment.astimezone(UTC).date() if moment.tzinfo else moment.date()
    return datetime.combine(day, time(), UTC)


def resume_target(method: Method | str, earliest: datetime) -> datetime:
    """The latest moment a run may start from when `earliest` is the first changed event of an asset: that
    event's UTC day, or 30 days before it for `uk`."""
    start = day_start(earliest)
    return start - UK_LOOKBACK if Method(method) is Method.UK else start


def _text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def encode(method: Method | str, state: State) -> dict[str, Any]:
    """A state as JSON-friendly values (every Decimal and moment as its exact text)."""
    if Method(method) is Method.UK:
        pool = state.get("pool")
        return {"pool": None if pool is None else [_text(v) for v in pool], "pool_last": _text(state.get("pool_last")),
                "draws": [[d.isoformat(), str(q)] for d, q in state.get("draws", [])]}
    return {"lots": [[lot[0].isoformat(), str(lot[1]), str(lot[2]), list(lot[3]), lot[4], lot[5],
                      None if lot[6] is None else str(lot[6]), lot[7]] for lot in state.get("lots", [])],
            "last": _text(state.get("last")), "count": state.get("count", 0)}


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def decode(method: Method | str, data: dict[str, Any]) -> State:
    """The inverse of `encode`."""
    if Method(method) is Method.UK:
        pool = data.get("pool")
        return {"pool": None if pool is None else (datetime.fromisoformat(pool[0]), Decimal(pool[1]),
                                                   Decimal(pool[2]), bool(pool[3])),
                "pool_last": _moment(data.get("pool_last")),
                "draws": [(date.fromisoformat(d), Decimal(q)) for d, q in data.get("draws", [])]}
    return {"lots": [(datetime.fromisoformat(a), Decimal(amount), Decimal(cost), tuple(entries), bool(assumed),
                      int(seq), None if key is None else Decimal(key), int(count))
                     for a, amount, cost, entries, assumed, seq, key, count in data.get("lots", [])],
            "last": _moment(data.get("last")), "count": int(data.get("count", 0))}
