"""Rendering stored rows as Kraken's REST records (only for the rows of the page being served).

Formats (Kraken's REST documentation): amounts as decimal strings at the asset's decimals (ledger, balances)
or the pair's decimals (trades, orders); times as JSON numbers with 4 decimals (7 when the time has a
finer fraction); ``starttm``/``expiretm`` ``0``; OrderAmends timestamps as integer nanoseconds.
"""

from __future__ import annotations

from typing import Any

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.generator import TICKS
from kraken_etl.simulator.ids import funding_refid, hashed_id
from kraken_etl.simulator.jsontext import Num
from kraken_etl.simulator.store import Store

FT_CUTOVER = 1_723_680_000 * TICKS  # 2024-08-15: funding refids become mixed-case FT… (assumed year)
TRADESPOT_SINCE = 1_735_689_600 * TICKS  # 2025-01-01: trade legs carry subtype "tradespot" (assumed)


def fmt_scaled(value: int, decimals: int) -> str:
    """A scaled integer as fixed-point text (``-12345, 4`` → ``"-1.2345"``)."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**decimals)
    if decimals == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:0{decimals}d}"


def fmt_time(ticks: int) -> Num:
    """Ticks (1e-7 s) as Kraken's JSON time number (4 decimals, or 7 when needed)."""
    sec, frac = divmod(ticks, TICKS)
    if frac % 1_000 == 0:
        return Num(f"{sec}.{frac // 1_000:04d}")
    return Num(f"{sec}.{frac:07d}")


def refid(store: Store, kind: int, idx: int, ticks: int) -> str:
    """The refid text of a ledger row from its reference kind and index."""
    seed = store.seed
    if kind == c.REF_TRADE:
        return store.trade_id(idx)
    if kind in (c.REF_DEPOSIT, c.REF_WITHDRAWAL):
        if ticks >= FT_CUTOVER and idx % 3 != 0:
            return funding_refid(seed, kind * 10_000_000 + idx)
        return hashed_id(seed, "Q" if kind == c.REF_DEPOSIT else "A", idx, (7, 6, 6))
    # The prefix of Buy Crypto (spend/receive) refids is not documented: "S" is assumed.
    prefix = {c.REF_STAKING: "ST", c.REF_EARN: "E", c.REF_TRANSFER: "B", c.REF_CREDIT: "C", c.REF_SPEND: "S"}[kind]
    shape = (7,) if kind == c.REF_EARN else (6, 5, 6)
    return hashed_id(seed, prefix, idx, shape)


def ledger_fields(store: Store, pos: int) -> dict[str, Any]:
    """Every stored fact of one ledger row, decoded (REST record + wallet + typed extras)."""
    cols = store.ledger.columns()
    ticks = int(cols["time"][pos])
    asset = c.ASSETS[int(cols["asset"][pos])]
    ltype = c.LEDGER_TYPES[int(cols["type"][pos])]
    subtype = c.SUBTYPES[int(cols["subtype"][pos])]
    if subtype == "tradespot" and ticks < TRADESPOT_SINCE:
        subtype = ""
    d = asset.decimals
    if ltype == "rollover" and store.rollover_refid == "own":  # the `rollover_refid` knob (UNVERIFIED)
        ref = hashed_id(store.seed, "R", pos)
    else:
        ref = refid(store, int(cols["refkind"][pos]), int(cols["refidx"][pos]), ticks)
    return {
        "refid": ref,
        "time": fmt_time(ticks),
        "type": ltype,
        "subtype": subtype,
        "aclass": "currency",
        "asset": asset.id,
        "amount": fmt_scaled(int(cols["amount"][pos]), d),
        "fee": fmt_scaled(int(cols["fee"][pos]), d),
        "balance": fmt_scaled(int(cols["balance"][pos]), d),
        "wallet": c.WALLETS[int(cols["wallet"][pos])],
    }


# The `rest_wallet_suffix` knob: REST names earn-wallet rows and balances by a suffixed asset (UNVERIFIED).
WALLET_SUFFIX = {c.EARN_FLEX: ".F", c.EARN_BONDED: ".B", c.EARN_LIQUID: ".M"}


