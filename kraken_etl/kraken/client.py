"""`KrakenClient`: one `httpx.Client`, Kraken's signing, nonces, the call counter, typed errors, retries.

The only place that sends HTTP to Kraken's REST API. Two retry levels (STYLE §20): this client retries a
*request* — bounded attempts with exponential backoff and full jitter through the injected clock — on
transport failures, HTTP 5xx, ``EService:*``, ``EGeneral:Internal error``, ``EAPI:Rate limit exceeded``
(after filling the counter model, so the retry waits for decay) and one ``EAPI:Invalid nonce`` (with a
fresh nonce). Fatal errors (invalid key/signature, permission denied, invalid arguments) raise at once.
``EGeneral:Temporary lockout`` is waited out — one probe per `lockout_probe_seconds`, within
`lockout_budget_seconds` in total — instead of hammering (each failed call would extend the lockout).
When retries run out, `RetriesExhausted` (retryable at the window level) is raised from the last error.

Responses are decoded with ``parse_float=Decimal``; no amount ever passes through a float.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import random
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from kraken_etl.core.callcounter import TIERS, Tier, cost_of
from kraken_etl.core.clock import Clock, SystemClock
from kraken_etl.core.money import loads
from kraken_etl.kraken.auth import KrakenAuth
from kraken_etl.kraken.errors import (
    InvalidNonce,
    KrakenError,
    MalformedResponse,
    MissingCredentials,
    RateLimitExceeded,
    RetriesExhausted,
    ServiceThrottled,
    TemporaryLockout,
    TransportFailure,
    raise_for_envelope,
)
from kraken_etl.kraken.nonce import FileNonceSource, MemoryNonceSource, NonceSource, key_id
from kraken_etl.kraken.ratelimit import SharedCounter, counter_for

PRIVATE_PREFIX = "/0/private/"
PUBLIC_PREFIX = "/0/public/"
USER_AGENT = "kraken-etl/0.1 (+accounting sync)"
ZIP_MAGIC = b"PK\x03\x04"
_STREAM_CHUNK = 1 << 20
_MAX_ENVELOPE = 1 << 20  # an error envelope is small; a bigger "JSON" body is not one


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds of the per-request retry."""

    max_attempts: int = 8
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    max_backoff_total: float = 60.0  # seconds of backoff sleep per request, counter waits excluded
    nonce_retries: int = 1
    lockout_probe_seconds: float = 120.0
    lockout_budget_seconds: float = 960.0  # Kraken's lockout lasts about 15 minutes


@dataclass(slots=True)
class ClientStats:
    """What the client did: calls sent, seconds waited for the counter and for backoff, retries."""

    calls: int = 0
    counter_wait: float = 0.0
    backoff_wait: float = 0.0
    retries: int = 0
    rate_limited: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def wait_seconds(self) -> float:
        return self.counter_wait + self.backoff_wait

    def copy(self) -> ClientStats:
        return ClientStats(self.calls, self.counter_wait, self.backoff_wait, self.retries,
                           self.rate_limited, dict(self.errors))


