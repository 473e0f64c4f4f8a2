"""Fakes for the Kraken ring: a clock whose sleep advances time, and a scripted Kraken transport."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from kraken_etl.core.callcounter import TIERS, Tier
from kraken_etl.core.money import dumps
from kraken_etl.core.signature import verify
from kraken_etl.kraken.client import KrakenClient, RetryPolicy
from kraken_etl.kraken.nonce import MemoryNonceSource
from kraken_etl.kraken.ratelimit import SharedCounter

API_KEY = "test-key-ABCDEFGHIJKLMNOP"
API_SECRET = base64.b64encode(b"s" * 64).decode()


class FakeClock:
    """`sleep` advances `now` instantly; records every sleep (thread-safe)."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self._now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self._now += seconds

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)


Reply = Callable[[str, dict[str, str]], httpx.Response]


def envelope(result: object = None, errors: list[str] | None = None) -> httpx.Response:
    body: dict[str, object] = {"error": errors or []}
    if result is not None:
        body["result"] = result
    return httpx.Response(200, text=dumps(body), headers={"Content-Type": "application/json"})


class ScriptedKraken:
    """A MockTransport handler: verifies signature and nonce order, then answers from a script."""

    def __init__(self, replies: list[httpx.Response] | Reply) -> None:
        self.replies = replies
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.nonces: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = request.content
        params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if path.startswith("/0/private/"):
            assert request.headers["API-Key"] == API_KEY
            assert verify(path, params["nonce"], body, API_SECRET, request.headers["API-Sign"])
            nonce = int(params["nonce"])
            assert not self.nonces or nonce > self.nonces[-1], "nonce must strictly increase"
            self.nonces.append(nonce)
        self.requests.append((path, params))
        if callable(self.replies):
            return self.replies(path, params)
        return self.replies.pop(0)


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


def make_client(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: FakeClock,
    *,
    tier: Tier = TIERS["starter"],
    retry: RetryPolicy | None = None,
    key: str = API_KEY,
) -> KrakenClient:
    import random

    return KrakenClient(
        "https://kraken.test",
        api_key=SecretStr(key),
        api_secret=SecretStr(API_SECRET),
        tier=tier,
        clock=clock,
        nonce=MemoryNonceSource(clock),
        counter=SharedCounter(tier),
        transport=httpx.MockTransport(handler),
        retry=retry,
        rng=random.Random(1),
    )
