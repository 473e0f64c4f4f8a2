"""Admin endpoints under ``/_sim`` (outside Kraken's paths; loopback clients only).

- ``GET /_sim/truth/ledgers`` → ``{"ledger": {id: record + "wallet"}, "count": n}`` (newest first)
- ``GET /_sim/truth/trades`` → ``{"trades": {txid: record with "ledgers"}, "count": n}``
- ``GET /_sim/truth/closed_orders`` → ``{"closed": {txid: record with "trades"}, "count": n}``
- ``GET /_sim/truth/order_amends`` → ``{"amends": {order_txid: [amend, ...]}}`` (amended orders only)
- ``GET /_sim/truth/prices?pair=&interval=&since=&until=`` → ``{"prices": {altname: {"key", "base", "quote",
  "interval", "candles": [[time, o, h, l, c, vwap, volume, count, complete], ...]}}, "now": t}``: the market
  path's candles over any range (see `simulator.market`)
- ``GET /_sim/ohlcvt?pair=&interval=&since=&until=`` → a zip of Kraken-style OHLCVT files of the path
  (``PAIR_INTERVAL.csv``, headerless ``time,open,high,low,close,volume,trades``)
- ``GET /_sim/truth/balances`` → ``{"balance": Balance result, "balance_ex": BalanceEx result}``
- ``POST /_sim/advance`` ``{"ledger_entries": N}`` → the new ids
- ``POST /_sim/activity`` ``{"entries_per_second": R}`` → background activity at that rate (0 stops)
- ``GET|POST /_sim/faults`` → the active fault spec and what it touched (POST replaces the spec; body
  is a JSON object of fault names, or ``{"spec": "name=value,..."}``)

Every endpoint but ``ohlcvt`` and ``truth/prices`` (the one market) takes ``?account=i`` (0-based, default 0) in a
simulator serving several accounts (`SimConfig.accounts`); an account that is not there is a 400.

Who may call them (a web page in the user's browser must not change the faults or read the truth):

- the peer is a loopback client (`SimConfig.admin_hosts`);
- the ``Host`` header names a loopback host (``localhost``, ``127.0.0.1``, ``[::1]``, with or without a
  port): a page on another name that resolves to 127.0.0.1 (DNS rebinding) is refused;
- a write (POST) that carries an ``Origin`` is refused unless that origin is the simulator's own
  (``http://`` + the Host header): browsers send it on every cross-origin POST, scripts do not need to.

Anything else gets 403. `serve` warns when it binds beyond loopback (`warn_if_exposed`).

Truth is what happened (hidden rows included, real vol_exec, undrifted balances); REST is what is
served. Records have exactly the REST shapes, so a test can compare them with ``==``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kraken_etl.simulator.auth import ApiError
from kraken_etl.simulator.context import SimContext
from kraken_etl.simulator.faults import FaultSpecError, fault_spec_from_mapping, parse_fault_spec
from kraken_etl.simulator.jsontext import dumps
from kraken_etl.simulator.marketapi import ohlcvt_files, ohlcvt_zip, truth_prices
from kraken_etl.simulator.positions import open_positions_result
from kraken_etl.simulator.records import (
    amend_records,
    balance_ex_result,
    balance_result,
    ledger_record,
    order_record,
    trade_record,
)

log = logging.getLogger(__name__)


def account_context(request: Request) -> SimContext:
    """The account an admin request names with ``?account=i`` (0-based; default 0, the first account).

    Raises:
        ValueError: for a value that is not an account of this simulator.
    """
    text = request.query_params.get("account", "0")
    try:
        index = int(text)
    except ValueError:
        raise ValueError("account must be an account number (0-based)") from None
    context: SimContext = request.app.state.fleet.for_index(index)
    return context


def _reply(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json")


_TEST_CLIENT = "testclient"  # Starlette's in-process TestClient: no socket, Host "testserver"


def is_loopback_name(name: str) -> bool:
    """Whether a host name or address (IPv6 with or without brackets) is loopback."""
    if name.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str | None:
    """The host of a ``Host`` header (``name``, ``name:port``, ``[v6]``, ``[v6]:port``); None if malformed."""
    parts = urlsplit(f"http://{header}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.path or parts.query or parts.fragment:
        return None
    return parts.hostname


def refusal(request: Request) -> str | None:
    """Why an admin request is refused (see the module docstring), or None when it may proceed."""
    ctx: SimContext = request.app.state.sim
    peer = request.client.host if request.client else ""
    if peer not in ctx.config.admin_hosts:
        return "admin endpoints are loopback-only"
    header = request.headers.get("host", "")
    name = _host_name(header)
    in_process = peer == _TEST_CLIENT and name == "testserver"
    if name is None or not (is_loopback_name(name) or in_process):
        return "admin endpoints answer only to a loopback Host header"
    origin = request.headers.get("origin")
    if request.method not in ("GET", "HEAD") and origin is not None and origin.rstrip("/") != f"http://{header}":
        return "cross-origin writes to admin endpoints are refused"
    return None


def _allowed(request: Request) -> bool:
    return refusal(request) is None


def _admitted(request: Request) -> SimContext | Response:
    """The account an admin request is for, or the response refusing it (not loopback, or no such account)."""
    if not _allowed(request):
        return _refused(request)
    try:
        return account_context(request)
    except ValueError as exc:
        return _reply({"error": str(exc)}, 400)


def _refused(request: Request) -> Response:
    return _reply({"error": refusal(request)}, 403)


def warn_if_exposed(host: str) -> bool:
    """Log a warning when the simulator binds `host` beyond loopback; whether it warned."""
    if is_loopback_name(host):
        return False
    log.warning("the simulator listens on %s, beyond loopback: other machines can reach it, and its "
                "admin endpoints refuse them only by the peer address; bind 127.0.0.1 unless you must", host)
    return True


def truth(ctx: SimContext, kind: str, query: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The ground truth of one kind (None for an unknown kind)."""
    store = ctx.store
    with store.lock:
        if kind == "ledgers":
            n = store.ledger.n
            rows = {store.ledger_id(p): ledger_record(store, p, wallet=True) for p in range(n - 1, -1, -1)}
            return {"ledger": rows, "count": n}
        if kind == "trades":
            n = store.trades.n
            trades = {store.trade_id(i): trade_record(store, i, ledgers=True) for i in range(n - 1, -1, -1)}
            return {"trades": trades, "count": n}
        if kind == "closed_orders":
            n = store.orders.n
            closed = {store.order_id(i): order_record(store, i, trades=True, truth=True)
                      for i in range(n - 1, -1, -1)}
            return {"closed": closed, "count": n}
        if kind == "order_amends":
            return {"amends": {store.order_id(i): amend_records(store, i) for i in sorted(store.amends)}}
        if kind == "prices":
            return truth_prices(ctx.market, query or {}, ctx.now_ticks())
        if kind == "balances":
            return {"balance": balance_result(store, truth=True),
                    "balance_ex": balance_ex_result(store, truth=True)}
        if kind == "positions":
            return {"positions": open_positions_result(store, ctx.usd_now, docalcs=True, truth=True)}
    return None


