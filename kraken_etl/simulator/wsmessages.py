"""WebSocket v2 message bodies for the private channels (executions, balances), built from the store.

WS v2 writes amounts as JSON numbers (`Num`, never float), timestamps as RFC 3339 with microseconds,
symbols as ``BTC/USD`` and assets as plain tickers (Kraken's WebSocket v2 docs). Wallets split ``"spot / main"`` into
``wallet_type`` and ``wallet_id``.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.generator import TICKS
from kraken_etl.simulator.jsontext import Num
from kraken_etl.simulator.records import fmt_scaled, ledger_fields
from kraken_etl.simulator.store import Added, Store


def rfc3339(ticks: int) -> str:
    """Ticks as ``2023-09-22T10:33:05.709950Z``."""
    sec, frac = divmod(ticks, TICKS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{frac // 10:06d}Z"


def now_rfc3339(now: float) -> str:
    """A clock reading in RFC 3339 with microseconds."""
    return rfc3339(int(now * TICKS))


def wsnum(text: str) -> Num:
    """Decimal text as a WS number without trailing zeros (``"0.00500000"`` → ``0.005``)."""
    d = Decimal(text).normalize()
    return Num(format(d, "f")) if d != 0 else Num("0")


def exponent_form(value: Any) -> Any:
    """`value` with every WS number below 0.001 in magnitude written in exponent form (``1.5e-05``), the way
    a float printer writes it (WS v2 numbers may use exponent notation)."""
    if type(value) is Num:
        d = Decimal(value)
        if d == 0 or abs(d) >= Decimal("0.001"):
            return value
        sign, digits, exp = d.normalize().as_tuple()
        mantissa = "".join(map(str, digits))
        power = exp + len(digits) - 1  # type: ignore[operator]
        text = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
        return Num(f"{'-' if sign else ''}{text}e{'-' if power < 0 else '+'}{abs(power):02d}")
    if isinstance(value, dict):
        return {k: exponent_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [exponent_form(v) for v in value]
    return value


def symbol(pair: int) -> str:
    """WS v2 symbol of a pair (``BTC/USD``)."""
    p = c.PAIRS[pair]
    return f"{c.ASSETS[p.base].ticker}/{c.ASSETS[p.quote].ticker}"


def _wallet(code: int) -> tuple[str, str]:
    kind, _, name = c.WALLETS[code].partition(" / ")
    return kind, name


def balances_snapshot(store: Store) -> list[dict[str, Any]]:
    """The balances channel snapshot: per asset, the total and each wallet."""
    out = []
    for asset, wallets in store.balances().items():
        a = c.ASSETS[asset]
        out.append({
            "asset": a.ticker,
            "asset_class": "currency",
            "balance": wsnum(fmt_scaled(sum(wallets.values()), a.decimals)),
            "wallets": [
                {"type": _wallet(w)[0], "id": _wallet(w)[1], "balance": wsnum(fmt_scaled(v, a.decimals))}
                for w, v in wallets.items()
            ],
        })
    return out


def balance_updates(store: Store, rows: range, before: dict[tuple[int, int], int]) -> list[dict[str, Any]]:
    """One update per new ledger row; `balance` is the asset's total across wallets after the row."""
    running = dict(before)
    cols = store.ledger.columns()
    out = []
    for pos in rows:
        rec = ledger_fields(store, pos)
        asset, wallet = int(cols["asset"][pos]), int(cols["wallet"][pos])
        a = c.ASSETS[asset]
        running[(asset, wallet)] = int(cols["balance"][pos])
        total = sum(v for (aa, _), v in running.items() if aa == asset)
        wtype, wid = _wallet(wallet)
        out.append({
            "ledger_id": store.ledger_id(pos),
            "ref_id": rec["refid"],
            "timestamp": rfc3339(int(cols["time"][pos])),
            "type": rec["type"],
            "subtype": rec["subtype"],
            "asset": a.ticker,
            "asset_class": "currency",
            "category": c.WS_CATEGORY.get(rec["type"], rec["type"]),
            "wallet_type": wtype,
            "wallet_id": wid,
            "amount": wsnum(rec["amount"]),
            "fee": wsnum(rec["fee"]),
            "balance": wsnum(fmt_scaled(total, a.decimals)),
        })
    return out


