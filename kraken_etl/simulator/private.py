"""Private method handlers: each takes the context and parsed params and returns the ``result``.

Paging follows the reference: 50 per page (``page_size``), newest first, ``start`` exclusive and
``end`` inclusive (unix seconds or an id → that record's time; for orders, its ``opentm``), ``ofs``,
``count`` (omitted with ``without_count`` when ``without_count_omits``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import anyio.to_thread
from starlette.responses import FileResponse, Response

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.auth import ApiError
from kraken_etl.simulator.context import SimContext
from kraken_etl.simulator.market import USD_PAIR
from kraken_etl.simulator.params import Params, bound, flag, id_list, integer
from kraken_etl.simulator.positions import open_positions_result, trade_balance_figures
from kraken_etl.simulator.records import (
    amend_records,
    balance_ex_result,
    balance_result,
    fmt_scaled,
    ledger_record,
    order_record,
    trade_record,
)

Handler = Callable[[SimContext, Params], "dict[str, Any] | list[Any] | Awaitable[Response]"]

# Kraken's official ledger `type` enum (Kraken's Ledgers documentation) plus types seen in the wild.
KNOWN_TYPES = {
    "all", "none", "trade", "deposit", "withdrawal", "transfer", "margin", "adjustment", "rollover",
    "spend", "receive", "settled", "credit", "staking", "reward", "dividend", "sale", "conversion",
    "nfttrade", "nftcreatorfee", "nftrebate", "custodytransfer", "earn", "nft_rebate",
}


def _drift(ctx: SimContext, params: Params) -> None:
    """The count_drift fault: new entries arrive while a client pages (ofs > 0)."""
    if (integer(params, "ofs") or 0) > 0 and ctx.faults.take("drift"):
        ctx.advance(ctx.faults.spec.drift_entries)


def _count(ctx: SimContext, params: Params, result: dict[str, Any], count: int) -> dict[str, Any]:
    if not (flag(params, "without_count") and ctx.config.without_count_omits):
        result["count"] = count
    return result


def ledgers(ctx: SimContext, params: Params) -> dict[str, Any]:
    """Ledgers."""
    store = ctx.store
    _drift(ctx, params)
    assets: frozenset[int] | None = None
    asset_text = (params.get("asset") or "all").strip()
    if asset_text.lower() != "all":
        codes = [c.asset_by_name(a.strip()) for a in asset_text.split(",") if a.strip()]
        assets = frozenset(a for a in codes if a is not None)
    types: frozenset[int] | None = None
    type_text = (params.get("type") or "all").strip().lower()
    if type_text != "all":
        names = {t.strip() for t in type_text.split(",")}
        if not names <= KNOWN_TYPES:
            raise ApiError("EGeneral:Invalid arguments:type")
        types = frozenset(c.LEDGER_TYPE_CODE[t] for t in names if t in c.LEDGER_TYPE_CODE)

    def id_time(text: str) -> int | None:
        pos = store.ledger_pos(text)
        return None if pos is None else int(store.ledger.col("time")[pos])

    start, end = bound(params, "start", id_time), bound(params, "end", id_time)
    ofs = integer(params, "ofs", 0) or 0
    with store.lock:
        page = store.ledger_page(assets, types, start, end, ofs, ctx.config.page_size)
        rows = {store.ledger_id(p): ledger_record(store, p) for p in page.positions}
    return _count(ctx, params, {"ledger": rows}, page.count)


def query_ledgers(ctx: SimContext, params: Params) -> dict[str, Any]:
    """QueryLedgers: a bare id → record map (max 20 ids; hidden rows do not exist for REST)."""
    store = ctx.store
    out = {}
    for text in id_list(params, "id", 20):
        pos = store.ledger_pos(text)
        if pos is None or pos in store.discrepancies.hidden_ledger:
            raise ApiError("EGeneral:Invalid arguments:id")
        out[text] = ledger_record(store, pos)
    return out


def trades_history(ctx: SimContext, params: Params) -> dict[str, Any]:
    """TradesHistory (the `type` filter is not modelled: ``all`` and ``no position`` list every trade)."""
    store = ctx.store
    _drift(ctx, params)
    kind = (params.get("type") or "all").strip().lower()
    if kind not in ("all", "any position", "closed position", "closing position", "no position"):
        raise ApiError("EGeneral:Invalid arguments:type")

    def id_time(text: str) -> int | None:
        idx = store.trade_idx(text)
        return None if idx is None else int(store.trades.col("time")[idx])

    start, end = bound(params, "start", id_time), bound(params, "end", id_time)
    ofs = integer(params, "ofs", 0) or 0
    with_ledgers = flag(params, "ledgers")
    if kind not in ("all", "no position"):
        return _count(ctx, params, {"trades": {}}, 0)
    with store.lock:
        page = store.trade_page(start, end, ofs, ctx.config.page_size)
        rows = {store.trade_id(i): trade_record(store, i, ledgers=with_ledgers) for i in page.positions}
    return _count(ctx, params, {"trades": rows}, page.count)


def query_trades(ctx: SimContext, params: Params) -> dict[str, Any]:
    """QueryTrades: a bare txid → trade map (max 20)."""
    out = {}
    for text in id_list(params, "txid", 20):
        idx = ctx.store.trade_idx(text)
        if idx is None:
            raise ApiError("EGeneral:Invalid arguments:txid")
        out[text] = trade_record(ctx.store, idx)
    return out


def closed_orders(ctx: SimContext, params: Params) -> dict[str, Any]:
    """ClosedOrders (`closetime` open|close|both; ids as bounds map to the order's opentm)."""
    store = ctx.store
    _drift(ctx, params)
    closetime = (params.get("closetime") or "both").strip().lower()
    if closetime not in ("open", "close", "both"):
        raise ApiError("EGeneral:Invalid arguments:closetime")

    def id_time(text: str) -> int | None:
        idx = store.order_idx(text)
        return None if idx is None else int(store.orders.col("opentm")[idx])

    start, end = bound(params, "start", id_time), bound(params, "end", id_time)
    ofs = integer(params, "ofs", 0) or 0
    userref = integer(params, "userref", None, minimum=-(2**31))
    with_trades = flag(params, "trades")
    if (params.get("cl_ord_id") or "").strip():
        return _count(ctx, params, {"closed": {}}, 0)  # no generated order carries a cl_ord_id
    with store.lock:
        page = store.order_page(closetime, start, end, userref, ofs, ctx.config.page_size)
        rows = {store.order_id(i): order_record(store, i, trades=with_trades) for i in page.positions}
    return _count(ctx, params, {"closed": rows}, page.count)


def query_orders(ctx: SimContext, params: Params) -> dict[str, Any]:
    """QueryOrders: a bare txid → order map (max 50)."""
    with_trades = flag(params, "trades")
    userref = integer(params, "userref", None, minimum=-(2**31))
    out = {}
    for text in id_list(params, "txid", 50):
        idx = ctx.store.order_idx(text)
        if idx is None:
            raise ApiError("EGeneral:Invalid arguments:txid")
        rec = order_record(ctx.store, idx, trades=with_trades)
        if userref is None or rec["userref"] == userref:
            out[text] = rec
    return out


def order_amends(ctx: SimContext, params: Params) -> dict[str, Any]:
    """OrderAmends: the audit trail (``order_id``; ``txid`` accepted too, as the schema's list says)."""
    text = (params.get("order_id") or params.get("txid") or "").strip()
    idx = ctx.store.order_idx(text) if text else None
    if idx is None:
        raise ApiError("EGeneral:Invalid arguments:order_id")
    amends = amend_records(ctx.store, idx)
    return {"amends": amends, "count": len(amends)}


def balance(ctx: SimContext, params: Params) -> dict[str, Any]:
    """Balance."""
    with ctx.store.lock:
        return balance_result(ctx.store)


def balance_ex(ctx: SimContext, params: Params) -> dict[str, Any]:
    """BalanceEx."""
    with ctx.store.lock:
        return balance_ex_result(ctx.store)


def trade_balance(ctx: SimContext, params: Params) -> dict[str, Any]:
    """TradeBalance: spot-only account, valued at the market path's price now (each asset through its USD
    pair; KFEE fixed) and expressed in `asset` (the denomination), so eb(USD) / eb(A) is the price of A.
    The trade_balance_skew fault makes the price of one asset wrong, as a wrong price would be on Kraken: in
    every code it prices (ETH2.S with ETH) and in every denomination (asked in that asset, too)."""
    code = c.asset_by_name((params.get("asset") or "ZUSD").strip())
    if code is None:
        raise ApiError("EGeneral:Invalid arguments:asset")
    now = ctx.now_ticks()

    skewed = ctx.market_faults().get("trade_balance_skewed")

    def usd(asset: int) -> Decimal:
        value, places = ctx.market.usd_price(asset, now)
        price = Decimal(value).scaleb(-places)
        pair = USD_PAIR.get(asset)
        if skewed and pair is not None and c.ASSETS[c.PAIRS[pair].base].id == skewed["asset"]:
            price = price * (100 + skewed["percent"]) / 100
        return price

    target = usd(code)
    total = Decimal(0)
    for asset_id, text in balance_result(ctx.store).items():
        # a suffixed REST id (knob rest_wallet_suffix: XBT.F) is valued as its asset
        code_of = c.ASSET_CODE.get(asset_id)
        if code_of is None:
            code_of = c.asset_by_name(asset_id.split(".")[0])
        if code_of is None:
            raise KeyError(asset_id)
        total += Decimal(text) * usd(code_of)
    eb = fmt_scaled(int(total / target * 10_000), 4)
    with ctx.store.lock:
        margin = trade_balance_figures(ctx.store, usd, target, Decimal(eb))
    if margin is not None:
        return margin
    zero = fmt_scaled(0, 4)
    return {"eb": eb, "tb": eb, "m": zero, "n": zero, "c": zero, "v": zero, "e": eb, "mf": eb}


def open_positions(ctx: SimContext, params: Params) -> dict[str, Any]:
    """OpenPositions: the positions open now by txid (`txid` filters; `docalcs` adds value and net)."""
    wanted = set(id_list(params, "txid", 50)) if (params.get("txid") or "").strip() else None
    with ctx.store.lock:
        result = open_positions_result(ctx.store, ctx.usd_now, docalcs=flag(params, "docalcs"))
    return result if wanted is None else {k: v for k, v in result.items() if k in wanted}


def add_export(ctx: SimContext, params: Params) -> dict[str, Any]:
    """AddExport."""
    stuck = ctx.faults.take("stuck")
    return {"id": ctx.exports.add(params, ctx.clock.now(), stuck)}


def export_status(ctx: SimContext, params: Params) -> list[Any]:
    """ExportStatus."""
    return ctx.exports.status((params.get("report") or "").strip(), ctx.clock.now())


async def retrieve_export(ctx: SimContext, params: Params) -> Response:
    """RetrieveExport: the zip bytes (built in a worker thread the first time)."""
    job = ctx.exports.ready_job((params.get("id") or "").strip(), ctx.clock.now())
    corrupt = ctx.faults.take("corrupt")
    path = await anyio.to_thread.run_sync(ctx.exports.zip_path, job, corrupt)
    return FileResponse(path, media_type="application/zip", filename=f"{job.id}.zip")


def remove_export(ctx: SimContext, params: Params) -> dict[str, Any]:
    """RemoveExport."""
    return ctx.exports.remove((params.get("id") or "").strip(), (params.get("type") or "").strip(),
                              ctx.clock.now())


def websockets_token(ctx: SimContext, params: Params) -> dict[str, Any]:
    """GetWebSocketsToken (the key name is filled in by the dispatcher)."""
    key_name = params.get("__key_name", "default")
    return {"token": ctx.tokens.issue(key_name, ctx.clock.now()), "expires": int(ctx.config.ws_token_ttl)}


PRIVATE: dict[str, Callable[..., Any]] = {
    "Balance": balance, "BalanceEx": balance_ex, "TradeBalance": trade_balance,
    "Ledgers": ledgers, "QueryLedgers": query_ledgers,
    "TradesHistory": trades_history, "QueryTrades": query_trades,
    "ClosedOrders": closed_orders, "QueryOrders": query_orders, "OrderAmends": order_amends,
    "OpenPositions": open_positions,
    "AddExport": add_export, "ExportStatus": export_status, "RetrieveExport": retrieve_export,
    "RemoveExport": remove_export, "GetWebSocketsToken": websockets_token,
}
