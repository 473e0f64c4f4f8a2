"""Money is Decimal: one constructor that refuses floats, and one JSON decoder that never makes them.

Kraken sends amounts as decimal strings (REST) or JSON numbers (WebSocket v2). Both go through `D()`;
JSON is decoded with `parse_float=Decimal` so a number never passes through binary floating point.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)


class NotADecimal(ValueError):
    """A value that should be an exact decimal amount is not one."""


def D(value: str | Decimal | int) -> Decimal:
    """Return `value` as an exact, finite Decimal.

    Args:
        value: a decimal string (``"-24.5000"``, ``"+1"``, ``"1.5e-05"``), a Decimal or an int.

    Raises:
        NotADecimal: for floats, bools, empty or non-numeric strings, NaN and infinities.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise NotADecimal(f"refusing {type(value).__name__} {value!r}: money must not pass through float")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise NotADecimal("empty string is not an amount")
        try:
            result = Decimal(text)
        except InvalidOperation as exc:
            raise NotADecimal(f"{value!r} is not a decimal number") from exc
    else:
        raise NotADecimal(f"refusing {type(value).__name__}: not a decimal amount")
    if not result.is_finite():
        raise NotADecimal(f"{value!r} is not a finite amount")
    return result


def loads(text: str | bytes) -> Any:
    """Decode JSON with every non-integer number as Decimal (integers stay int)."""
    return json.loads(text, parse_float=Decimal)


def _default(obj: object) -> object:
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(obj: Any) -> str:
    """Encode JSON with Decimals written as strings (exact, and how Kraken writes amounts)."""
    return json.dumps(obj, default=_default, separators=(",", ":"))