def suffixed(asset: int, wallet: int) -> str:
    """The REST asset id of (asset, wallet) when earn wallets are marked by suffix: ``XBT.F``, ``SOL.B``."""
    if wallet not in WALLET_SUFFIX:
        return c.ASSETS[asset].id
    return c.ASSETS[asset].altname + WALLET_SUFFIX[wallet]


def ledger_record(store: Store, pos: int, *, wallet: bool = False) -> dict[str, Any]:
    """The Ledgers/QueryLedgers record (REST omits `wallet`; truth adds it, and ignores the REST faults)."""
    rec = ledger_fields(store, pos)
    if wallet:
        return rec
    del rec["wallet"]
    d = store.discrepancies
    if pos in d.leg_amount or pos in d.altered_balance:
        decimals = c.ASSETS[int(store.ledger.col("asset")[pos])].decimals
        amount = int(store.ledger.col("amount")[pos]) + d.leg_amount.get(pos, 0)
        balance = int(store.ledger.col("balance")[pos]) + d.altered_balance.get(pos, 0)
        rec["amount"], rec["balance"] = fmt_scaled(amount, decimals), fmt_scaled(balance, decimals)
    if store.rest_wallet_suffix:
        rec["asset"] = suffixed(int(store.ledger.col("asset")[pos]), int(store.ledger.col("wallet")[pos]))
    return rec


def trade_ledger_ids(store: Store, idx: int) -> list[str]:
    """Ids of a trade's ledger legs."""
    first = int(store.trades.col("leg")[idx])
    return [store.ledger_id(first + k) for k in range(int(store.trades.col("nlegs")[idx]))]


def trade_record(store: Store, idx: int, *, ledgers: bool = False) -> dict[str, Any]:
    """The TradesHistory/QueryTrades record of trade `idx`."""
    cols = store.trades.columns()
    pair = c.PAIRS[int(cols["pair"][idx])]
    qdec = c.ASSETS[pair.quote].decimals
    up = 10 ** (pair.cost_decimals - qdec)
    rec: dict[str, Any] = {
        "ordertxid": store.order_id(int(cols["order"][idx])),
        "postxid": c.POSTXID,
        "pair": pair.key,
        "aclass": "currency",
        "time": fmt_time(int(cols["time"][idx])),
        "type": c.SIDES[int(cols["side"][idx])],
        "ordertype": c.ORDER_TYPES[int(cols["otype"][idx])],
        "price": fmt_scaled(int(cols["price"][idx]), pair.pair_decimals),
        "cost": fmt_scaled(int(cols["cost"][idx]) * up, pair.cost_decimals),
        "fee": fmt_scaled(int(cols["fee"][idx]) * up, pair.cost_decimals),
        "vol": fmt_scaled(int(cols["vol"][idx]), pair.lot_decimals),
        "margin": fmt_scaled(0, pair.cost_decimals),
        "leverage": "0",
        "misc": "",
        "trade_id": c.TRADE_ID_BASE + idx,
        "maker": bool(cols["maker"][idx]),
    }
    if int(cols["pos"][idx]):  # a position trade (profile margin-trader)
        from kraken_etl.simulator.positions import margin_trade_fields  # positions renders with this module

        margin_trade_fields(store, idx, rec)
    if ledgers:
        rec["ledgers"] = trade_ledger_ids(store, idx)
    return rec


