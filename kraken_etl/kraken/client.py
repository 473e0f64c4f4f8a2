"""`KrakenClient`: one `httpx.Client`, Kraken's signing, nonces, the call counter and typed errors.

The only place that sends HTTP to Kraken's REST API. The per-request retry lives in `kraken.retry`
(what is retried, backoff with full jitter, the rate-limit time budget, the lockout wait); what an HTTP
status or transport failure means lives in `kraken.http`; streaming a zip answer in `kraken.stream`.

Responses are decoded with ``parse_float=Decimal``; no amount ever passes through a float.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from kraken_etl.core.callcounter import TIERS, Tier
from kraken_etl.core.clock import Clock, SystemClock
from kraken_etl.kraken.auth import KrakenAuth
from kraken_etl.kraken.calls import PrivateCall
from kraken_etl.kraken.errors import MissingCredentials, PermissionDenied
from kraken_etl.kraken.http import decode_answer, default_transport, form_value, tls_context
from kraken_etl.kraken.nonce import FileNonceSource, MemoryNonceSource, NonceSource, key_id
from kraken_etl.kraken.ratelimit import PUBLIC_TIER, SharedCounter, counter_for
from kraken_etl.kraken.retry import ClientStats, Retrier, RetryPolicy
from kraken_etl.kraken.stream import copy_file_body

__all__ = ["ClientStats", "KrakenClient", "RetryPolicy"]

PRIVATE_PREFIX = "/0/private/"
PUBLIC_PREFIX = "/0/public/"
USER_AGENT = "kraken-etl/0.1 (+accounting sync)"
ZIP_MAGIC = b"PK\x03\x04"


@contextmanager
def _naming_permission(call: PrivateCall) -> Iterator[None]:
    """A `PermissionDenied` from the block names the permission `call` declares."""
    try:
        yield
    except PermissionDenied as exc:
        raise PermissionDenied(exc.code, exc.message, exc.raw, method=call.method,
                               permission=call.permission) from None


def key_counter(api_key: SecretStr | None, tier: str, home: Path, rate_scale: float = 1.0) -> SharedCounter:
    """The call counter of a key on this machine (state under ``home/counter``), as `KrakenClient.for_account`
    charges it: the tier's model, its decay sped up by `rate_scale` (a simulator run with an accelerated
    counter)."""
    kid = key_id(api_key.get_secret_value()) if api_key else "anonymous"
    scaled = TIERS[tier].scaled(rate_scale) if rate_scale != 1.0 else TIERS[tier]
    return counter_for(kid, scaled, home / "counter")


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
        public_counter: SharedCounter | None = None,
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
        # Public calls: Kraken limits them per IP, apart from the key's counter (None: unpaced).
        self._public_counter = public_counter
        self.public_calls = 0
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport or default_transport(base_url),
            headers={"User-Agent": USER_AGENT},
            verify=tls_context(),  # the proxies' transports, when the environment sets a proxy
        )
        self._retrier = Retrier(self.retry, self.clock, self.stats, self._rng, tier, self._http.base_url.host)

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
        counter = key_counter(api_key, tier, home, rate_scale)
        public = PUBLIC_TIER.scaled(rate_scale) if rate_scale != 1.0 else PUBLIC_TIER
        return cls(
            base_url,
            api_key=api_key,
            api_secret=api_secret,
            tier=counter.tier,
            clock=clock,
            nonce=FileNonceSource(home / "nonce", kid, clock),
            counter=counter,
            transport=transport,
            timeout=timeout,
            public_counter=counter_for("public", public, home / "counter"),
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

    def private(self, call: PrivateCall, data: Mapping[str, Any] | None = None) -> Any:
        """Call a private method and return its `result`: the counter charges the call's declared cost, a
        `PermissionDenied` names its declared permission.

        Raises:
            MissingCredentials: when the client has no key/secret.
            FatalKrakenError: InvalidKey, InvalidSignature, PermissionDenied, InvalidArguments, … at once.
            TemporaryLockout: when the lockout outlasts the policy's budget.
            InvalidNonce: when a fresh nonce was refused too.
            RetriesExhausted: when transient failures outlast the retry policy (chained to the last one).
        """
        name, price, params = self._prepare(call, data)
        with _naming_permission(call):
            return self._retrier.run(name, lambda: self._send_private(name, params, price), self._counter)

    def private_stream(
        self,
        call: PrivateCall,
        data: Mapping[str, Any] | None,
        sink: IO[bytes],
        *,
        magic: bytes = ZIP_MAGIC,
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
        name, price, params = self._prepare(call, data)
        with _naming_permission(call):
            written: int = self._retrier.run(
                name, lambda: self._stream_private(name, params, price, sink, magic, on_chunk), self._counter)
        return written

    def public(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call a public method (``"Time"``, ``"Assets"``) with GET and return its `result`.

        Raises:
            KrakenError: as for `private` (without the credential and nonce cases).
        """
        name = method.removeprefix(PUBLIC_PREFIX)
        query = dict(params or {})
        return self._retrier.run(name, lambda: self._send_public(name, query), self._public_counter)

    # -- internals ---------------------------------------------------------------------------------

    def _send_public(self, name: str, query: dict[str, Any]) -> Any:
        if self._public_counter is not None:
            self.stats.counter_wait += self._public_counter.acquire(1, self.clock)
        self.public_calls += 1
        return decode_answer(self._http.get(PUBLIC_PREFIX + name, params=query), name)

    def _prepare(self, call: PrivateCall, data: Mapping[str, Any] | None) -> tuple[str, int, dict[str, Any]]:
        if self._auth is None:
            raise MissingCredentials("EClient:Missing credentials", method=call.method)
        return call.method, call.cost, dict(data or {})

    def _send_private(self, name: str, params: dict[str, Any], cost: int) -> Any:
        self.stats.counter_wait += self._counter.acquire(cost, self.clock)
        with self._nonce.hold() as nonce:
            self.stats.calls += 1
            response = self._http.post(
                PRIVATE_PREFIX + name, content=self._body(nonce, params),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                auth=self._auth,  # type: ignore[arg-type]
            )
        return decode_answer(response, name)

    def _stream_private(self, name: str, params: dict[str, Any], cost: int, sink: IO[bytes], magic: bytes,
                        on_chunk: Callable[[int], None] | None) -> int:
        sink.seek(0)
        sink.truncate()
        self.stats.counter_wait += self._counter.acquire(cost, self.clock)
        with self._nonce.hold() as nonce:
            self.stats.calls += 1
            request = self._http.build_request(
                "POST", PRIVATE_PREFIX + name, content=self._body(nonce, params),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = self._http.send(request, auth=self._auth, stream=True)
        try:
            return copy_file_body(response, name, sink, magic, on_chunk)
        finally:
            response.close()

    @staticmethod
    def _body(nonce: int, params: dict[str, Any]) -> bytes:
        pairs = [("nonce", str(nonce)), *((k, form_value(v)) for k, v in params.items())]
        return urlencode(pairs).encode("ascii")
