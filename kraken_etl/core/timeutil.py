"""Time is UTC-aware and exact.

Kraken's REST times are unix seconds with a variable fraction (``1688464484.1787``, up to 7 digits, once
integers, sometimes strings); OrderAmends uses integer nanoseconds; exports write ``YYYY-MM-DD HH:MM:SS``
(ledgers) or with a 4-digit fraction (trades); WebSocket v2 writes RFC 3339 with microseconds. Every one of
them is converted here and nowhere else. PostgreSQL keeps microseconds, so the raw value is stored beside
the timestamp for anything finer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from kraken_etl.core.money import D

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = Decimal("0.000001")


def from_unix(value: str | Decimal | int) -> datetime:
    """Unix seconds (with any fraction) to an aware UTC datetime, truncated to microseconds.

    Raises:
        NotADecimal: when `value` is not a number (floats are refused too).
    """
    seconds = D(value)
    micros = int((seconds / _MICRO).to_integral_value(rounding=ROUND_FLOOR))
    return EPOCH + timedelta(microseconds=micros)


def from_unix_ns(value: int | str) -> datetime:
    """Unix nanoseconds (OrderAmends' ``timestamp``) to an aware UTC datetime (microsecond precision)."""
    return EPOCH + timedelta(microseconds=int(value) // 1000)


def to_unix(moment: datetime) -> Decimal:
    """An aware datetime to exact unix seconds (Decimal, microsecond fraction)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in kraken-etl is UTC-aware")
    delta = moment - EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return Decimal(micros) * _MICRO


def parse_export_time(text: str) -> datetime:
    """``2024-03-19 19:43:31.6798`` or ``2024-03-19 19:43:31`` (UTC, as Kraken's exports write it)."""
    text = text.strip()
    if "." in text:
        head, frac = text.split(".", 1)
        frac = (frac + "000000")[:6]
        text = f"{head}.{frac}"
        fmt = "%Y-%m-%d %H:%M:%S.%f"
    else:
        fmt = "%Y-%m-%d %H:%M:%S"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def parse_rfc3339(text: str) -> datetime:
    """WebSocket v2 timestamps (``2023-09-22T10:33:05.709950Z``) to aware UTC datetimes."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a zone: {text!r}")
    return moment.astimezone(UTC)


def as_utc(moment: datetime | str) -> datetime:
    """An aware UTC datetime from a datetime or ISO 8601 text (a date, ``…Z`` or an offset accepted).

    A naive value means UTC. The CLI, the flows and the jobs read every user-given moment through this.

    Raises:
        ValueError: when the text is not an ISO 8601 date or time.
    """
    if isinstance(moment, str):
        text = moment.strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{text!r} is not a date or time (YYYY-MM-DD or ISO 8601)") from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
