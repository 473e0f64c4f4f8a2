"""WebSocket v2 private endpoint at ``/v2``: tokens, subscribe/unsubscribe, snapshots, live updates,
heartbeats, ping/pong, and the WS faults (abrupt drops, sequence gaps).

A token from GetWebSocketsToken must be used within ``ws_token_ttl`` (900 s); once used by a
subscription it stays valid. Each connection has one writer task draining a queue, so replies,
channel messages and heartbeats never interleave; `/_sim/advance` reaches subscribers through
`Hub.publish`, which is safe to call from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from kraken_etl.simulator.ids import token as make_token
from kraken_etl.simulator.jsontext import Num, dumps
from kraken_etl.simulator.wsmessages import balances_snapshot, exponent_form, now_rfc3339, trades_snapshot

if TYPE_CHECKING:
    from kraken_etl.simulator.context import SimContext

PRIVATE = ("executions", "balances")


class AbruptDrop(Exception):
    """Raised inside the endpoint to make the server cut the TCP connection without a close frame."""


@dataclass(slots=True)
class Token:
    """An issued WebSocket token."""

    key_name: str
    issued: float
    used: bool = False


class TokenBook:
    """Issued tokens and their expiry rule."""

    def __init__(self, seed: int, ttl: float) -> None:
        self.seed, self.ttl = seed, ttl
        self.tokens: dict[str, Token] = {}
        self.counter = 0
        self.lock = threading.Lock()

    def issue(self, key_name: str, now: float) -> str:
        """A fresh token for `key_name`."""
        with self.lock:
            self.counter += 1
            text = make_token(self.seed, self.counter)
            self.tokens[text] = Token(key_name, now)
            return text

    def use(self, text: str, now: float) -> bool:
        """True (and marks it used) when `text` is a token still valid at `now`."""
        with self.lock:
            tok = self.tokens.get(text)
            if tok is None or (not tok.used and now > tok.issued + self.ttl):
                return False
            tok.used = True
            return True


@dataclass(eq=False)
class Connection:
    """One client socket: its subscriptions, sequences and outgoing queue."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)
    channels: set[str] = field(default_factory=set)
    sequence: dict[str, int] = field(default_factory=dict)
    sent: int = 0

    def put(self, item: tuple[str, Any]) -> None:
        """Queue an item from any thread."""
        with contextlib.suppress(RuntimeError):  # loop already closed
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)


class Hub:
    """The live connections; fans channel messages out to subscribers."""

    def __init__(self) -> None:
        self.connections: set[Connection] = set()
        self.lock = threading.Lock()

    def add(self, conn: Connection) -> None:
        """Register a connection."""
        with self.lock:
            self.connections.add(conn)

    def remove(self, conn: Connection) -> None:
        """Forget a connection."""
        with self.lock:
            self.connections.discard(conn)

    def publish(self, messages: list[tuple[str, list[dict[str, Any]]]]) -> None:
        """Queue channel messages for every subscriber of their channel."""
        with self.lock:
            conns = list(self.connections)
        for conn in conns:
            for channel, data in messages:
                if channel in conn.channels:
                    conn.put(("update", (channel, data)))


class Activity:
    """Account activity at a chosen rate (ledger entries per second) from a background thread: each
    tick calls `advance`, so REST and WebSocket subscribers see it like any other new activity."""

    TICK = 0.02

    def __init__(self, advance: Any) -> None:
        self._advance = advance
        self.rate = 0.0
        self.generated = 0
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def set_rate(self, per_second: float) -> dict[str, Any]:
        """Start, change or (0) stop the activity."""
        with self._lock:
            self.rate = max(0.0, per_second)
            if self.rate and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, daemon=True, name="kraken-sim-activity")
                self._thread.start()
            self._wake.set()
        return {"entries_per_second": Num(repr(self.rate)), "generated": self.generated}

    def _run(self) -> None:
        owed = 0.0
        while self.rate > 0:
            self._wake.wait(self.TICK)
            self._wake.clear()
            owed += self.rate * self.TICK
            if owed >= 1:
                n = int(owed)
                owed -= n
                self.generated += len(self._advance(n)["ledger_ids"])


def _connection_id(seed: int, n: int) -> int:
    # Kraken's connection ids exceed 2**53 (lossy in float parsers); so do ours.
    return 2**63 + int.from_bytes(hashlib.sha256(f"{seed}|{n}".encode()).digest()[:7], "big")


