"""The WebSocket v2 private client: tokens, one connection, subscribe, ping, receive (nothing else).

`TokenKeeper` gets tokens with GetWebSocketsToken through the REST client (signed, nonce, call counter):
a fresh one for every connection (`fresh()`), and the cached one otherwise only while it is still further
than `margin` seconds from its 900 s expiry (reference §10: a token must be used within 15 minutes; once
a subscription used it, it stays valid while that connection lives). The token is a secret: it is
never logged and `repr` hides it.

`WsConnection` wraps one `websockets` sync client connection: `subscribe_private` sends the executions
(order and trade snapshots) and balances (snapshot) subscriptions, `recv(timeout)` returns one text
message or None on timeout, `ping` sends the application-level ping. A closed or failed socket raises
`WsDisconnected`. Protocol-level pings are left to the library (it answers the server's). Reconnecting,
backoff and gap handling belong to `kraken_etl.listen`.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from kraken_etl.core.clock import Clock
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.kraken.client import KrakenClient


class WsError(KrakenEtlError):
    """A WebSocket failure the listener handles (reconnect) or reports in one line."""


class WsDisconnected(WsError):
    """The connection closed or could not be opened (the listener reconnects with backoff)."""


class WsSubscriptionRefused(WsError):
    """Kraken refused a subscription (e.g. ``EAPI:Invalid token``)."""

    def __init__(self, channel: str, error: str) -> None:
        self.channel, self.error = channel, error
        super().__init__(f"subscription to {channel} refused: {error}")


@dataclass(frozen=True, slots=True)
class WsToken:
    """A WebSocket token and when it stops being usable for a first subscription (unix seconds)."""

    value: str
    expires_at: float

    def __repr__(self) -> str:
        return f"WsToken(value=…, expires_at={self.expires_at})"


class TokenKeeper:
    """GetWebSocketsToken through the REST client, refreshed before expiry and for every connection."""

    def __init__(self, client: KrakenClient, clock: Clock, margin: float = 60.0) -> None:
        self.client, self.clock, self.margin = client, clock, margin
        self._token: WsToken | None = None
        self.fetched = 0

    def fresh(self) -> WsToken:
        """A new token (for a new connection).

        Raises:
            KrakenError: from the REST call (PermissionDenied when the key lacks WebSocket access).
            WsError: when the answer has no token.
        """
        started = self.clock.now()
        result = self.client.private("GetWebSocketsToken")
        token = result.get("token") if isinstance(result, dict) else None
        if not isinstance(token, str) or not token:
            raise WsError("GetWebSocketsToken answered without a token")
        expires = result.get("expires", 900)
        self._token = WsToken(token, started + int(expires))
        self.fetched += 1
        return self._token

    def current(self) -> WsToken:
        """The cached token while it is more than `margin` from expiry, else a fresh one."""
        if self._token is None or self.clock.now() >= self._token.expires_at - self.margin:
            return self.fresh()
        return self._token


class WsConnection:
    """One connection to the v2 private endpoint."""

    def __init__(self, url: str, *, open_timeout: float = 10.0, max_queue: int = 4096) -> None:
        self.url = url
        self._req = itertools.count(1)
        try:
            self._ws: ClientConnection = connect(
                url, open_timeout=open_timeout, close_timeout=2, compression=None, max_queue=max_queue,
                ping_interval=20, ping_timeout=20, max_size=2**24,
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise WsDisconnected(f"cannot connect to the WebSocket endpoint ({type(exc).__name__})") from None

    def send(self, message: dict[str, Any]) -> int:
        """Send one request with a fresh `req_id`; returns the id.

        Raises:
            WsDisconnected: when the socket is closed.
        """
        req_id = next(self._req)
        try:
            self._ws.send(json.dumps({**message, "req_id": req_id}))
        except ConnectionClosed:
            raise WsDisconnected("the WebSocket closed while sending") from None
        return req_id

    def subscribe_private(self, token: WsToken) -> list[int]:
        """Subscribe to executions (order and trade snapshots) and balances (snapshot); the request ids."""
        return [
            self.send({"method": "subscribe", "params": {
                "channel": "executions", "token": token.value, "snap_orders": True, "snap_trades": True}}),
            self.send({"method": "subscribe", "params": {
                "channel": "balances", "token": token.value, "snapshot": True}}),
        ]

    def subscribe(self, channel: str, token: WsToken) -> int:
        """Subscribe to one private channel again (after a refused subscription)."""
        params: dict[str, Any] = {"channel": channel, "token": token.value}
        params.update({"snap_orders": True, "snap_trades": True} if channel == "executions" else {"snapshot": True})
        return self.send({"method": "subscribe", "params": params})

    def ping(self) -> int:
        """The application-level ping (answered by ``{"method": "pong"}``)."""
        return self.send({"method": "ping"})

    def recv(self, timeout: float) -> str | None:
        """The next text message, or None when none arrives within `timeout` seconds.

        Raises:
            WsDisconnected: when the connection closed (cleanly or not).
        """
        try:
            message = self._ws.recv(timeout=max(0.0, timeout))
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            raise WsDisconnected(f"the WebSocket closed (code {exc.rcvd.code if exc.rcvd else 'none'})") from None
        return message if isinstance(message, str) else message.decode()

    def close(self) -> None:
        """Close the connection (never raises)."""
        try:
            self._ws.close()
        except Exception:  # noqa: S110 - closing a broken socket must not mask the reason we close it
            pass
