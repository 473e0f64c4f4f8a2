"""WebSocket v2 private messages → records: pure parsing of the `executions` and `balances` channels.

Numbers: `decode` (in `kraken_etl.core.wsframes`, re-exported here) turns every JSON fraction or exponent
into the exact Decimal of its own text; integers stay Python ints. Nothing passes through float.

Keys (a replayed message must be a no-op, distinct events must never merge):

- a balance update is one ledger movement: its key is the ledger id (``ledger_id``);
- an execution with an ``exec_id`` is one fill: key ``exec:<exec_type>:<exec_id>`` (the trades snapshot
  after a reconnect repeats recent fills under the same key, so they are not stored twice);
- an execution without ``exec_id`` (``pending_new``, ``new``, ``amended``, ``canceled``, ``filled``…) is a
  status event of one order: key ``<order_id>:<exec_type>:<timestamp>:<digest>`` where the digest is a
  sha256 of the item's canonical content (sorted keys, numbers by value). A replay has the same content
  and so the same key; two different events of one order differ in type, time or content.

The records are in `kraken_etl.core.wsrecords`, frames in `kraken_etl.core.wsframes` and the digest in
`kraken_etl.core.wsdigest` (all re-exported here). This module must not read the clock,
open sockets or speak SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from kraken_etl.core.parsing import rawify
from kraken_etl.core.timeutil import parse_rfc3339
from kraken_etl.core.wsdigest import content_digest
from kraken_etl.core.wsframes import Frame, MalformedMessage, classify, decode
from kraken_etl.core.wsrecords import WsBalanceUpdate, WsExecution, WsWalletBalance

__all__ = ["Frame", "MalformedMessage", "WsBalanceUpdate", "WsExecution", "WsWalletBalance", "classify",
           "content_digest", "decode", "execution_key", "parse_balance_snapshot",
           "parse_balance_update", "parse_execution"]


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


def _must_text(channel: str, item: Mapping[str, Any], name: str) -> str:
    return cast("str", _text(channel, item, name, required=True))


def _must_dec(channel: str, item: Mapping[str, Any], name: str) -> Decimal:
    return cast("Decimal", _dec(channel, item, name, required=True))


def _time(channel: str, item: Mapping[str, Any]) -> datetime:
    value = item.get("timestamp")
    if not isinstance(value, str):
        raise MalformedMessage(channel, "timestamp", value, "is missing")
    try:
        return parse_rfc3339(value)
    except ValueError:
        raise MalformedMessage(channel, "timestamp", value, "is not RFC 3339") from None


# -- items -----------------------------------------------------------------------------------------


def execution_key(item: Mapping[str, Any]) -> str:
    """The idempotency key of one executions item (see the module docstring).

    Raises:
        MalformedMessage: when `order_id`, `exec_type` or `timestamp` is missing.
    """
    ch = "executions"
    return _key(item, _must_text(ch, item, "order_id"), _must_text(ch, item, "exec_type"),
                _text(ch, item, "exec_id"))


def _key(item: Mapping[str, Any], order_id: str, exec_type: str, exec_id: str | None) -> str:
    if exec_id:
        return f"exec:{exec_type}:{exec_id}"
    stamp = item.get("timestamp")
    if not isinstance(stamp, str):
        raise MalformedMessage("executions", "timestamp", stamp, "is missing")
    return f"{order_id}:{exec_type}:{stamp}:{content_digest(item)}"


def _fast_time(ch: str, item: Mapping[str, Any]) -> datetime:
    value = item.get("timestamp")
    if type(value) is str and value.endswith("Z"):  # the form Kraken writes: read directly as UTC
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return _time(ch, item)


def _fees(ch: str, fees: list[Any]) -> tuple[Decimal, str | None]:
    if len(fees) == 1 and type(leg := fees[0]) is dict:  # one fee leg, as Kraken sends a fill
        qty, asset = leg.get("qty"), leg.get("asset")
        if type(qty) is Decimal and qty.is_finite() and type(asset) is str and asset:
            return Decimal(0) + qty, asset  # the sum below, of one leg
    legs = [f for f in fees if type(f) is dict or isinstance(f, Mapping)]
    total = sum((_must_dec(ch, f, "qty") for f in legs), Decimal(0))
    return total, ",".join(sorted({a for f in legs if (a := _text(ch, f, "asset"))})) or None


def parse_execution(item: Mapping[str, Any], *, sequence: int | None, is_snapshot: bool) -> WsExecution:
    """One executions item as a record.

    Raises:
        MalformedMessage: on a missing order id, exec type or timestamp, or an unreadable number.
    """
    ch = "executions"
    if type(item) is not dict:
        if not isinstance(item, Mapping):
            raise MalformedMessage(ch, "(item)", item, "is not an object")
        item = dict(item)
    fees = item.get("fees")
    fee: Decimal | None = None
    fee_asset: str | None = None
    if type(fees) is list and fees:
        fee, fee_asset = _fees(ch, fees)
    elif "fee_usd_equiv" in item:
        fee = _dec(ch, item, "fee_usd_equiv")
    order_id = _must_text(ch, item, "order_id")
    exec_type = _must_text(ch, item, "exec_type")
    exec_id = _text(ch, item, "exec_id")
    return WsExecution(
        _key(item, order_id, exec_type, exec_id), order_id, exec_id, exec_type, _text(ch, item, "order_status"),
        _text(ch, item, "symbol"), _text(ch, item, "side"), _dec(ch, item, "order_qty"), _dec(ch, item, "last_qty"),
        _dec(ch, item, "last_price"), _dec(ch, item, "cost"), fee, fee_asset, _text(ch, item, "liquidity_ind"),
        _fast_time(ch, item), sequence, is_snapshot, item)


def parse_balance_update(item: Mapping[str, Any], *, sequence: int | None) -> WsBalanceUpdate:
    """One balances update item as a record.

    Raises:
        MalformedMessage: on a missing ledger id, asset, type, amount, fee, balance or timestamp.
    """
    ch = "balances"
    if type(item) is not dict:
        if not isinstance(item, Mapping):
            raise MalformedMessage(ch, "(item)", item, "is not an object")
        item = dict(item)
    fee = _dec(ch, item, "fee")  # as written, 0.000 too
    return WsBalanceUpdate(
        _must_text(ch, item, "ledger_id"), _text(ch, item, "ref_id"), _fast_time(ch, item),
        _must_text(ch, item, "type"), _text(ch, item, "subtype"), _text(ch, item, "category"),
        _must_text(ch, item, "asset"), _text(ch, item, "asset_class"), _text(ch, item, "wallet_type"),
        _text(ch, item, "wallet_id"), _must_dec(ch, item, "amount"), Decimal(0) if fee is None else fee,
        _must_dec(ch, item, "balance"), sequence, item)


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
        asset = _must_text(ch, item, "asset")
        wallets = item.get("wallets") or []
        for w in wallets:
            wallet = f"{_text(ch, w, 'type') or 'spot'} / {_text(ch, w, 'id') or 'main'}"
            out.append(WsWalletBalance(asset, wallet, _must_dec(ch, w, "balance"),
                                       rawify({"asset": asset, **w})))
        if not wallets:
            out.append(WsWalletBalance(asset, "spot / main", _must_dec(ch, item, "balance"),
                                       rawify(item)))
    return out