def order_record(store: Store, idx: int, *, trades: bool = False, truth: bool = False) -> dict[str, Any]:
    """The ClosedOrders/QueryOrders record of order `idx` (`truth` ignores the vol_exec fault)."""
    cols = store.orders.columns()
    pair = c.PAIRS[int(cols["pair"][idx])]
    qdec = c.ASSETS[pair.quote].decimals
    up = 10 ** (pair.cost_decimals - qdec)
    side = c.SIDES[int(cols["side"][idx])]
    otype = c.ORDER_TYPES[int(cols["otype"][idx])]
    vol = int(cols["vol"][idx])
    vol_exec = int(cols["vol_exec"][idx])
    if not truth:
        vol_exec = store.discrepancies.vol_exec.get(idx, vol_exec)
    cost = int(cols["cost"][idx])
    limit = fmt_scaled(int(cols["limit"][idx]), pair.pair_decimals)
    avg = 0
    if vol_exec:
        # average price = cost / vol_exec at pair decimals (cost in quote units, vol in lot units)
        avg = cost * 10 ** (pair.pair_decimals + pair.lot_decimals) // (vol_exec * 10**qdec)
    amended = bool(cols["amended"][idx])
    where = otype if otype in ("market", "settle-position") else f"{otype.replace('-', ' ')} {limit}"
    lev = int(cols["lev"][idx])
    reason = c.ORDER_REASONS[int(cols["reason"][idx])]
    rec: dict[str, Any] = {
        "refid": None,
        "userref": int(cols["userref"][idx]),
        "cl_ord_id": None,
        "status": c.ORDER_STATUSES[int(cols["status"][idx])],
        "reason": reason,
        "opentm": fmt_time(int(cols["opentm"][idx])),
        "closetm": fmt_time(int(cols["closetm"][idx])),
        "starttm": 0,
        "expiretm": 0,
        "descr": {
            "pair": pair.altname,
            "type": side,
            "ordertype": otype,
            "price": "0" if otype in ("market", "settle-position") else limit,
            "price2": "0",
            "leverage": f"{lev}:1" if lev else "none",
            "order": f"{side} {fmt_scaled(vol, pair.lot_decimals)} {pair.altname} @ {where}",
            "close": "",
        },
        "vol": fmt_scaled(vol, pair.lot_decimals),
        "vol_exec": fmt_scaled(vol_exec, pair.lot_decimals),
        "cost": fmt_scaled(cost * up, pair.cost_decimals),
        "fee": fmt_scaled(int(cols["fee"][idx]) * up, pair.cost_decimals),
        "price": fmt_scaled(avg, pair.pair_decimals),
        "stopprice": fmt_scaled(0, pair.cost_decimals),
        "limitprice": fmt_scaled(0, pair.cost_decimals),
        "misc": "amended" if amended else "",
        "oflags": c.OFLAGS[int(cols["oflags"][idx])],
        "amended": amended,
    }
    if lev:
        rec["margin"] = True  # an order on margin (ClosedOrders' optional `margin`)
    if trades:
        first = int(cols["first_trade"][idx])
        rec["trades"] = [store.trade_id(first + k) for k in range(int(cols["ntrades"][idx]))]
    return rec


def amend_records(store: Store, idx: int) -> list[dict[str, Any]]:
    """OrderAmends entries of order `idx`, ascending by time (empty when never amended)."""
    pair = c.PAIRS[int(store.orders.col("pair")[idx])]
    out = []
    for k, (kind, qty, remaining, price, ts_ns) in enumerate(store.amends.get(idx, [])):
        out.append({
            "amend_id": hashed_id(store.seed, "T", idx * 16 + k + 1),
            "amend_type": c.AMEND_TYPES[kind],
            "order_qty": fmt_scaled(qty, pair.lot_decimals),
            "remaining_qty": fmt_scaled(remaining, pair.lot_decimals),
            "limit_price": fmt_scaled(price, pair.pair_decimals),
            "post_only": False,
            "timestamp": ts_ns,
        })
    return out


def balance_result(store: Store, *, truth: bool = False) -> dict[str, str]:
    """Balance: per asset, the sum over wallets of the last ledger balance (+ drift unless truth)."""
    drift = {} if truth else store.discrepancies.balance_drift
    out = {}
    split = store.rest_wallet_suffix and not truth
    for asset, wallets in store.balances().items():
        a = c.ASSETS[asset]
        if split:
            for wallet, value in wallets.items():
                if wallet in WALLET_SUFFIX:
                    out[suffixed(asset, wallet)] = fmt_scaled(value, a.decimals)
            spot = sum(v for w, v in wallets.items() if w not in WALLET_SUFFIX)
            out[a.id] = fmt_scaled(spot + drift.get(asset, 0), a.decimals)
            continue
        out[a.id] = fmt_scaled(sum(wallets.values()) + drift.get(asset, 0), a.decimals)
    return out


def balance_ex_result(store: Store, *, truth: bool = False) -> dict[str, dict[str, str]]:
    """BalanceEx: balance and hold_trade (no open orders are ever held) as strings."""
    out = {}
    for asset_id, text in balance_result(store, truth=truth).items():
        code = c.asset_by_name(asset_id.split(".")[0] if asset_id not in c.ASSET_CODE else asset_id)
        d = c.ASSETS[code if code is not None else 0].decimals
        out[asset_id] = {"balance": text, "hold_trade": fmt_scaled(0, d)}
    return out
