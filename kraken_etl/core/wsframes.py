"""WebSocket v2 messages → frames: decode one message's text exactly and say what it is (pure).

Numbers: v2 writes amounts as JSON numbers, sometimes in exponent form (``1.5e-05``). `decode` uses
msgspec's JSON decoder with ``float_hook=Decimal``: the hook receives the number's own text, so every
fraction or exponent becomes the exact Decimal of its digits (value and scale: ``1.50`` stays
``Decimal('1.50')``, ``1.5e-05`` is ``Decimal('0.000015')``); integers (``trade_id``, the >2**53
``connection_id``) stay Python ints. Nothing passes through float, and ``NaN``/``Infinity`` (not JSON)
are refused rather than turned into floats. The C decoder is ~5x cheaper than the standard library's
with ``parse_float=Decimal`` on the listener's messages (bench/bench_listen.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import msgspec

__all__ = ["Frame", "Kind", "MalformedMessage", "classify", "decode"]

Kind = Literal["data", "heartbeat", "status", "pong", "ack", "error", "other"]


class MalformedMessage(ValueError):
    """A WebSocket message (or one item of it) that breaks the documented v2 shape."""

    def __init__(self, channel: str, field_name: str, value: object, why: str = "is invalid") -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        self.channel, self.field, self.value = channel, field_name, value
        super().__init__(f"ws {channel}: field {field_name!r} {why}: {shown}")


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded message and what it is."""

    kind: Kind
    channel: str | None
    type: str | None  # snapshot | update (data frames)
    sequence: int | None
    data: list[Any]
    message: dict[str, Any]


_DECODER = msgspec.json.Decoder(float_hook=Decimal)  # one decoder for every message


def decode(text: str | bytes) -> dict[str, Any]:
    """Decode one message; JSON numbers with a fraction or exponent become exact Decimals.

    Raises:
        MalformedMessage: when the text is not a JSON object.
    """
    try:
        message = _DECODER.decode(text)
    except msgspec.DecodeError as exc:
        raise MalformedMessage("?", "(message)", text[:60], f"is not JSON ({exc})") from None
    if type(message) is not dict:
        raise MalformedMessage("?", "(message)", message, "is not an object")
    return message


def classify(message: dict[str, Any]) -> Frame:
    """What a decoded message is: channel data, heartbeat, status, pong, subscription ack or error."""
    channel = message.get("channel")
    if channel == "executions" or channel == "balances":  # the hot path first
        data = message.get("data")
        if type(data) is not list:
            raise MalformedMessage(channel, "data", data, "is not a list")
        seq = message.get("sequence")
        if seq is not None and type(seq) is not int:
            raise MalformedMessage(channel, "sequence", seq, "is not an integer")
        return Frame("data", channel, message.get("type"), seq, data, message)
    method = message.get("method")
    if method == "pong":
        return Frame("pong", None, None, None, [], message)
    if method in ("subscribe", "unsubscribe"):
        result = message.get("result")
        name = result.get("channel") if isinstance(result, Mapping) else None
        kind: Kind = "ack" if message.get("success") is True else "error"
        return Frame(kind, name, None, None, [], message)
    if channel == "heartbeat":
        return Frame("heartbeat", channel, None, None, [], message)
    if channel == "status":
        return Frame("status", channel, message.get("type"), None, list(message.get("data") or []), message)
    if "error" in message or message.get("success") is False:
        return Frame("error", channel, None, None, [], message)
    return Frame("other", channel, None, None, [], message)
