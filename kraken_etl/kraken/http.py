"""The HTTP edge of the client: our transport, and what an HTTP answer or failure means for a retry.

One rule for statuses: 200 is an answer to decode; 429 and 5xx (Cloudflare's 52x included) are Kraken or
its edge being busy, so `TransportFailure` (retryable); any other status (404, 401, 403, 301, ...) means the
URL is wrong, so `HttpStatusError` (fatal) at once. Every message names the status and the URL's host in
one line. A 200 body that is an HTML page is a wrong URL too (fatal); a truncated JSON body is retryable.

Transport failures: a timeout or a dropped connection is retryable; a TLS failure (untrusted certificate,
a plain-HTTP server behind an ``https://`` URL) is fatal — retrying cannot fix it, and TLS verification is
never turned off (there is no setting for it).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import socket
import ssl
from typing import Any

import httpx

from kraken_etl.core.money import loads
from kraken_etl.kraken.envelope import raise_for_envelope
from kraken_etl.kraken.errors import (
    HttpStatusError,
    KrakenError,
    MalformedResponse,
    TlsFailure,
    TransportFailure,
)

_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (``localhost`` or a loopback address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name other than localhost
        return False


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's one TLS context, verifying against httpx's CA bundle as `verify=True` does. Each client
    building its own loads the bundle again (tens of milliseconds of CPU, two clients per account-night)."""
    return httpx.create_ssl_context()


def default_transport(base_url: str) -> httpx.HTTPTransport | None:
    """Our transport: HTTP/1.1 with TCP_NODELAY (a small form body must not wait for the server's delayed ACK,
    ~40 ms a call) — or None, so httpx applies the proxy environment itself.

    When HTTPS_PROXY/HTTP_PROXY/ALL_PROXY (any case) is set, httpx's own handling is used, NO_PROXY included:
    a machine that reaches Kraken only through an egress proxy works. A loopback base URL (the simulator) is
    always reached directly, so a proxy set for the machine never captures local traffic. Both verify TLS.
    """
    proxied = any(os.environ.get(name) or os.environ.get(name.lower()) for name in _PROXY_VARIABLES)
    if proxied and not is_loopback(httpx.URL(base_url).host):
        return None
    return httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)], retries=0,
                               verify=tls_context())


def form_value(value: Any) -> str:
    """A form field's text (booleans as Kraken spells them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def status_error(status: int, host: str, name: str) -> KrakenError:
    """The error for a non-200 answer: retryable for 429 and 5xx, fatal for anything else."""
    detail = f"HTTP {status} from {host}"
    if status == 429 or status >= 500:
        return TransportFailure("ETransport:Failure", detail, method=name)
    return HttpStatusError("EClient:HTTP status", detail, method=name)


def transport_error(exc: httpx.TransportError, host: str, name: str) -> KrakenError:
    """The error for a request that got no answer: TLS failures are fatal, the rest retryable."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "reason", None) or type(cause).__name__
            return TlsFailure("ETransport:TLS failure", f"{host}: {reason}", method=name)
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return TransportFailure("ETransport:Failure", f"cannot connect to {host}: check KRAKEN_API_URL",
                                method=name)
    return TransportFailure("ETransport:Failure", f"{type(exc).__name__} talking to {host}", method=name)


def decode_answer(response: httpx.Response, name: str) -> Any:
    """A complete answer's `result`, or the typed error its status or envelope says."""
    if response.status_code != 200:
        raise status_error(response.status_code, response.url.host, name)
    return decode_body(response.content, response.url.host, name)


def decode_body(content: bytes, host: str, name: str) -> Any:
    """Decode Kraken's JSON envelope (numbers as Decimal) and return its `result` or raise its error."""
    try:
        payload = loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError):
        if content.lstrip()[:1] == b"<":
            raise MalformedResponse("EClient:Malformed response", f"an HTML page from {host}, not Kraken's "
                                    "JSON: check KRAKEN_API_URL", method=name) from None
        raise TransportFailure(
            "ETransport:Failure", f"truncated or non-JSON answer from {host}", method=name
        ) from None
    return raise_for_envelope(payload, method=name)
