"""Fixtures for the simulator tests: an in-process app with a signing client, and a loopback server.

Copyable recipe for other test packages:

    from kraken_etl.simulator import SimConfig, create_app, serve_in_thread

    @pytest.fixture(scope="module")
    def sim():                      # real socket (WS, e2e, third-party clients)
        with serve_in_thread(SimConfig(seed=7, ledger_entries=2_000, rate_limits=False)) as running:
            yield running           # .rest_url .ws_url .api_key .api_secret .ctx

    app = create_app(SimConfig(...))  # in-process: httpx.AsyncClient(transport=httpx.ASGITransport(app))
"""

from __future__ import annotations

import itertools
import json
import time
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette

from kraken_etl.core.money import loads
from kraken_etl.core.signature import sign
from kraken_etl.simulator import SimConfig, create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

_NONCES = itertools.count(time.time_ns())


class Kraken:
    """A minimal signing client over Starlette's TestClient (in-process, no socket)."""

    def __init__(self, client: TestClient, key: str, secret: str) -> None:
        self.client, self.key, self.secret = client, key, secret

    def raw(self, method: str, params: dict[str, Any] | None = None, *, nonce: int | None = None,
            secret: str | None = None, json_body: bool = False) -> Any:
        """POST a signed private call; returns the httpx response."""
        nonce = next(_NONCES) if nonce is None else nonce
        data = {"nonce": nonce, **(params or {})}
        if json_body:
            body = json.dumps(data)
            ctype = "application/json"
        else:
            body = urlencode(data)
            ctype = "application/x-www-form-urlencoded"
        path = f"/0/private/{method}"
        headers = {"API-Key": self.key, "API-Sign": sign(path, nonce, body, secret or self.secret),
                   "Content-Type": ctype}
        return self.client.post(path, content=body.encode(), headers=headers)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """The decoded envelope of a private call (Decimal for non-integer numbers)."""
        response = self.raw(method, params)
        assert response.status_code == 200, response.text
        envelope: dict[str, Any] = loads(response.text)
        return envelope

    def result(self, method: str, **params: Any) -> Any:
        """The ``result`` of a private call that must succeed."""
        envelope = self.call(method, **params)
        assert envelope["error"] == [], envelope["error"]
        return envelope["result"]

    def truth(self, kind: str) -> Any:
        """Ground truth from the admin endpoint."""
        response = self.client.get(f"/_sim/truth/{kind}")
        assert response.status_code == 200, response.text
        return loads(response.text)


def make_kraken(app: Starlette) -> Kraken:
    """A signing client for `app`'s default key."""
    key = app.state.sim.config.default_key
    return Kraken(TestClient(app), key.key, key.secret)


@pytest.fixture(scope="module")
def app() -> Starlette:
    """A 2,000-entry account, no call-counter limits (read-only tests share it)."""
    return create_app(SimConfig(seed=7, ledger_entries=2_000, rate_limits=False))


@pytest.fixture(scope="module")
def kraken(app: Starlette) -> Iterator[Kraken]:
    """Signing client on the shared app."""
    yield make_kraken(app)
