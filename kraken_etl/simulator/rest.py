"""Kraken's REST surface: ``/0/private/<Method>`` (POST) and ``/0/public/<Method>`` (GET/POST).

Every answer is HTTP 200 with Kraken's envelope ``{"error": [...], "result": ...}``, except the
transport faults (HTML 5xx pages, hung responses, truncated JSON), which imitate what Cloudflare or a
broken connection gives a client. JSON is written by `jsontext.dumps`, so times are exact numbers.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.auth import ApiError
from kraken_etl.simulator.context import SimContext
from kraken_etl.simulator.jsontext import Num, dumps
from kraken_etl.simulator.marketapi import LIMITED, ohlc, trades
from kraken_etl.simulator.params import Params, parse_body
from kraken_etl.simulator.private import PRIVATE


def envelope(result: Any = None, error: list[str] | None = None) -> dict[str, Any]:
    """Kraken's response envelope."""
    if error:
        return {"error": error}
    return {"error": [], "result": result}


def _json(ctx: SimContext, payload: dict[str, Any], truncate: bool) -> Response:
    text = dumps(payload)
    if truncate:
        text = text[: max(1, len(text) // 2)]
    return Response(text, media_type="application/json")


async def _transport_fault(ctx: SimContext) -> tuple[Response | None, bool]:
    """Apply a drawn transport fault; returns (response to send instead, truncate-json flag)."""
    fate = ctx.faults.draw_transport()
    if fate == "5xx":
        status = ctx.faults.pick_status()
        return HTMLResponse(f"<html><body><h1>{status} Error</h1>cloudflare</body></html>", status), False
    if fate == "hang":
        await asyncio.sleep(ctx.faults.spec.hang_seconds)
        return HTMLResponse("<html><body><h1>504 Gateway Time-out</h1></body></html>", 504), False
    if fate == "unavailable":
        return _json(ctx, envelope(error=["EService:Unavailable"]), False), False
    if fate == "busy":
        return _json(ctx, envelope(error=["EService:Busy"]), False), False
    return None, fate == "truncate"


async def private(request: Request) -> Response:
    """``POST /0/private/<Method>``."""
    ctx: SimContext = request.app.state.fleet.for_key(request.headers.get("API-Key"))
    method = request.path_params["method"]
    body = await request.body()
    replaced, truncate = await _transport_fault(ctx)
    if replaced is not None:
        return replaced
    try:
        handler = PRIVATE.get(method)
        if handler is None:
            raise ApiError("EGeneral:Unknown method")
        params = parse_body(body, request.headers.get("content-type", ""))
        key = ctx.auth.authenticate(method, request.url.path, body, request.headers.get("API-Key"),
                                    request.headers.get("API-Sign"), params.get("nonce"))
        params["__key_name"] = key.name
        result = handler(ctx, params)
        if inspect.isawaitable(result):
            result = await result
    except ApiError as exc:
        return _json(ctx, envelope(error=[exc.message]), truncate)
    if isinstance(result, Response):
        return result
    return _json(ctx, envelope(result), truncate)


def _asset_record(i: int) -> dict[str, Any]:
    a = c.ASSETS[i]
    return {"aclass": "currency", "altname": a.altname, "decimals": a.decimals,
            "display_decimals": a.display_decimals, "collateral_value": Num("1.0"), "status": "enabled"}


def _pair_record(i: int) -> dict[str, Any]:
    p = c.PAIRS[i]
    tiers = [(0, "0.26", "0.16"), (50_000, "0.24", "0.14"), (100_000, "0.22", "0.12")]
    return {
        "altname": p.altname, "wsname": p.wsname, "aclass_base": "currency",
        "base": c.ASSETS[p.base].id, "aclass_quote": "currency", "quote": c.ASSETS[p.quote].id,
        "lot": "unit", "cost_decimals": p.cost_decimals, "pair_decimals": p.pair_decimals,
        "lot_decimals": p.lot_decimals, "lot_multiplier": 1, "leverage_buy": [], "leverage_sell": [],
        "fees": [[v, Num(t)] for v, t, _ in tiers], "fees_maker": [[v, Num(m)] for v, _, m in tiers],
        "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40, "ordermin": "0.0001",
        "costmin": "0.5", "tick_size": "0." + "0" * (p.pair_decimals - 1) + "1" if p.pair_decimals else "1",
        "status": "online",
    }


def _public_result(ctx: SimContext, method: str, params: Params) -> Any:
    now = ctx.clock.now()
    if method == "Time":
        return {"unixtime": int(now),
                "rfc1123": time.strftime("%a, %d %b %y %H:%M:%S +0000", time.gmtime(now))}
    if method == "SystemStatus":
        return {"status": "online", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}
    if method == "Assets":
        wanted = [x.strip() for x in (params.get("asset") or "").split(",") if x.strip()]
        codes = [c.asset_by_name(x) for x in wanted] if wanted else list(range(len(c.ASSETS)))
        if any(code is None for code in codes):
            raise ApiError("EQuery:Unknown asset")
        return {c.ASSETS[i].id: _asset_record(i) for i in codes if i is not None}
    if method == "AssetPairs":
        wanted = [x.strip() for x in (params.get("pair") or "").split(",") if x.strip()]
        pcodes = [c.PAIR_BY_NAME.get(x) for x in wanted] if wanted else list(range(len(c.PAIRS)))
        if any(code is None for code in pcodes):
            raise ApiError("EQuery:Unknown asset pair")
        return {c.PAIRS[i].key: _pair_record(i) for i in pcodes if i is not None}
    if method == "OHLC":
        return ohlc(ctx.market, params, ctx.now_ticks(), ctx.market_faults().get("candle_skewed"))
    if method == "Trades":
        return trades(ctx.market, params, ctx.now_ticks())
    raise ApiError("EGeneral:Unknown method")


async def public(request: Request) -> Response:
    """``GET|POST /0/public/<Method>``."""
    ctx: SimContext = request.app.state.sim
    replaced, truncate = await _transport_fault(ctx)
    if replaced is not None:
        return replaced
    params: Params = dict(request.query_params)
    if request.method == "POST":
        params.update(parse_body(await request.body(), request.headers.get("content-type", "")))
    try:
        if request.path_params["method"] in LIMITED:
            ctx.public_limiter.charge(request.client.host if request.client else "", request.path_params["method"],
                                      ctx.clock.now())
        result = _public_result(ctx, request.path_params["method"], params)
    except ApiError as exc:
        return _json(ctx, envelope(error=[exc.message]), truncate)
    return _json(ctx, envelope(result), truncate)


ROUTES = [
    Route("/0/private/{method}", private, methods=["POST"]),
    Route("/0/public/{method}", public, methods=["GET", "POST"]),
]