async def endpoint(websocket: WebSocket) -> None:
    """The ``/v2`` WebSocket route."""
    ctx: SimContext = websocket.app.state.sim
    await websocket.accept()
    conn = Connection(asyncio.get_running_loop())
    ctx.hub.add(conn)
    ctx.ws_connections += 1
    status = {"channel": "status", "type": "update", "data": [{
        "api_version": "v2", "connection_id": _connection_id(ctx.config.seed, ctx.ws_connections),
        "system": "online", "version": "2.0.0"}]}
    conn.put(("raw", status))
    writer = asyncio.create_task(_writer(ctx, websocket, conn))
    reader = asyncio.create_task(_reader(ctx, websocket, conn))
    try:
        done, _ = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            exc = task.exception()
            if isinstance(exc, AbruptDrop):
                raise exc
    finally:
        ctx.hub.remove(conn)
        for task in (writer, reader):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


async def _reader(ctx: SimContext, websocket: WebSocket, conn: Connection) -> None:
    while True:
        try:
            text = await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        time_in = now_rfc3339(ctx.clock.now())
        try:
            msg = json.loads(text)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
        except ValueError:
            conn.put(("raw", {"error": "Malformed request", "success": False, "time_in": time_in,
                              "time_out": now_rfc3339(ctx.clock.now())}))
            continue
        _handle(ctx, conn, msg, time_in)


def _handle(ctx: SimContext, conn: Connection, msg: dict[str, Any], time_in: str) -> None:
    method = msg.get("method")
    req_id = msg.get("req_id")
    reply: dict[str, Any] = {"method": method}
    if method == "ping":
        reply = {"method": "pong"}
    elif method in ("subscribe", "unsubscribe"):
        raw = msg.get("params")
        params: dict[str, Any] = raw if isinstance(raw, dict) else {}
        channel = str(params.get("channel", ""))
        error = _subscription_error(ctx, conn, method, channel, params)
        if error:
            reply.update({"success": False, "error": error})
        else:
            result: dict[str, Any] = {"channel": channel}
            if channel == "executions":
                result.update({"maxratecount": 125, "snap_orders": bool(params.get("snap_orders", True)),
                               "snap_trades": bool(params.get("snap_trades", False))})
            elif channel == "balances":
                result["snapshot"] = bool(params.get("snapshot", True))
            reply.update({"result": result, "success": True})
    else:
        reply.update({"success": False, "error": f"Method not supported: {method}"})
    if req_id is not None:
        reply["req_id"] = req_id
    reply["time_in"] = time_in
    reply["time_out"] = now_rfc3339(ctx.clock.now())
    conn.put(("raw", reply))
    if method == "subscribe" and reply.get("success"):
        _snapshot(ctx, conn, channel, params)


def _subscription_error(ctx: SimContext, conn: Connection, method: str, channel: str,
                        params: dict[str, Any]) -> str | None:
    if channel not in (*PRIVATE, "heartbeat"):
        return f"Channel {channel or '(none)'} not supported"
    if channel in PRIVATE and not ctx.tokens.use(str(params.get("token", "")), ctx.clock.now()):
        return "EAPI:Invalid token"
    if method == "subscribe":
        if channel in conn.channels:
            return "Already subscribed"
        conn.channels.add(channel)
        conn.sequence.setdefault(channel, 0)
    else:
        if channel not in conn.channels:
            return "Subscription Not Found"
        conn.channels.discard(channel)
    return None


def _snapshot(ctx: SimContext, conn: Connection, channel: str, params: dict[str, Any]) -> None:
    with ctx.store.lock:
        if channel == "executions":
            data = trades_snapshot(ctx.store) if params.get("snap_trades") else []
            conn.put(("snapshot", ("executions", data)))
        elif channel == "balances" and params.get("snapshot", True):
            conn.put(("snapshot", ("balances", balances_snapshot(ctx.store))))


async def _writer(ctx: SimContext, websocket: WebSocket, conn: Connection) -> None:
    interval = ctx.config.ws_heartbeat_seconds
    while True:
        try:
            kind, payload = await asyncio.wait_for(conn.queue.get(), timeout=interval)
        except TimeoutError:
            if conn.channels:
                await websocket.send_text('{"channel":"heartbeat"}')
            continue
        if kind == "raw":
            await websocket.send_text(dumps(payload))
            continue
        channel, data = payload
        if channel not in conn.channels:
            continue
        spec = ctx.faults.spec
        seq = conn.sequence[channel] + 1
        conn.sent += 1
        if spec.ws_seq_gap and conn.sent % spec.ws_seq_gap == 0:
            seq += 1  # a lost message, as a client would see it
        conn.sequence[channel] = seq
        if spec.ws_lose and kind == "update" and conn.sent % spec.ws_lose == 0:
            continue  # really lost: the client sees the next sequence jump
        if ctx.config.ws_exponents:
            data = exponent_form(data)
        await websocket.send_text(dumps({"channel": channel, "type": kind, "data": data, "sequence": seq}))
        if spec.ws_drop and conn.sent >= spec.ws_drop:
            raise AbruptDrop(f"ws_drop after {conn.sent} messages")
