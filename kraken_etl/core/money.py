"""Money is Decimal: one constructor that refuses floats, Kraken's number grammar, and one JSON decoder.

Kraken writes amounts as decimal *strings* in REST answers and export files, always in one shape: an
optional minus, ASCII digits, an optional fraction (``-24.5000``, ``0.0000000000``). Python's `Decimal()`
accepts far more (``1_000``, ``+5``, ``" 12 "``, full-width or Arabic-Indic digits, ``1e5``,
``NaN``, ``Infinity``, 400-digit values, ``1E+1000000``), and each of those would load silently or end a
load with a database overflow. So text goes through `parse_kraken_number`: the strict grammar, at most
`MAX_INTEGER_DIGITS` digits before the point and `MAX_FRACTION_DIGITS` after, and the scale Kraken wrote is
kept (``"1.50"`` stays ``Decimal("1.50")``). Exponent forms are accepted only where Kraken sends JSON
numbers (WebSocket v2, some REST times): those are decoded by `loads` as Decimal (never float) and pass
`D()` when finite and within the same digit bounds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from decimal import Decimal, Inexact, localcontext
from typing import Any

from kraken_etl.core.errors import KrakenEtlError

ZERO = Decimal(0)

# Far beyond any real amount (Kraken: up to 10 fraction digits; balances in the billions), far inside
# PostgreSQL NUMERIC (131072 digits before the point, 16383 after).
MAX_INTEGER_DIGITS = 30
MAX_FRACTION_DIGITS = 30
KRAKEN_NUMBER = re.compile(
    rf"-?[0-9]{{1,{MAX_INTEGER_DIGITS}}}(?:\.[0-9]{{1,{MAX_FRACTION_DIGITS}}})?"
)
_MAX_JSON_INT_CHARS = 40  # a longer JSON integer is decoded as Decimal (and refused by `D`), not int


class NotADecimal(KrakenEtlError, ValueError):
    """A value that should be an exact decimal amount is not one (the message is a quarantine reason)."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_kraken_number(text: str) -> Decimal:
    """`text` in Kraken's number grammar (``-?digits[.digits]``, bounded) as an exact Decimal.

    Raises:
        NotADecimal: for anything else (signs other than a leading minus, spaces, separators, exponents,
            non-ASCII digits, NaN/Infinity, too many digits).
    """
    if not KRAKEN_NUMBER.fullmatch(text):
        if not text:
            raise NotADecimal("empty string is not an amount")
        raise NotADecimal(f"{_shown(text)} is not a Kraken number (-digits[.digits], at most "
                          f"{MAX_INTEGER_DIGITS}+{MAX_FRACTION_DIGITS} digits)")
    return Decimal(text)


def check_bounds(value: Decimal) -> Decimal:
    """`value` when finite and within the digit bounds; NotADecimal otherwise (e.g. ``1E+1000000``)."""
    if not value.is_finite():
        raise NotADecimal(f"{_shown(str(value))} is not a finite amount")
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # only NaN/Infinity have a letter here, refused above
        raise NotADecimal(f"{_shown(str(value))} is not a finite amount")
    integer_digits = max(len(digits) + exponent, 0)
    fraction_digits = max(-exponent, 0)
    if integer_digits > MAX_INTEGER_DIGITS or fraction_digits > MAX_FRACTION_DIGITS:
        raise NotADecimal(f"{_shown(str(value))} is out of range (at most {MAX_INTEGER_DIGITS} digits before "
                          f"the point and {MAX_FRACTION_DIGITS} after)")
    return value


def D(value: str | Decimal | int) -> Decimal:
    """Return `value` as an exact, finite, bounded Decimal.

    Args:
        value: a string in Kraken's grammar (``"-24.5000"``), a Decimal (a decoded JSON number; exponent
            forms allowed) or an int.

    Raises:
        NotADecimal: for floats, bools, text outside the grammar, NaN, infinities and out-of-range values.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise NotADecimal(f"refusing {type(value).__name__} {value!r}: money must not pass through float")
    if isinstance(value, str):
        return parse_kraken_number(value)
    if isinstance(value, Decimal):
        return check_bounds(value)
    if isinstance(value, int):
        if len(str(abs(value))) > MAX_INTEGER_DIGITS:
            raise NotADecimal(f"an integer of {len(str(abs(value)))} digits is out of range")
        return Decimal(value)
    raise NotADecimal(f"refusing {type(value).__name__}: not a decimal amount")


def _json_int(text: str) -> int | Decimal:
    # Python refuses int() beyond 4300 digits, which would fail the whole answer; a Decimal lets the one
    # record with such a value be quarantined by `D` instead.
    return int(text) if len(text) <= _MAX_JSON_INT_CHARS else Decimal(text)


def loads(text: str | bytes) -> Any:
    """Decode JSON with every non-integer number as Decimal (integers stay int; huge ones Decimal).

    ``NaN``/``Infinity`` literals (not JSON, but Python's decoder takes them) become Decimal NaN/Infinity,
    which `D` refuses, so they never pass as a float either.
    """
    return json.loads(text, parse_float=Decimal, parse_int=_json_int, parse_constant=Decimal)


def _default(obj: object) -> object:
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def dumps(obj: Any) -> str:
    """Encode JSON with Decimals written as strings (exact, and how Kraken writes amounts)."""
    return json.dumps(obj, default=_default, separators=(",", ":"))


EXACT_DIGITS = 200  # a sum of money values at this precision is never rounded (each carries far fewer digits)


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The sum of `values`, exact whatever the ambient decimal context (another library may have lowered or
    raised its precision): money totals are never rounded by the context.

    Raises:
        decimal.Inexact: if the sum would need more than `EXACT_DIGITS` digits.
    """
    with localcontext(prec=EXACT_DIGITS) as ctx:
        ctx.traps[Inexact] = True
        return sum(values, ZERO)