class KrakenClient:
    """A Kraken REST client for one API key.

    Args:
        base_url: e.g. ``https://api.kraken.com`` or the simulator's ``rest_url``.
        api_key, api_secret: the credentials (SecretStr; unwrapped only to sign).
        tier: the key's verification tier (its counter limits).
        clock: time source for every wait (inject a fake in tests).
        nonce: the key's nonce source (default: in-process; use `for_account` for the cross-process one).
        counter: the key's shared call counter (default: the process-wide one for this key).
        transport: an httpx transport (tests mount the simulator in-process).
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: SecretStr | None,
        api_secret: SecretStr | None,
        tier: Tier = TIERS["starter"],
        clock: Clock | None = None,
        nonce: NonceSource | None = None,
        counter: SharedCounter | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.tier = tier
        self.retry = retry or RetryPolicy()
        self.stats = ClientStats()
        self._rng = rng or random.Random()  # jitter, not cryptography
        self._auth = KrakenAuth(api_key, api_secret) if api_key and api_secret else None
        kid = key_id(api_key.get_secret_value()) if api_key else "anonymous"
        self._nonce = nonce or MemoryNonceSource(self.clock)
        self._counter = counter or counter_for(kid, tier)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport or _default_transport(base_url),
            headers={"User-Agent": USER_AGENT},
        )

    @classmethod
    def for_account(
        cls,
        base_url: str,
        *,
        api_key: SecretStr | None,
        api_secret: SecretStr | None,
        tier: str,
        home: Path,
        rate_scale: float = 1.0,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> KrakenClient:
        """The production wiring: file-locked nonces and the key's call counter, both shared by the processes
        of this machine through files under `home`.

        `rate_scale` speeds the counter's decay up (only for a simulator run with an accelerated counter).
        """
        clock = clock or SystemClock()
        kid = key_id(api_key.get_secret_value()) if api_key else "anonymous"
        scaled = TIERS[tier].scaled(rate_scale) if rate_scale != 1.0 else TIERS[tier]
        return cls(
            base_url,
            api_key=api_key,
            api_secret=api_secret,
            tier=scaled,
            clock=clock,
            nonce=FileNonceSource(home / "nonce", kid, clock),
            counter=counter_for(kid, scaled, home / "counter"),
            transport=transport,
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"KrakenClient(base_url={str(self._http.base_url)!r}, tier={self.tier.name!r})"

    def __enter__(self) -> KrakenClient:
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- public API --------------------------------------------------------------------------------

    def private(self, method: str, data: Mapping[str, Any] | None = None, *, cost: int | None = None) -> Any:
        """Call a private method (``"Ledgers"`` or ``"/0/private/Ledgers"``) and return its `result`.

        Raises:
            MissingCredentials: when the client has no key/secret.
            FatalKrakenError: InvalidKey, InvalidSignature, PermissionDenied, InvalidArguments, … at once.
            TemporaryLockout: when the lockout outlasts the policy's budget.
            InvalidNonce: when a fresh nonce was refused too.
            RetriesExhausted: when transient failures outlast the retry policy (chained to the last one).
        """
        name = method.removeprefix(PRIVATE_PREFIX)
        if self._auth is None:
            raise MissingCredentials("EClient:Missing credentials", method=name)
        price = cost_of(name) if cost is None else cost
        params = dict(data or {})
        return self._with_retries(name, lambda: self._send_private(name, params, price))

    def private_stream(
        self,
        method: str,
        data: Mapping[str, Any] | None,
        sink: IO[bytes],
        *,
        magic: bytes = ZIP_MAGIC,
        cost: int | None = None,
        on_chunk: Callable[[int], None] | None = None,
    ) -> int:
        """Call a private method whose answer is a binary file (RetrieveExport's zip); stream it to `sink`.

        The same signing, nonce, call counter and per-request retry as `private`. The first bytes are
        sniffed: a JSON body (``{``) is Kraken's error envelope and raises the typed error; a body that does
        not start with `magic` raises MalformedResponse. The body is copied in 1 MiB chunks, so memory
        does not grow with the file. `sink` must be seekable: a retried attempt rewinds and truncates it,
        so it never holds two attempts' bytes. `on_chunk` gets the bytes written so far after each chunk.

        Returns:
            The number of bytes written to `sink`.

        Raises:
            MissingCredentials, FatalKrakenError, TemporaryLockout, InvalidNonce, RetriesExhausted: as
                `private` (a transport failure mid-body is retried like any other).
            MalformedResponse: when the body is neither an envelope nor starts with `magic` (fatal).
            OSError: when `sink` cannot be written.
        """
        name = method.removeprefix(PRIVATE_PREFIX)
        if self._auth is None:
            raise MissingCredentials("EClient:Missing credentials", method=name)
        price = cost_of(name) if cost is None else cost
        params = dict(data or {})
        written: int = self._with_retries(
            name, lambda: self._stream_private(name, params, price, sink, magic, on_chunk))
        return written

    def public(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call a public method (``"Time"``, ``"Assets"``) with GET and return its `result`.

        Raises:
            KrakenError: as for `private` (without the credential and nonce cases).
        """
        name = method.removeprefix(PUBLIC_PREFIX)
        query = dict(params or {})
        return self._with_retries(name, lambda: self._decode(
            self._http.get(PUBLIC_PREFIX + name, params=query), name))

    # -- internals ---------------------------------------------------------------------------------

    def _send_private(self, name: str, params: dict[str, Any], cost: int) -> Any:
        self.stats.counter_wait += self._counter.acquire(cost, self.clock)
        with self._nonce.hold() as nonce:
            body = urlencode([("nonce", str(nonce)), *((k, _form(v)) for k, v in params.items())])
            self.stats.calls += 1
            response = self._http.post(
                PRIVATE_PREFIX + name,
                content=body.encode("ascii"),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                auth=self._auth,  # type: ignore[arg-type]
            )
        return self._decode(response, name)

    def _stream_private(self, name: str, params: dict[str, Any], cost: int, sink: IO[bytes], magic: bytes,
                        on_chunk: Callable[[int], None] | None) -> int:
        sink.seek(0)
        sink.truncate()
        self.stats.counter_wait += self._counter.acquire(cost, self.clock)
        with self._nonce.hold() as nonce:
            body = urlencode([("nonce", str(nonce)), *((k, _form(v)) for k, v in params.items())])
            self.stats.calls += 1
            request = self._http.build_request(
                "POST", PRIVATE_PREFIX + name, content=body.encode("ascii"),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = self._http.send(request, auth=self._auth, stream=True)
        try:
            if response.status_code != 200:
                raise TransportFailure("ETransport:Failure", f"HTTP {response.status_code}", method=name)
            chunks = response.iter_bytes(_STREAM_CHUNK)
            first = b""
            for chunk in chunks:
                first += chunk
                if len(first) >= len(magic):
                    break
            if first.lstrip()[:1] == b"{":
                for chunk in chunks:
                    first += chunk
                    if len(first) > _MAX_ENVELOPE:
                        break
                self._decode_body(first, name)  # raises the envelope's error
                raise MalformedResponse("EClient:Malformed response", "JSON answer instead of a file",
                                        method=name)
            if not first.startswith(magic):
                raise MalformedResponse("EClient:Malformed response", "the answer is not the expected file",
                                        method=name)
            size = 0
            for piece in itertools.chain((first,), chunks):
                sink.write(piece)
                size += len(piece)
                if on_chunk is not None:
                    on_chunk(size)
            return size
        finally:
            response.close()

    def _decode(self, response: httpx.Response, name: str) -> Any:
        if response.status_code != 200:
            raise TransportFailure("ETransport:Failure", f"HTTP {response.status_code}", method=name)
        return self._decode_body(response.content, name)

    def _decode_body(self, content: bytes, name: str) -> Any:
        try:
            payload = loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TransportFailure(
                "ETransport:Failure", "truncated or non-JSON answer", method=name
            ) from None
        return raise_for_envelope(payload, method=name)

    def _with_retries(self, name: str, attempt: Any) -> Any:
        policy = self.retry
        attempts = 0
        backoff_total = 0.0
        lockout_total = 0.0
        nonce_retries = policy.nonce_retries
        while True:
            attempts += 1
            try:
                return attempt()
            except httpx.TransportError as exc:
                error: KrakenError = TransportFailure("ETransport:Failure", type(exc).__name__, method=name)
            except KrakenError as exc:
                error = exc
            self.stats.errors[error.code] = self.stats.errors.get(error.code, 0) + 1
            if isinstance(error, TemporaryLockout):
                if lockout_total + policy.lockout_probe_seconds > policy.lockout_budget_seconds:
                    raise error
                self.clock.sleep(policy.lockout_probe_seconds)
                lockout_total += policy.lockout_probe_seconds
                self.stats.backoff_wait += policy.lockout_probe_seconds
                self.stats.retries += 1
                continue
            if not error.retryable:
                raise error
            if isinstance(error, InvalidNonce):
                if nonce_retries <= 0:
                    raise error
                nonce_retries -= 1
            delay = self._backoff(attempts)
            if isinstance(error, RateLimitExceeded):
                self.stats.rate_limited += 1
                self._counter.penalise(self.clock)  # the next acquire waits for the decay
                delay = 0.0
            elif isinstance(error, ServiceThrottled) and error.retry_at is not None:
                delay = max(delay, error.retry_at - self.clock.now())
            if attempts >= policy.max_attempts or backoff_total + delay > policy.max_backoff_total:
                raise RetriesExhausted(
                    "EClient:Retries exhausted", f"{attempts} attempts, last: {error.code}", method=name
                ) from error
            self.stats.retries += 1
            if delay > 0:
                self.clock.sleep(delay)
                backoff_total += delay
                self.stats.backoff_wait += delay

    def _backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter (AWS architecture blog): uniform(0, min(max, base·2ⁿ))."""
        ceiling = min(self.retry.backoff_max, self.retry.backoff_base * 2 ** (attempts - 1))
        return self._rng.uniform(ceiling / 2, ceiling)


_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name other than localhost
        return False


def _default_transport(base_url: str) -> httpx.HTTPTransport | None:
    """Our transport: HTTP/1.1 with TCP_NODELAY (a small form body must not wait for the server's delayed ACK,
    ~40 ms a call) — or None, so httpx applies the proxy environment itself.

    When HTTPS_PROXY/HTTP_PROXY/ALL_PROXY (any case) is set, httpx's own handling is used, NO_PROXY included:
    a machine that reaches Kraken only through an egress proxy works. A loopback base URL (the simulator) is
    always reached directly, so a proxy set for the machine never captures local traffic.
    """
    proxied = any(os.environ.get(name) or os.environ.get(name.lower()) for name in _PROXY_VARIABLES)
    if proxied and not _is_loopback(httpx.URL(base_url).host):
        return None
    return httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)], retries=0)


def _form(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