async def truth_route(request: Request) -> Response:
    """``GET /_sim/truth/{kind}``."""
    if not _allowed(request):
        return _refused(request)
    try:
        query = {k: v for k, v in request.query_params.items() if k != "account"}
        result = truth(account_context(request), request.path_params["kind"], query)
    except (ApiError, ValueError) as exc:
        return _reply({"error": getattr(exc, "message", str(exc))}, 400)
    if result is None:
        return _reply({"error": "unknown truth kind"}, 404)
    return _reply(result)


async def ohlcvt_route(request: Request) -> Response:
    """``GET /_sim/ohlcvt?pair=&interval=&since=&until=``: Kraken-style OHLCVT files of the path, zipped."""
    if not _allowed(request):
        return _refused(request)
    ctx: SimContext = request.app.state.sim
    try:
        files = ohlcvt_files(ctx.market, dict(request.query_params), ctx.now_ticks())
    except (ApiError, ValueError) as exc:
        return _reply({"error": getattr(exc, "message", str(exc))}, 400)
    return Response(ohlcvt_zip(files), media_type="application/zip")


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


async def advance_route(request: Request) -> Response:
    """``POST /_sim/advance``."""
    if not _allowed(request):
        return _refused(request)
    try:
        ctx = account_context(request)
        body = await _json_body(request)
        entries = int(body.get("ledger_entries", 10))
    except (ValueError, TypeError) as exc:
        return _reply({"error": str(exc)}, 400)
    if entries < 1 or entries > 1_000_000:
        return _reply({"error": "ledger_entries must be in 1..1000000"}, 400)
    return _reply(ctx.advance(entries))


async def faults_route(request: Request) -> Response:
    """``GET|POST /_sim/faults``."""
    ctx = _admitted(request)
    if isinstance(ctx, Response):
        return ctx
    if request.method == "GET":
        return _reply(ctx.describe_faults())
    try:
        body = await _json_body(request)
        spec = parse_fault_spec(str(body["spec"])) if "spec" in body else fault_spec_from_mapping(body)
    except (ValueError, FaultSpecError) as exc:
        return _reply({"error": str(exc)}, 400)
    return _reply(ctx.set_faults(spec))


async def stats_route(request: Request) -> Response:
    """``GET /_sim/stats``: what clients asked of the simulator so far (for tests and drills: e.g. how
    many AddExport requests a backfill made, without reading the simulator's internals)."""
    ctx = _admitted(request)
    if isinstance(ctx, Response):
        return ctx
    return _reply({"add_export_requests": ctx.exports.counter, "ws_connections": ctx.ws_connections,
                   "public_calls": dict(request.app.state.sim.public_limiter.calls),
                   "accounts": len(request.app.state.fleet), "accounts_built": request.app.state.fleet.built()})


async def activity_route(request: Request) -> Response:
    """``POST /_sim/activity``."""
    if not _allowed(request):
        return _refused(request)
    try:
        ctx = account_context(request)
        rate = float(str((await _json_body(request)).get("entries_per_second", 0)))  # float-ok: a rate, not money
    except (ValueError, TypeError) as exc:
        return _reply({"error": str(exc)}, 400)
    if not 0 <= rate <= 100_000:
        return _reply({"error": "entries_per_second must be in 0..100000"}, 400)
    return _reply(ctx.activity.set_rate(rate))


ROUTES = [
    Route("/_sim/truth/{kind}", truth_route, methods=["GET"]),
    Route("/_sim/stats", stats_route, methods=["GET"]),
    Route("/_sim/ohlcvt", ohlcvt_route, methods=["GET"]),
    Route("/_sim/advance", advance_route, methods=["POST"]),
    Route("/_sim/faults", faults_route, methods=["GET", "POST"]),
    Route("/_sim/activity", activity_route, methods=["POST"]),
]
