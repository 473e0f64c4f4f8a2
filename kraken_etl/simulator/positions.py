"""Margin positions as Kraken's REST shows them: position fields of trades, ``OpenPositions``, and the margin
figures of ``TradeBalance`` (the positions themselves are written by `shapes_margin`).

- An opening trade has ``posstatus`` (``open``/``closed``) and, once closed, ``cprice, ccost, cfee, cvol,
  cmargin, net`` and ``trades`` (the closing trade's txid); a closing (or settling) trade has ``postxid`` = the
  opening trade's txid and ``misc`` ``closing``. Both carry ``margin`` and ``leverage``.
- ``OpenPositions`` is keyed by the position's txid (its opening trade's); ``fee`` is the opening fee plus
  the rollovers charged so far (UNVERIFIED); with ``docalcs`` it adds ``value`` and ``net`` at the market
  path's price now, ``net`` signed with a leading ``+`` when not negative (a quirk seen in real answers).
- ``TradeBalance``: ``m`` = the open positions' margin, ``c`` their cost, ``v`` their value, ``n`` their
  unrealised net, ``e`` = ``tb`` + ``n``, ``mf`` = ``e`` - ``m``, ``ml`` = 100 * ``e`` / ``m`` (only with a
  position open); ``tb`` is the equivalent balance (every asset counted as collateral, UNVERIFIED).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
from typing import Any

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.orders import LOT
from kraken_etl.simulator.records import fmt_scaled, fmt_time
from kraken_etl.simulator.shapes_margin import ROLLOVER_EVERY, ROLLOVER_RATE, TICKS, Position, positions_of
from kraken_etl.simulator.store import Store

Price = Callable[[int], Decimal]  # asset code -> its USD price now


def margin_trade_fields(store: Store, idx: int, rec: dict[str, Any]) -> None:
    """Add the position fields of trade `idx` (a position trade) to its REST record."""
    cols = store.trades.columns()
    pair = c.PAIRS[int(cols["pair"][idx])]
    up = 10 ** (pair.cost_decimals - c.ASSETS[pair.quote].decimals)
    opening = int(cols["pos"][idx]) - 1
    rec["margin"] = fmt_scaled(int(cols["margin"][idx]) * up, pair.cost_decimals)
    rec["leverage"] = str(int(cols["lev"][idx]))
    if opening != idx:
        rec["postxid"] = store.trade_id(opening)
        rec["misc"] = "closing"
        return
    pos = positions_of(store.gen.state)[idx]
    closed = 0 <= pos.closing < store.trades.n
    rec["posstatus"] = "closed" if closed else "open"
    if closed:
        rec.update(cprice=fmt_scaled(pos.cprice, pair.pair_decimals),
                   ccost=fmt_scaled(pos.ccost * up, pair.cost_decimals),
                   cfee=fmt_scaled(pos.cfee * up, pair.cost_decimals),
                   cvol=fmt_scaled(pos.vol, pair.lot_decimals),
                   cmargin=fmt_scaled(pos.margin * up, pair.cost_decimals),
                   net=fmt_scaled((pos.net - (pos.cfee if store.margin_net == "after_fees" else 0)) * up,
                                  pair.cost_decimals),
                   trades=[store.trade_id(pos.closing)])


def open_positions(store: Store) -> list[Position]:
    """The positions open now (their opening trade stored, no closing trade yet), oldest first."""
    n = store.trades.n
    return [p for i, p in sorted(positions_of(store.gen.state).items()) if i < n and not 0 <= p.closing < n]


def _value(pos: Position, price: Price) -> tuple[Decimal, Decimal]:
    """The position's value now and its unrealised net, in its quote currency at the quote's decimals."""
    pair = c.PAIRS[pos.pair]
    qdec = c.ASSETS[pair.quote].decimals
    unit = Decimal(1).scaleb(-qdec)
    value = (Decimal(pos.vol).scaleb(-LOT) * price(pair.base) / price(pair.quote)).quantize(unit, ROUND_DOWN)
    cost = Decimal(pos.cost).scaleb(-qdec)
    return value, (value - cost if pos.side == 0 else cost - value)


def open_positions_result(store: Store, price: Price, *, docalcs: bool, truth: bool = False) -> dict[str, Any]:
    """OpenPositions: txid → position (the position_mismatch fault alters the vol of some, unless `truth`)."""
    cols = store.trades.columns()
    lcols = store.ledger.columns()
    out: dict[str, Any] = {}
    for pos in open_positions(store):
        pair = c.PAIRS[pos.pair]
        qdec = c.ASSETS[pair.quote].decimals
        up = 10 ** (pair.cost_decimals - qdec)
        opened = int(cols["time"][pos.idx])
        last_roll = max((int(lcols["time"][r]) for r in pos.rollovers if r < store.ledger.n), default=opened)
        vol = pos.vol + (0 if truth else store.discrepancies.position_vol.get(pos.idx, 0))
        rec: dict[str, Any] = {
            "ordertxid": store.order_id(int(cols["order"][pos.idx])),
            "posstatus": "open",
            "pair": pair.key,
            "time": fmt_time(opened),
            "type": c.SIDES[pos.side],
            "ordertype": "market",
            "cost": fmt_scaled(pos.cost * up, pair.cost_decimals),
            "fee": fmt_scaled((pos.fee + pos.roll_fees) * up, pair.cost_decimals),
            "vol": fmt_scaled(vol, pair.lot_decimals),
            "vol_closed": fmt_scaled(0, pair.lot_decimals),
            "margin": fmt_scaled(pos.margin * up, pair.cost_decimals),
            "terms": f"{Decimal(ROLLOVER_RATE) / 100:.4f}% per 4 hours",
            "rollovertm": str((last_roll + ROLLOVER_EVERY) // TICKS),
            "misc": "",
            "oflags": "",
        }
        if docalcs:
            value, net = _value(pos, price)
            rec["value"] = str(value)
            rec["net"] = f"+{net}" if net >= 0 else str(net)
        out[store.trade_id(pos.idx)] = rec
    return out


def trade_balance_figures(store: Store, price: Price, target: Decimal, eb: Decimal) -> dict[str, str] | None:
    """TradeBalance's margin figures in the denomination priced `target` (USD), or None with no position open."""
    opened = open_positions(store)
    if not opened:
        return None
    m = cost = value = net = Decimal(0)
    for pos in opened:
        quote = c.PAIRS[pos.pair].quote
        qdec = c.ASSETS[quote].decimals
        usd = price(quote)
        v, n = _value(pos, price)
        m += Decimal(pos.margin).scaleb(-qdec) * usd
        cost += Decimal(pos.cost).scaleb(-qdec) * usd
        value += v * usd
        net += n * usd
    unit = Decimal("0.0001")
    m, cost, value, net = ((x / target).quantize(unit, ROUND_DOWN) for x in (m, cost, value, net))
    e = eb + net
    return {"eb": str(eb), "tb": str(eb), "m": str(m), "n": str(net), "c": str(cost), "v": str(value),
            "e": str(e), "mf": str(e - m), "ml": str((e * 100 / m).quantize(Decimal("0.01"), ROUND_DOWN))}
