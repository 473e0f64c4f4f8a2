"""The content digest behind the key of an execution update without ``exec_id`` (pure).

The digest is a sha256 (first 16 hex digits) of the item's canonical JSON: numbers by value (a Decimal
normalised and written without exponent, an int as its digits, so ``0.005`` and ``5e-3`` agree), keys
sorted, written as ``json.dumps(..., sort_keys=True, separators=(",", ":"))`` (ASCII, non-ASCII and DEL
escaped) would write it. The keys are stored, so these bytes must never change: a replay after an
upgrade must still find its row.

msgspec's C encoder writes these bytes fast; it is used only when the result holds nothing the two
encoders could write differently (no backslash escape, nothing outside printable ASCII). Anything else
takes the standard library's encoder, the definition (`tests/listen/test_fastpath.py` checks the digest
against the definition written there on its own).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec

__all__ = ["canonical", "content_digest"]

_ENCODE = msgspec.json.Encoder(order="sorted").encode


def _number(value: Decimal) -> str:
    normal = value.normalize()
    return format(normal, "f") if normal != 0 else "0"


def canonical(value: Any) -> Any:
    """`value` with every number as its canonical text (see the module docstring)."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return value
    if kind is Decimal:
        return _number(value)
    if kind is int:
        return str(value)
    if kind is dict:
        out = {}
        for k, v in value.items():
            t = type(v)
            out[k if type(k) is str else str(k)] = (v if t is str or v is None or t is bool
                                                    else canonical(v))
        return out
    if kind is list or kind is tuple:
        return [canonical(v) for v in value]
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return format(Decimal(value), "f")
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def _reference_text(content: Any) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def content_digest(item: Mapping[str, Any]) -> str:
    """sha256 (first 16 hex digits) of an item's canonical content: numbers by value, keys sorted."""
    content = canonical(item)
    try:
        text = _ENCODE(content)
    except (TypeError, ValueError, OverflowError):  # something msgspec cannot write: the definition decides
        text = _reference_text(content)
    else:
        if b"\\" in text or not text.isascii() or b"\x7f" in text:
            text = _reference_text(content)
    return hashlib.sha256(text).hexdigest()[:16]
