"""WebSocket v2 private messages → records: pure parsing of the `executions` and `balances` channels.

Numbers: v2 writes amounts as JSON numbers, sometimes in exponent form (``1.5e-05``). `decode` reads the
text with ``parse_float=Decimal`` so every fraction or exponent becomes an exact Decimal from its own
digits; integers (``trade_id``, the >2**53 ``connection_id``) stay Python ints. Nothing passes through
float.

Keys (a replayed message must be a no-op, distinct events must never merge):

- a balance update is one ledger movement: its key is the ledger id (``ledger_id``);
- an execution with an ``exec_id`` is one fill: key ``exec:<exec_type>:<exec_id>`` (the trades snapshot
  after a reconnect repeats recent fills under the same key, so they are not stored twice);
- an execution without ``exec_id`` (``pending_new``, ``new``, ``amended``, ``canceled``, ``filled``…) is a
  status event of one order: key ``<order_id>:<exec_type>:<timestamp>:<digest>`` where the digest is a
  sha256 of the item's canonical content (sorted keys, numbers by value). A replay has the same content
  and so the same key; two different events of one order differ in type, time or content.

The records are in `kraken_etl.core.wsrecords` (re-exported here). This module must not read the clock,
open sockets or speak SQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

from kraken_etl.core.parsing import rawify
from kraken_etl.core.timeutil import parse_rfc3339
from kraken_etl.core.wsrecords import WsBalanceUpdate, WsExecution, WsWalletBalance

__all__ = ["Frame", "MalformedMessage", "WsBalanceUpdate", "WsExecution", "WsWalletBalance", "classify",
           "content_digest", "decode", "execution_key", "latest_time", "parse_balance_snapshot",
           "parse_balance_update", "parse_execution"]

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


_DECODER = json.JSONDecoder(parse_float=Decimal)  # one decoder: building one per message costs more than parsing


def decode(text: str | bytes) -> dict[str, Any]:
    """Decode one message; JSON numbers with a fraction or exponent become exact Decimals.

    Raises:
        MalformedMessage: when the text is not a JSON object.
    """
    try:
        message = _DECODER.decode(text if isinstance(text, str) else text.decode())
    except json.JSONDecodeError as exc:
        raise MalformedMessage("?", "(message)", text[:60], f"is not JSON ({exc.msg})") from None
    except ValueError:
        raise MalformedMessage("?", "(message)", text[:60], "is not JSON") from None
    if not isinstance(message, dict):
        raise MalformedMessage("?", "(message)", message, "is not an object")
    return message


def classify(message: dict[str, Any]) -> Frame:
    """What a decoded message is: channel data, heartbeat, status, pong, subscription ack or error."""
    channel = message.get("channel")
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
    if channel in ("executions", "balances"):
        data = message.get("data")
        if not isinstance(data, list):
            raise MalformedMessage(channel, "data", data, "is not a list")
        seq = message.get("sequence")
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
            raise MalformedMessage(channel, "sequence", seq, "is not an integer")
        return Frame("data", channel, message.get("type"), seq, data, message)
    if "error" in message or message.get("success") is False:
        return Frame("error", channel, None, None, [], message)
    return Frame("other", channel, None, None, [], message)


# -- field readers ---------------------------------------------------------------------------------


def _text(channel: str, item: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = item.get(name)
    if type(value) is str and value:
        return value
    if value is None or value == "":
        if required:
            raise MalformedMessage(channel, name, value, "is missing")
        return None
    if type(value) is int:
        return str(value)
    raise MalformedMessage(channel, name, value, "is not text")


def _dec(channel: str, item: Mapping[str, Any], name: str, *, required: bool = False) -> Decimal | None:
    value = item.get(name)
    kind = type(value)
    number: Decimal
    if kind is Decimal:
        number = cast("Decimal", value)
    elif value is None:
        if required:
            raise MalformedMessage(channel, name, value, "is missing")
        return None
    elif kind is int:
        number = Decimal(value)
    elif kind is float:  # a float here means the message was decoded without parse_float
        raise MalformedMessage(channel, name, value, "was decoded through float")
    elif kind is str:
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise MalformedMessage(channel, name, value, "is not a number") from None
    else:
        raise MalformedMessage(channel, name, value, "is not a number")
    if not number.is_finite():
        raise MalformedMessage(channel, name, value, "is not finite")
    return number


def _time(channel: str, item: Mapping[str, Any]) -> datetime:
    value = item.get("timestamp")
    if not isinstance(value, str):
        raise MalformedMessage(channel, "timestamp", value, "is missing")
    try:
        return parse_rfc3339(value)
    except ValueError:
        raise MalformedMessage(channel, "timestamp", value, "is not RFC 3339") from None


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        normal = value.normalize()
        return format(normal, "f") if normal != 0 else "0"
    if isinstance(value, int) and not isinstance(value, bool):
        return format(Decimal(value), "f")
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def content_digest(item: Mapping[str, Any]) -> str:
    """sha256 (first 16 hex digits) of an item's canonical content: numbers by value, keys sorted."""
    text = json.dumps(_canonical(item), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- items -----------------------------------------------------------------------------------------


def execution_key(item: Mapping[str, Any]) -> str:
    """The idempotency key of one executions item (see the module docstring).

    Raises:
        MalformedMessage: when `order_id`, `exec_type` or `timestamp` is missing.
    """
    ch = "executions"
    return _key(item, str(_text(ch, item, "order_id", required=True)), str(_text(ch, item, "exec_type", required=True)),
                _text(ch, item, "exec_id"))


def _key(item: Mapping[str, Any], order_id: str, exec_type: str, exec_id: str | None) -> str:
    if exec_id:
        return f"exec:{exec_type}:{exec_id}"
    stamp = item.get("timestamp")
    if not isinstance(stamp, str):
        raise MalformedMessage("executions", "timestamp", stamp, "is missing")
    return f"{order_id}:{exec_type}:{stamp}:{content_digest(item)}"


def parse_execution(item: Mapping[str, Any], *, sequence: int | None, is_snapshot: bool) -> WsExecution:
    """One executions item as a record.

    Raises:
        MalformedMessage: on a missing order id, exec type or timestamp, or an unreadable number.
    """
    ch = "executions"
    if type(item) is not dict and not isinstance(item, Mapping):
        raise MalformedMessage(ch, "(item)", item, "is not an object")
    fees = item.get("fees")
    fee: Decimal | None = None
    fee_asset: str | None = None
    if isinstance(fees, list) and fees:
        amounts = [_dec(ch, f, "qty", required=True) for f in fees if isinstance(f, Mapping)]
        fee = sum((a for a in amounts if a is not None), Decimal(0))
        assets = {_text(ch, f, "asset") for f in fees if isinstance(f, Mapping)}
        fee_asset = ",".join(sorted(a for a in assets if a))
    elif "fee_usd_equiv" in item:
        fee = _dec(ch, item, "fee_usd_equiv")
    order_id = str(_text(ch, item, "order_id", required=True))
    exec_type = str(_text(ch, item, "exec_type", required=True))
    exec_id = _text(ch, item, "exec_id")
    return WsExecution(
        event_key=_key(item, order_id, exec_type, exec_id),
        order_id=order_id,
        exec_id=exec_id,
        exec_type=exec_type,
        order_status=_text(ch, item, "order_status"),
        symbol=_text(ch, item, "symbol"),
        side=_text(ch, item, "side"),
        order_qty=_dec(ch, item, "order_qty"),
        last_qty=_dec(ch, item, "last_qty"),
        last_price=_dec(ch, item, "last_price"),
        cost=_dec(ch, item, "cost"),
        fee=fee,
        fee_asset=fee_asset or None,
        liquidity_ind=_text(ch, item, "liquidity_ind"),
        timestamp=_time(ch, item),
        sequence=sequence,
        is_snapshot=is_snapshot,
        raw=item if type(item) is dict else dict(item),
    )


def parse_balance_update(item: Mapping[str, Any], *, sequence: int | None) -> WsBalanceUpdate:
    """One balances update item as a record.

    Raises:
        MalformedMessage: on a missing ledger id, asset, type, amount, fee, balance or timestamp.
    """
    ch = "balances"
    if not isinstance(item, Mapping):
        raise MalformedMessage(ch, "(item)", item, "is not an object")
    return WsBalanceUpdate(
        ledger_id=str(_text(ch, item, "ledger_id", required=True)),
        ref_id=_text(ch, item, "ref_id"),
        timestamp=_time(ch, item),
        type=str(_text(ch, item, "type", required=True)),
        subtype=_text(ch, item, "subtype"),
        category=_text(ch, item, "category"),
        asset=str(_text(ch, item, "asset", required=True)),
        asset_class=_text(ch, item, "asset_class"),
        wallet_type=_text(ch, item, "wallet_type"),
        wallet_id=_text(ch, item, "wallet_id"),
        amount=_dec(ch, item, "amount", required=True),  # type: ignore[arg-type]
        fee=_dec(ch, item, "fee") or Decimal(0),
        balance=_dec(ch, item, "balance", required=True),  # type: ignore[arg-type]
        sequence=sequence,
        raw=item if type(item) is dict else dict(item),
    )


def parse_balance_snapshot(items: list[Any]) -> list[WsWalletBalance]:
    """The balances snapshot: one record per (asset, wallet).

    Raises:
        MalformedMessage: on a missing asset or balance.
    """
    ch = "balances"
    out: list[WsWalletBalance] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise MalformedMessage(ch, "(item)", item, "is not an object")
        asset = str(_text(ch, item, "asset", required=True))
        wallets = item.get("wallets") or []
        for w in wallets:
            wallet = f"{_text(ch, w, 'type') or 'spot'} / {_text(ch, w, 'id') or 'main'}"
            out.append(WsWalletBalance(asset, wallet, _dec(ch, w, "balance", required=True),  # type: ignore[arg-type]
                                       rawify({"asset": asset, **w})))
        if not wallets:
            out.append(WsWalletBalance(asset, "spot / main", _dec(ch, item, "balance", required=True),  # type: ignore[arg-type]
                                       rawify(item)))
    return out


def latest_time(records: list[WsExecution] | list[WsBalanceUpdate]) -> datetime | None:
    """The newest timestamp among `records` (None when empty)."""
    return max((r.timestamp for r in records), default=None)
