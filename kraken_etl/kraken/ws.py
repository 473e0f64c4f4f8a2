"""The WebSocket v2 private client: tokens, one connection, subscribe, ping, receive (nothing else).

`TokenKeeper` gets tokens with GetWebSocketsToken through the REST client (signed, nonce, call counter):
a fresh one for every connection (`fresh()`), and the cached one otherwise only while it is still further
than `margin` seconds from its 900 s expiry (Kraken's WebSocket v2 docs: a token must be used within 15 minutes; once
a subscription used it, it stays valid while that connection lives). The token is a secret: it is
never logged and `repr` hides it.

`WsConnection` is one connection: `subscribe_private` sends the executions (order and trade snapshots)
and balances (snapshot) subscriptions, `recv(timeout)` returns one text message or None on timeout,
`read_ahead()` the messages the same read already brought, `ping` sends the application-level ping. A
closed or failed socket raises `WsDisconnected`. It drives the WebSocket protocol of the `websockets`
library through its Sans-I/O layer (`ClientProtocol`: handshake, frames, the answers to the server's
pings, the close echo) on a socket read by the caller's own thread: one read takes every frame waiting,
so a backlog costs few system calls, and no second thread hands each message over (measured on the
benchmark's stream: the library's threaded sync client cost ~34 µs of CPU per message, this reader
~24 µs, system calls included). Reconnecting, backoff and gap handling belong to `kraken_etl.listen`.
"""

from __future__ import annotations

import itertools
import json
import socket
import ssl
from collections import deque
from dataclasses import dataclass
from typing import Any

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidHandshake, InvalidState, InvalidURI
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from kraken_etl.core.clock import Clock
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.kraken.calls import WEBSOCKETS_TOKEN
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
        result = self.client.private(WEBSOCKETS_TOKEN)
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
    """One connection to the v2 private endpoint, read on the caller's thread (see the module docstring)."""

    def __init__(self, url: str, *, open_timeout: float = 10.0, max_size: int = 2**24) -> None:
        self.url = url
        self._req = itertools.count(1)
        self._texts: deque[str] = deque()  # complete messages received, not yet returned
        self._parts: list[bytes] = []  # the frames so far of a fragmented message
        self._sock: socket.socket | None = None
        try:
            uri = parse_uri(url)
            sock = socket.create_connection((uri.host, uri.port), timeout=open_timeout)
            self._sock = sock
            if uri.secure:
                self._sock = sock = ssl.create_default_context().wrap_socket(sock, server_hostname=uri.host)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._protocol = ClientProtocol(uri, max_size=max_size)  # no extension: no compression
            self._protocol.send_request(self._protocol.connect())
            self._flush()
            self._handshake(sock)
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            self.close()
            raise WsDisconnected(f"cannot connect to the WebSocket endpoint ({type(exc).__name__})") from None

    def _handshake(self, sock: socket.socket) -> None:
        while True:
            data = sock.recv(_READ)
            if not data:
                raise InvalidHandshake("the server closed during the handshake")
            self._protocol.receive_data(data)
            events = self._protocol.events_received()
            if events:
                if self._protocol.handshake_exc is not None:
                    raise self._protocol.handshake_exc
                self._take(events[1:])  # messages sent right after the handshake response
                return

    def _flush(self) -> None:
        assert self._sock is not None
        for chunk in self._protocol.data_to_send():
            if chunk:
                self._sock.sendall(chunk)
            else:  # the protocol's end of stream: half-close
                self._sock.shutdown(socket.SHUT_WR)

    def _take(self, events: list[Any]) -> None:
        for frame in events:
            opcode = frame.opcode
            if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
                if frame.fin:
                    self._texts.append(_text(frame.data))
                else:
                    self._parts = [bytes(frame.data)]
            elif opcode is Opcode.CONT and self._parts:
                self._parts.append(bytes(frame.data))
                if frame.fin:
                    self._texts.append(_text(b"".join(self._parts)))
                    self._parts = []

    def send(self, message: dict[str, Any]) -> int:
        """Send one request with a fresh `req_id`; returns the id.

        Raises:
            WsDisconnected: when the socket is closed.
        """
        req_id = next(self._req)
        try:
            self._protocol.send_text(json.dumps({**message, "req_id": req_id}).encode())
            self._flush()
        except (OSError, InvalidState, AttributeError, AssertionError):
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
        texts = self._texts
        if texts:
            return texts.popleft()
        sock = self._sock
        if sock is None:
            raise WsDisconnected("the WebSocket is closed")
        protocol = self._protocol
        while not texts:
            try:
                sock.settimeout(max(0.0, timeout) or 1e-6)
                data = sock.recv(_READ)
            except TimeoutError:
                return None
            except OSError:
                data = b""
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            self._take(protocol.events_received())
            try:
                self._flush()  # pongs, the close echo
            except OSError:
                pass
            if texts:
                break
            if not data or protocol.state is State.CLOSED or protocol.close_expected():
                close = protocol.close_rcvd
                raise WsDisconnected(f"the WebSocket closed (code {close.code if close else 'none'})")
        return texts.popleft()

    def read_ahead(self) -> list[str]:
        """The messages already received and not yet returned (no I/O: what the last read brought)."""
        texts = list(self._texts)
        self._texts.clear()
        return texts

    def close(self) -> None:
        """Close the connection (never raises)."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            if self._protocol.state is State.OPEN:
                self._protocol.send_close(1000)  # normal closure
                for chunk in self._protocol.data_to_send():
                    if chunk:
                        sock.sendall(chunk)
        except Exception:  # noqa: S110 - closing a broken socket must not mask the reason we close it
            pass
        finally:
            sock.close()


_READ = 1 << 18  # bytes per socket read: a backlog is taken in few reads


def _text(data: bytes | bytearray | memoryview) -> str:
    try:
        return bytes(data).decode()
    except UnicodeDecodeError:
        raise WsDisconnected("the WebSocket sent a text message that is not UTF-8") from None