def trade_execution(store: Store, idx: int, order_status: str) -> dict[str, Any]:
    """An ``exec_type: trade`` item for trade `idx`."""
    cols = store.trades.columns()
    pair = c.PAIRS[int(cols["pair"][idx])]
    quote = c.ASSETS[pair.quote]
    order = int(cols["order"][idx])
    fee = fmt_scaled(int(cols["fee"][idx]), quote.decimals)
    return {
        "order_id": store.order_id(order),
        "order_userref": int(store.orders.col("userref")[order]),
        "exec_id": store.trade_id(idx),
        "exec_type": "trade",
        "trade_id": c.TRADE_ID_BASE + idx,
        "symbol": symbol(int(cols["pair"][idx])),
        "side": c.SIDES[int(cols["side"][idx])],
        "last_qty": wsnum(fmt_scaled(int(cols["vol"][idx]), pair.lot_decimals)),
        "last_price": wsnum(fmt_scaled(int(cols["price"][idx]), pair.pair_decimals)),
        "liquidity_ind": "m" if cols["maker"][idx] else "t",
        "cost": wsnum(fmt_scaled(int(cols["cost"][idx]), quote.decimals)),
        "order_type": c.ORDER_TYPES[int(cols["otype"][idx])],
        "timestamp": rfc3339(int(cols["time"][idx])),
        "order_status": order_status,
        "fees": [{"asset": quote.ticker, "qty": wsnum(fee)}],
    }


def order_executions(store: Store, orders: range) -> list[dict[str, Any]]:
    """The executions updates for new orders: pending_new, new, (amended), trades, final state."""
    ocols = store.orders.columns()
    out: list[dict[str, Any]] = []
    for o in orders:
        pair = c.PAIRS[int(ocols["pair"][o])]
        oid = store.order_id(o)
        opened = rfc3339(int(ocols["opentm"][o]))
        otype = c.ORDER_TYPES[int(ocols["otype"][o])]
        base = {"order_id": oid, "order_userref": int(ocols["userref"][o])}
        first = {
            **base, "symbol": symbol(int(ocols["pair"][o])), "side": c.SIDES[int(ocols["side"][o])],
            "order_qty": wsnum(fmt_scaled(int(ocols["vol"][o]), pair.lot_decimals)),
            "order_type": otype, "time_in_force": "GTC", "cum_cost": Num("0"),
            "fee_ccy_pref": c.OFLAGS[int(ocols["oflags"][o])].split(",")[0],
            "exec_type": "pending_new", "order_status": "pending_new", "timestamp": opened,
        }
        if otype != "market":
            first["limit_price"] = wsnum(fmt_scaled(int(ocols["limit"][o]), pair.pair_decimals))
        out.append(first)
        out.append({**base, "exec_type": "new", "order_status": "new", "timestamp": opened})
        for _kind, qty, _rem, price, ts_ns in store.amends.get(o, [])[1:]:
            out.append({**base, "exec_type": "amended", "order_status": "new", "amended": True,
                        "order_qty": wsnum(fmt_scaled(qty, pair.lot_decimals)),
                        "limit_price": wsnum(fmt_scaled(price, pair.pair_decimals)),
                        "timestamp": rfc3339(ts_ns // 100)})
        first_trade = int(ocols["first_trade"][o])
        for t in range(first_trade, first_trade + int(ocols["ntrades"][o])):
            out.append(trade_execution(store, t, "partially_filled"))
        status = c.ORDER_STATUSES[int(ocols["status"][o])]
        final = {"closed": "filled", "canceled": "canceled", "expired": "expired"}[status]
        out.append({**base, "exec_type": final, "order_status": final,
                    "cum_qty": wsnum(fmt_scaled(int(ocols["vol_exec"][o]), pair.lot_decimals)),
                    "timestamp": rfc3339(int(ocols["closetm"][o]))})
    return out


def trades_snapshot(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The last `limit` fills (``snap_trades``), oldest first."""
    n = store.trades.n
    return [trade_execution(store, i, "filled") for i in range(max(0, n - limit), n)]


def added_messages(store: Store, added: Added, before: dict[tuple[int, int], int]) -> list[
        tuple[str, list[dict[str, Any]]]]:
    """Channel payloads for one `extend`: one executions message per item, one balances per row."""
    msgs: list[tuple[str, list[dict[str, Any]]]] = []
    msgs.extend(("executions", [item]) for item in order_executions(store, added.orders))
    msgs.extend(("balances", [item]) for item in balance_updates(store, added.ledger, before))
    return msgs

