"""The WebSocket transport (`kraken_etl.kraken.ws.WsConnection`) against a real server on loopback."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from kraken_etl.kraken.ws import WsConnection, WsDisconnected

seen: list[Any] = []


async def _script(ws: ServerConnection) -> None:
    seen.append(json.loads(await ws.recv()))  # the client's application ping
    await ws.send(["frag", "mented ", "é"])  # one text message in three frames
    pong = await ws.ping()
    await asyncio.wait_for(pong, 5)  # answered by the client while it reads
    await ws.send("x" * 300_000)  # larger than one socket read
    await ws.send("after the pong")
    for i in range(50):
        await ws.send(f"m{i}")
    await ws.close(4001, "bye")


@pytest.fixture()
def server_url() -> Iterator[str]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        async with serve(_script, "127.0.0.1", 0, compression=None) as server:
            holder["port"] = server.sockets[0].getsockname()[1]
            holder["stop"] = loop.create_future()
            ready.set()
            await holder["stop"]

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield f"ws://127.0.0.1:{holder['port']}/v2"
    loop.call_soon_threadsafe(holder["stop"].set_result, None)
    thread.join(10)


def test_messages_fragments_pings_and_close(server_url: str) -> None:
    seen.clear()
    conn = WsConnection(server_url)
    try:
        assert conn.recv(0.05) is None  # nothing sent yet: a timeout, not an error
        assert conn.ping() == 1
        assert conn.recv(5) == "fragmented é"
        assert conn.recv(5) == "x" * 300_000
        assert conn.recv(5) == "after the pong"  # sent only once our pong arrived
        got: list[str | None] = []
        while len(got) < 50:  # what one read brought comes back in order, nothing twice
            got += [conn.recv(5), *conn.read_ahead()]
        assert got == [f"m{i}" for i in range(50)] and conn.read_ahead() == []
        with pytest.raises(WsDisconnected, match="4001"):
            conn.recv(5)
    finally:
        conn.close()
    assert seen == [{"method": "ping", "req_id": 1}]
    with pytest.raises(WsDisconnected):
        conn.recv(1)


def test_a_refused_connection_is_a_disconnect() -> None:
    with pytest.raises(WsDisconnected, match="cannot connect"):
        WsConnection("ws://127.0.0.1:9/v2", open_timeout=2)
    with pytest.raises(WsDisconnected, match="cannot connect"):
        WsConnection("not a url")
