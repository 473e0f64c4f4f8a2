"""Margin positions as Kraken's REST shows them: position fields of trades, ``OpenPositions``, and the margin
figures of ``TradeBalance`` (the positions themselves are written by `shapes_margin`).

- An opening trade has ``posstatus`` (``open``, ``partial`` once part of it closed (UNVERIFIED), ``closed``)
  and, once any part closed, ``cprice`` (the closed part's average price), ``ccost, cfee, cvol, cmargin,
  net`` of the closed part and ``trades`` (the closing trades' txids); a closing (or settling) trade has
  ``postxid`` = the opening trade's txid and ``misc`` ``closing``. Both carry ``margin`` and ``leverage``.
- ``OpenPositions`` is keyed by the position's txid (its opening trade's); ``vol`` is the opening volume and
  ``vol_closed`` what closing trades closed so far; ``fee`` is the opening fee plus the rollovers charged so
  far (UNVERIFIED); ``cost`` and ``margin`` stay the opening ones (UNVERIFIED); with ``docalcs`` it adds
  ``value`` and ``net`` of the open volume at the market path's price now, ``net`` signed with a leading
  ``+`` when not negative (a quirk seen in real answers).
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
    done = [x for x in pos.closes if x.idx < store.trades.n]
    cvol = sum(x.vol for x in done)
    rec["posstatus"] = "open" if not done else "closed" if cvol == pos.vol else "partial"
    if done:
        fee = sum(x.fee for x in done)
        net = sum(x.pnl for x in done) - (fee if store.margin_net == "after_fees" else 0)
        cprice = done[0].price if len(done) == 1 else sum(x.price * x.vol for x in done) // cvol
        rec.update(cprice=fmt_scaled(cprice, pair.pair_decimals),
                   ccost=fmt_scaled(sum(x.cost for x in done) * up, pair.cost_decimals),
                   cfee=fmt_scaled(fee * up, pair.cost_decimals),
                   cvol=fmt_scaled(cvol, pair.lot_decimals),
                   cmargin=fmt_scaled(pos.margin * cvol // pos.vol * up, pair.cost_decimals),
                   net=fmt_scaled(net * up, pair.cost_decimals),
                   trades=[store.trade_id(x.idx) for x in done])


def closed_vol(store: Store, pos: Position) -> int:
    """The volume of `pos` its closing trades served so far closed (lot units)."""
    return sum(x.vol for x in pos.closes if x.idx < store.trades.n)


def open_positions(store: Store) -> list[Position]:
    """The positions open now (their opening trade stored, no closing trade yet), oldest first."""
    n = store.trades.n
    return [p for i, p in sorted(positions_of(store.gen.state).items()) if i < n and not 0 <= p.closing < n]


def _value(store: Store, pos: Position, price: Price) -> tuple[Decimal, Decimal]:
    """The open volume's value now and its unrealised net, in its quote currency at the quote's decimals."""
    pair = c.PAIRS[pos.pair]
    qdec = c.ASSETS[pair.quote].decimals
    unit = Decimal(1).scaleb(-qdec)
    left = pos.vol - closed_vol(store, pos)
    value = (Decimal(left).scaleb(-LOT) * price(pair.base) / price(pair.quote)).quantize(unit, ROUND_DOWN)
    cost = Decimal(pos.cost * left // pos.vol).scaleb(-qdec)
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
            "vol_closed": fmt_scaled(closed_vol(store, pos), pair.lot_decimals),
            "margin": fmt_scaled(pos.margin * up, pair.cost_decimals),
            "terms": f"{Decimal(ROLLOVER_RATE) / 100:.4f}% per 4 hours",
            "rollovertm": str((last_roll + ROLLOVER_EVERY) // TICKS),
            "misc": "",
            "oflags": "",
        }
        if docalcs:
            value, net = _value(store, pos, price)
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
        v, n = _value(store, pos, price)
        m += Decimal(pos.margin).scaleb(-qdec) * usd
        cost += Decimal(pos.cost * (pos.vol - closed_vol(store, pos)) // pos.vol).scaleb(-qdec) * usd
        value += v * usd
        net += n * usd
    unit = Decimal("0.0001")
    m, cost, value, net = ((x / target).quantize(unit, ROUND_DOWN) for x in (m, cost, value, net))
    e = eb + net
    return {"eb": str(eb), "tb": str(eb), "m": str(m), "n": str(net), "c": str(cost), "v": str(value),
            "e": str(e), "mf": str(e - m), "ml": str((e * 100 / m).quantize(Decimal("0.01"), ROUND_DOWN))}
