"""The client honours the proxy environment (a machine that reaches Kraken only through an egress proxy),
and never sends loopback traffic (the simulator) through a proxy.

The "proxy" is a small forward proxy on loopback (a fake at the network seam) that relays absolute-form
requests to the simulator and records what it relayed; Kraken's host is the unresolvable ``kraken.invalid``,
so a request that did not go through the proxy cannot succeed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import SecretStr

from kraken_etl.kraken.calls import BALANCE
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.simulator.server import RunningSimulator, running

KRAKEN = "http://kraken.invalid"


class Relay:
    """A forward proxy for plain HTTP on 127.0.0.1 that sends everything to `upstream`."""

    def __init__(self, upstream: str) -> None:
        self.seen: list[str] = []
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def _relay(self) -> None:
                relay.seen.append(self.path)
                target = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "proxy-connection")}
                reply = httpx.request(self.command, upstream + target.path + (f"?{target.query}" if target.query
                                                                                 else ""),
                                      content=body, headers=headers, trust_env=False)
                self.send_response(reply.status_code)
                for name, value in reply.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            do_GET = do_POST = _relay

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with running() as simulator:
        yield simulator


@pytest.fixture
def relay(sim: RunningSimulator) -> Iterator[Relay]:
    proxy = Relay(sim.rest_url)
    yield proxy
    proxy.close()


def client(base_url: str, sim: RunningSimulator) -> KrakenClient:
    return KrakenClient(base_url, api_key=SecretStr(sim.api_key), api_secret=SecretStr(sim.api_secret))


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_calls_go_through_the_proxy_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, sim: RunningSimulator, relay: Relay, variable: str
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, relay.url)
    with client(KRAKEN, sim) as kraken:
        server_time = kraken.public("Time")
        balances = kraken.private(BALANCE)
    assert "unixtime" in server_time
    assert balances  # a signed call: the signature covers the path, not the host, so it survives the proxy
    assert relay.seen == [f"{KRAKEN}/0/public/Time", f"{KRAKEN}/0/private/Balance"]


def test_loopback_is_never_proxied(monkeypatch: pytest.MonkeyPatch, sim: RunningSimulator, relay: Relay) -> None:
    monkeypatch.setenv("HTTP_PROXY", relay.url)
    monkeypatch.setenv("ALL_PROXY", relay.url)
    with client(sim.rest_url, sim) as kraken:
        assert "unixtime" in kraken.public("Time")
    assert relay.seen == []
