"""WebSocket v2 on a real loopback server: status, tokens, acks, snapshots, live updates, heartbeats,
ping/pong, abrupt drops and sequence gaps."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, ConnectionClosedError
from websockets.sync.client import ClientConnection, connect

from kraken_etl.core.signature import sign
from kraken_etl.simulator import ManualClock, RunningSimulator, SimConfig, serve_in_thread

_nonce = [time.time_ns()]


def ws_token(sim: RunningSimulator) -> str:
    _nonce[0] += 1
    body = urlencode({"nonce": _nonce[0]})
    path = "/0/private/GetWebSocketsToken"
    headers = {"API-Key": sim.api_key, "API-Sign": sign(path, _nonce[0], body, sim.api_secret),
               "Content-Type": "application/x-www-form-urlencoded"}
    reply = httpx.post(sim.rest_url + path, content=body, headers=headers).json()
    assert reply["error"] == [] and reply["result"]["expires"] == 900
    return str(reply["result"]["token"])


def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=timeout), parse_float=Decimal)
    return message


def recv_until(ws: ClientConnection, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
    """The first message matching `predicate` (heartbeats and others skipped) within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        message = recv(ws, max(0.01, deadline - time.monotonic()))
        if predicate(message):
            return message


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with serve_in_thread(SimConfig(seed=8, ledger_entries=1_500, rate_limits=False)) as running:
        yield running


def test_connect_status_subscribe_snapshots_and_live_updates(sim: RunningSimulator) -> None:
    with connect(sim.ws_url) as ws:
        status = recv(ws)
        assert status["channel"] == "status" and status["data"][0]["api_version"] == "v2"
        assert status["data"][0]["connection_id"] > 2**53
        token = ws_token(sim)
        ws.send(json.dumps({"method": "subscribe", "req_id": 7, "params": {
            "channel": "executions", "token": token, "snap_trades": True, "snap_orders": True}}))
        ack = recv_until(ws, lambda m: m.get("method") == "subscribe")
        assert ack["success"] is True and ack["req_id"] == 7 and ack["result"]["channel"] == "executions"
        assert ack["time_in"].endswith("Z") and len(ack["time_out"]) == 27
        snap = recv_until(ws, lambda m: m.get("channel") == "executions")
        assert snap["type"] == "snapshot" and snap["sequence"] == 1 and len(snap["data"]) == 50
        assert all(d["exec_type"] == "trade" and isinstance(d["last_qty"], Decimal) for d in snap["data"])
        ws.send(json.dumps({"method": "subscribe", "req_id": 8, "params": {
            "channel": "balances", "token": token}}))
        assert recv_until(ws, lambda m: m.get("method") == "subscribe")["success"] is True
        bal = recv_until(ws, lambda m: m.get("channel") == "balances")
        assert bal["type"] == "snapshot" and {"BTC", "USD", "KFEE"} <= {d["asset"] for d in bal["data"]}
        btc = next(d for d in bal["data"] if d["asset"] == "BTC")
        assert btc["balance"] == sum(w["balance"] for w in btc["wallets"])

        added = httpx.post(sim.rest_url + "/_sim/advance", json={"ledger_entries": 12}).json()
        updates: list[dict[str, Any]] = []
        executions: list[dict[str, Any]] = []
        while len(updates) < len(added["ledger_ids"]) or not executions:
            message = recv_until(ws, lambda m: m.get("channel") in ("balances", "executions"))
            (updates if message["channel"] == "balances" else executions).append(message)
        assert [u["data"][0]["ledger_id"] for u in updates] == added["ledger_ids"]
        assert [u["sequence"] for u in updates] == list(range(2, 2 + len(updates)))
        assert {e["data"][0]["order_id"] for e in executions} <= set(added["order_ids"])
        trade_execs = [e["data"][0] for e in executions if e["data"][0]["exec_type"] == "trade"]
        for item in trade_execs:
            assert item["exec_id"] in added["trade_ids"]
        first = updates[0]["data"][0]
        assert first["ref_id"] and first["wallet_type"] in ("spot", "earn") and "T" in first["timestamp"]


def test_heartbeat_ping_unsubscribe_and_bad_token(sim: RunningSimulator) -> None:
    with connect(sim.ws_url) as ws:
        recv(ws)
        ws.send(json.dumps({"method": "subscribe", "req_id": 1, "params": {
            "channel": "balances", "token": "bogus"}}))
        reject = recv_until(ws, lambda m: m.get("method") == "subscribe")
        assert reject["success"] is False and reject["error"] == "EAPI:Invalid token"
        ws.send(json.dumps({"method": "ping", "req_id": 101}))
        pong = recv_until(ws, lambda m: m.get("method") == "pong")
        assert pong["req_id"] == 101 and "time_in" in pong
        token = ws_token(sim)
        ws.send(json.dumps({"method": "subscribe", "params": {"channel": "balances", "token": token,
                                                              "snapshot": False}}))
        assert recv_until(ws, lambda m: m.get("method") == "subscribe")["success"] is True
        assert recv_until(ws, lambda m: m.get("channel") == "heartbeat", timeout=5)
        ws.send(json.dumps({"method": "unsubscribe", "req_id": 3, "params": {
            "channel": "balances", "token": token}}))
        ack = recv_until(ws, lambda m: m.get("method") == "unsubscribe")
        assert ack["success"] is True and ack["req_id"] == 3


def test_token_expires_unless_used() -> None:
    clock = ManualClock(time.time())
    with serve_in_thread(SimConfig(seed=2, ledger_entries=300, rate_limits=False, clock=clock)) as sim:
        used, unused = ws_token(sim), ws_token(sim)
        with connect(sim.ws_url) as ws:
            recv(ws)
            ws.send(json.dumps({"method": "subscribe", "params": {"channel": "balances", "token": used}}))
            assert recv_until(ws, lambda m: m.get("method") == "subscribe")["success"] is True
            clock.advance(901)
            ws.send(json.dumps({"method": "subscribe", "params": {"channel": "executions", "token": used}}))
            assert recv_until(ws, lambda m: m.get("method") == "subscribe")["success"] is True
            ws.send(json.dumps({"method": "unsubscribe", "params": {"channel": "balances", "token": unused}}))
            reply = recv_until(ws, lambda m: m.get("method") == "unsubscribe")
            assert reply == {**reply, "success": False, "error": "EAPI:Invalid token"}


def test_ws_faults_sequence_gap_and_abrupt_drop(sim: RunningSimulator) -> None:
    assert httpx.post(sim.rest_url + "/_sim/faults", json={"ws_seq_gap": 3, "ws_drop": 6}).status_code == 200
    try:
        with connect(sim.ws_url) as ws:
            recv(ws)
            ws.send(json.dumps({"method": "subscribe", "params": {"channel": "balances",
                                                                  "token": ws_token(sim)}}))
            httpx.post(sim.rest_url + "/_sim/advance", json={"ledger_entries": 20})
            sequences = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    message = recv(ws)
                    if message.get("channel") == "balances":
                        sequences.append(message["sequence"])
            assert isinstance(closed.value, ConnectionClosedError) and closed.value.rcvd is None
            assert len(sequences) == 6
            assert sequences == [1, 2, 4, 5, 6, 8]
    finally:
        httpx.post(sim.rest_url + "/_sim/faults", json={})
