"""Field readers shared by the REST parsers: tolerant of Kraken's documented quirks, strict on contracts.

Quirks accepted (seen in Kraken's answers): numbers as strings or JSON numbers (decoded as Decimal, never
float), `count`/`userref` as strings, `refid` null or the string ``"None"``, times as numbers, strings,
integers, epoch milliseconds or nanoseconds. Anything else that breaks the contract raises
`MalformedRecord(stream, record_id, field, value)`; the pipeline quarantines that record with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.core.money import D, NotADecimal
from kraken_etl.core.timeutil import from_unix


class MalformedRecord(KrakenEtlError, ValueError):
    """A Kraken record that breaks the documented contract (missing field, unparseable value)."""

    def __init__(self, stream: str, record_id: str | None, field: str, value: object, why: str = "") -> None:
        self.stream = stream
        self.record_id = record_id
        self.field = field
        self.value = value
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        reason = why or "invalid value"
        super().__init__(f"{stream} {record_id}: field {field!r} {reason}: {shown}")


_MISSING = object()


class Reader:
    """Reads typed fields out of one raw record, raising `MalformedRecord` that names the field."""

    __slots__ = ("raw", "record_id", "stream")

    def __init__(self, stream: str, record_id: str | None, raw: Mapping[str, Any]) -> None:
        if not isinstance(raw, Mapping):
            raise MalformedRecord(stream, record_id, "(record)", raw, "is not an object")
        self.stream = stream
        self.record_id = record_id
        self.raw = raw

    def fail(self, field: str, value: object, why: str = "") -> MalformedRecord:
        return MalformedRecord(self.stream, self.record_id, field, value, why)

    def get(self, field: str) -> Any:
        return self.raw.get(field, _MISSING)

    def text(self, field: str, default: str | None = None) -> str:
        value = self.get(field)
        if value is _MISSING or value is None:
            if default is None:
                raise self.fail(field, None, "is missing")
            return default
        return self._string(field, value)

    def opt_text(self, field: str) -> str | None:
        """A string or None; the string ``"None"`` (a Kraken quirk for refid) is None too."""
        value = self.get(field)
        if value is _MISSING or value is None or value == "None":
            return None
        return self._string(field, value)

    def _string(self, field: str, value: object) -> str:
        if isinstance(value, str):
            return value
        raise self.fail(field, value, "is not a string")

    def opt_token(self, field: str) -> str | None:
        """Any scalar as its text (``"0"``, ``"none"``, ``"5:1"``): for fields Kraken sends either way."""
        value = self.get(field)
        if value is _MISSING or value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise self.fail(field, value, "is not a scalar")
        return str(value)

    def dec(self, field: str) -> Decimal:
        value = self.get(field)
        if value is _MISSING or value is None or value == "":
            raise self.fail(field, None if value is _MISSING else value, "is missing")
        try:
            return D(value)
        except NotADecimal:
            raise self.fail(field, value, "is not a decimal") from None

    def opt_dec(self, field: str, *, plus: bool = False) -> Decimal | None:
        """A decimal or None; `plus` also takes one leading ``+`` (OpenPositions' ``net``: ``"+12.5"``)."""
        value = self.get(field)
        if value is _MISSING or value is None or value == "":
            return None
        if plus and isinstance(value, str) and value.startswith("+") and value[1:2] != "-":
            value = value[1:]
        try:
            return D(value)
        except NotADecimal:
            raise self.fail(field, value, "is not a decimal") from None

    def opt_int(self, field: str) -> int | None:
        value = self.get(field)
        if value is _MISSING or value is None or value == "":
            return None
        if isinstance(value, bool):
            raise self.fail(field, value, "is not an integer")
        try:
            number = D(value)
        except NotADecimal:
            raise self.fail(field, value, "is not an integer") from None
        if number != number.to_integral_value():
            raise self.fail(field, value, "is not an integer")
        return int(number)

    def opt_bool(self, field: str) -> bool | None:
        value = self.get(field)
        if value is _MISSING or value is None:
            return None
        if isinstance(value, bool):
            return value
        if value in ("true", "1", 1):
            return True
        if value in ("false", "0", 0, ""):
            return False
        raise self.fail(field, value, "is not a boolean")

    def opt_ids(self, field: str) -> tuple[str, ...] | None:
        """A list of ids (or one comma-joined string, as exports write it)."""
        value = self.get(field)
        if value is _MISSING or value is None:
            return None
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise self.fail(field, value, "is not a list of ids")

    def time(self, field: str) -> tuple[datetime, Decimal]:
        """Unix time (any documented form) → (aware UTC datetime, exact seconds as Decimal)."""
        value = self.get(field)
        if value is _MISSING or value is None or value == "":
            raise self.fail(field, None, "is missing")
        try:
            seconds = unix_seconds(value)
            return from_unix(seconds), seconds
        except (NotADecimal, ValueError, OverflowError):
            raise self.fail(field, value, "is not a unix time") from None

    def opt_time_raw(self, field: str) -> Decimal | None:
        value = self.get(field)
        if value is _MISSING or value is None or value == "":
            return None
        try:
            return unix_seconds(value)
        except (NotADecimal, ValueError):
            raise self.fail(field, value, "is not a unix time") from None

    def read(self, fields: Fields) -> dict[str, Any]:
        """Every field of `fields` read from this record, by attribute name."""
        return {attr: read(self, key) for attr, key, read in fields}


FieldRead = Callable[[Reader, str], object]
Fields = tuple[tuple[str, str, FieldRead], ...]


def fields(*groups: tuple[FieldRead, str]) -> Fields:
    """A record's fields as data: groups of (how to read, names), a name ``attr=key`` where Kraken's key differs.

    ``fields((Reader.dec, "price cost"), (Reader.opt_ids, "position_trades=trades"))``.
    """
    out = []
    for read, names in groups:
        for name in names.split():
            attr, _, key = name.partition("=")
            out.append((attr, key or attr, read))
    return tuple(out)


def unix_seconds(value: str | Decimal | int) -> Decimal:
    """Kraken's time value as exact unix seconds; epoch ms/µs/ns integers are scaled down exactly.

    Raises:
        NotADecimal: when `value` is not a number.
    """
    seconds = D(value)
    magnitude = abs(seconds)
    if magnitude >= Decimal(10) ** 17:  # nanoseconds (OrderAmends)
        return seconds.scaleb(-9)
    if magnitude >= Decimal(10) ** 14:  # microseconds
        return seconds.scaleb(-6)
    if magnitude >= Decimal(10) ** 11:  # milliseconds (year 5138 in seconds: never a real second count)
        return seconds.scaleb(-3)
    return seconds


def rawify(value: Any) -> Any:
    """A raw record as stored in JSONB: Decimals as their exact strings, everything else as is."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): rawify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rawify(v) for v in value]
    return value


def count_of(result: Mapping[str, Any], stream: str) -> int | None:
    """The `count` of a paged answer (an int, or a numeric string — a quirk); None when absent."""
    value = result.get("count")
    if value is None:
        return None
    reader = Reader(stream, None, result)
    count = reader.opt_int("count")
    if count is None or count < 0:
        raise reader.fail("count", value, "is not a non-negative integer")
    return count
