"""JSON text with exact numbers: the simulator writes times and WS amounts as raw decimal text.

Kraken's REST times are JSON numbers with 4-7 decimals and WS v2 amounts are JSON numbers; the standard
encoder would route them through float. `Num` marks a string that must be written unquoted; `dumps`
writes everything else like `json.dumps` (compact separators).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

_encode_str = json.encoder.encode_basestring_ascii


class Num(str):
    """Decimal text to be written as a JSON number (e.g. ``Num("1688464484.1787")``)."""

    __slots__ = ()


def num(value: Decimal | int) -> Num:
    """A `Num` from a Decimal (plain notation, never an exponent) or an int."""
    if isinstance(value, Decimal):
        return Num(format(value, "f"))
    return Num(str(value))


def _write(obj: Any, out: list[str]) -> None:
    t = type(obj)
    if t is str:
        out.append(_encode_str(obj))
    elif t is Num:
        out.append(str.__str__(obj))
    elif t is dict:
        out.append("{")
        first = True
        for k, v in obj.items():
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(k))
            out.append(":")
            _write(v, out)
        out.append("}")
    elif t is list or t is tuple:
        out.append("[")
        for i, v in enumerate(obj):
            if i:
                out.append(",")
            _write(v, out)
        out.append("]")
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif t is int:
        out.append(str(obj))
    elif t is Decimal:
        out.append(format(obj, "f"))
    else:
        raise TypeError(f"{t.__name__} is not JSON serializable here")


def dumps(obj: Any) -> str:
    """Encode `obj` to compact JSON, writing `Num` and Decimal values as raw numbers.

    Raises:
        TypeError: for floats and other types the simulator never emits.
    """
    out: list[str] = []
    _write(obj, out)
    return "".join(out)
