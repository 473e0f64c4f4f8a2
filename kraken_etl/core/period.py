"""Date ranges as every command reads them: `--from` inclusive, `--to` inclusive, as an accountant reads a period.

`--from 2024-01-01 --to 2024-01-31` is the whole of January: a day given as `--to` runs through the end of
that day. A moment with a time of day (`2024-01-31T12:00:00Z`) is included as written. Either way the
result is one half-open interval `start ≤ t < end` in UTC, which is what the loaders and queries use, and
`Period.describe()` prints it back exactly. Naive values mean UTC. A single cut-off (`reconcile --as-of`)
reads like `--to`: `--as-of 2024-01-31` includes the whole of that day (`as_of_moment`, printed back by
`describe_as_of`). This is the only place the conversion is written; the CLI (`backfill`, `report`,
`reconcile`) and the flows call it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from kraken_etl.core.timeutil import as_utc

_DAY_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")
_TICK = timedelta(microseconds=1)  # the resolution of a stored time: `t ≤ T` is `t < T + 1 µs`


class PeriodError(ValueError):
    """A range that cannot be used: unreadable, ending before it starts, or starting in the future."""

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True, slots=True)
class Period:
    """The half-open UTC interval ``start ≤ t < end`` a `--from`/`--to` pair resolved to."""

    start: datetime
    end: datetime

    @classmethod
    def of_days(cls, first: date, last: date) -> Period:
        """From the start of day `first` through the end of day `last` (both inclusive)."""
        return cls(datetime(first.year, first.month, first.day, tzinfo=UTC),
                   datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1))

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The last UTC day the period touches (inclusive)."""
        return (self.end - _TICK).date()

    def describe(self) -> str:
        """``2024-01-01T00:00:00Z ≤ t < 2024-02-01T00:00:00Z`` (exactly what was resolved)."""
        return f"{_iso(self.start)} ≤ t < {_iso(self.end)}"


def _iso(moment: datetime) -> str:
    text = moment.astimezone(UTC).isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def _read(text: str, option: str) -> datetime:
    try:
        return as_utc(text)
    except ValueError:
        raise PeriodError(f"{text!r} is not a date (YYYY-MM-DD or ISO 8601)", option) from None


def bound_from(text: str) -> datetime:
    """The first moment of `--from` (a day starts at 00:00 UTC).

    Raises:
        PeriodError: when `text` is not a date or ISO 8601 moment.
    """
    return _read(text, "--from")


def bound_to(text: str) -> datetime:
    """The exclusive end of an inclusive `--to`: the next midnight after a day, one tick after a moment.

    Raises:
        PeriodError: when `text` is not a date or ISO 8601 moment.
    """
    moment = _read(text, "--to")
    return moment + (timedelta(days=1) if _DAY_ONLY.match(text) else _TICK)


def as_of_moment(text: str) -> datetime:
    """The last moment an inclusive `--as-of` includes (what is kept is `t ≤ moment`): a day runs through its
    end (23:59:59.999999 UTC), a moment is taken as written.

    Raises:
        PeriodError: when `text` is not a date or ISO 8601 moment (option `--as-of`).
    """
    moment = _read(text, "--as-of")
    return moment + timedelta(days=1) - _TICK if _DAY_ONLY.match(text) else moment


def describe_as_of(moment: datetime) -> str:
    """``t ≤ 2024-01-31T23:59:59.999999Z`` (exactly what was resolved)."""
    return f"t ≤ {_iso(moment)}"


def resolve_period(date_from: str | datetime, date_to: str | datetime, *, now: datetime) -> Period:
    """`--from` (inclusive) and `--to` (inclusive) as one half-open interval, checked against `now`.

    Datetimes (already resolved moments, e.g. `Period.start`/`Period.end` passed on) are taken as they are.

    Raises:
        PeriodError: unreadable bounds, a range that ends before it starts (or is empty), or one that
            starts after `now`; `option` names the offending option.
    """
    start = as_utc(date_from) if isinstance(date_from, datetime) else bound_from(date_from)
    end = as_utc(date_to) if isinstance(date_to, datetime) else bound_to(date_to)
    if start > now:
        now_text = _iso(now.replace(microsecond=0))
        raise PeriodError(f"the range starts in the future ({_iso(start)}; now is {now_text})", "--from")
    if end <= start:
        raise PeriodError(f"the range ends before it starts: {_iso(start)} ≤ t < {_iso(end)}", "--to")
    return Period(start, end)
