"""Kraken request signing as a thin `httpx.Auth` over the pure `core.signature.sign`.

The client puts the nonce in the body; this auth reads it back from the exact bytes that will be sent,
signs ``path + SHA256(nonce + body)`` and sets ``API-Key``/``API-Sign``. Nothing else: no retries, no
nonce generation (that lives in `nonce.py`, under a lock held across sign and send).
"""

from __future__ import annotations

from collections.abc import Generator
from urllib.parse import parse_qs

import httpx
from pydantic import SecretStr

from kraken_etl.core.signature import sign


class KrakenAuth(httpx.Auth):
    """Sign private requests. Secrets stay `SecretStr` and are unwrapped only to compute the MAC."""

    requires_request_body = True

    def __init__(self, api_key: SecretStr, api_secret: SecretStr) -> None:
        self._key = api_key
        self._secret = api_secret

    def __repr__(self) -> str:
        return "KrakenAuth(api_key=**********, api_secret=**********)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        body = request.content
        nonce = parse_qs(body.decode("ascii")).get("nonce", [""])[0]
        request.headers["API-Key"] = self._key.get_secret_value()
        request.headers["API-Sign"] = sign(request.url.path, nonce, body, self._secret.get_secret_value())
        yield request
