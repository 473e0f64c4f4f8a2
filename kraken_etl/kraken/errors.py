"""Kraken's errors as a typed tree; `kraken_etl.kraken.envelope` maps Kraken's error strings onto it (the only
place that reads them).

::

    KrakenError(code, message, raw)                 any failure talking to Kraken (a KrakenEtlError)
    ├── RetryableKrakenError                        the *request* may succeed if sent again later
    │   ├── RateLimitExceeded     EAPI:Rate limit exceeded (call counter; cool down first)
    │   ├── InvalidNonce          EAPI:Invalid nonce (retried once with a fresh nonce)
    │   ├── ServiceUnavailable    EService:Unavailable
    │   ├── ServiceBusy           EService:Busy, EGeneral:Too many requests
    │   ├── ServiceThrottled      EService:Throttled:<unix ts> (retry after that time)
    │   ├── DeadlineElapsed       EService:Deadline elapsed
    │   ├── InternalError         EGeneral:Internal error, EDatabase:Internal error
    │   ├── TransportFailure      no Kraken answer: timeout, connection error, HTTP 5xx/520/429, truncated JSON
    │   ├── RetriesExhausted      the client's bounded per-request retries ran out (window-level retry)
    │   └── PaginationDrift       `count` changed or a page came back empty early (window-level retry)
    ├── FatalKrakenError                            sending it again cannot help: fail fast
    │   ├── InvalidKey            EAPI:Invalid key
    │   ├── InvalidSignature      EAPI:Invalid signature
    │   ├── PermissionDenied      EGeneral:Permission denied (names the key permission that is missing)
    │   ├── InvalidArguments      EGeneral:Invalid arguments[:field], EAPI:Bad request, EQuery:Unknown …
    │   ├── UnknownMethod         EGeneral:Unknown method
    │   ├── TemporaryLockout      EGeneral:Temporary lockout (the client waits within a bounded total first)
    │   ├── MalformedResponse     a 200 answer that breaks Kraken's documented shape (or an HTML page)
    │   ├── HttpStatusError       any HTTP status but 200, 429 and 5xx (a wrong KRAKEN_API_URL)
    │   ├── TlsFailure            the TLS handshake failed (certificate, not a TLS server)
    │   └── MissingCredentials    no key/secret configured for the account
    └── UnknownKrakenError                          a code not in `envelope.ERRORS`: fatal by default

The retry policy is a property of the class (`retryable`): the client's bounded per-request retry and
Prefect's `retry_condition_fn` (via `is_retryable`) read it; nothing inspects message text. Messages name
the Kraken code and, where it helps, what the operator should do; they never contain a key or secret.

The leaves marked "our own" (no answer, retries exhausted, pagination drift, a malformed answer, an HTTP
status, a TLS failure, missing credentials) are the client's findings, not errors Kraken sent: they keep an
internal tag as `code` (for the call statistics) but their message says what happened in words and never
wears Kraken's ``E<Category>:`` form, so nobody reads our own check as Kraken's answer.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kraken_etl.core.errors import KrakenEtlError


class KrakenError(KrakenEtlError):
    """A failure talking to Kraken. `code` is Kraken's ``E<Category>:<Message>`` (or our own tag)."""

    retryable: ClassVar[bool] = False
    hint: ClassVar[str] = ""
    # Our own finding (not an error Kraken sent): the message starts with this instead of "Kraken <code>".
    own: ClassVar[str] = ""

    def __init__(
        self, code: str, message: str = "", raw: object = None, *, method: str | None = None
    ) -> None:
        self.code = code
        self.message = message
        self.raw = raw
        self.method = method
        super().__init__(self._text())

    @property
    def label(self) -> str:
        """What to call this error in a message: Kraken's code, or our own words for our own findings."""
        return self.own or f"Kraken {self.code}"

    def _text(self) -> str:
        where = f" on {self.method}" if self.method else ""
        detail = f" ({self.message})" if self.message else ""
        hint = f": {self.hint}" if self.hint else ""
        return f"{self.label}{where}{detail}{hint}"

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (Prefect persists task failures)
        return (_rebuild, (type(self), self.code, self.message, self.method))


def _rebuild(cls: type[KrakenError], code: str, message: str, method: str | None) -> KrakenError:
    return cls(code, message, None, method=method)


class RetryableKrakenError(KrakenError):
    """Sending the request again later may succeed."""

    retryable = True


class FatalKrakenError(KrakenError):
    """Sending the request again cannot help; the operator has to act."""

    retryable = False


class UnknownKrakenError(KrakenError):
    """A Kraken error code we have not classified: fatal until someone decides otherwise."""

    retryable = False


class RateLimitExceeded(RetryableKrakenError):
    hint = "the call counter overflowed; the client cools down before retrying"


class InvalidNonce(RetryableKrakenError):
    hint = "another client may be using this API key; use one key per application"


class ServiceUnavailable(RetryableKrakenError):
    pass


class ServiceBusy(RetryableKrakenError):
    pass


class ServiceThrottled(RetryableKrakenError):
    """``EService:Throttled:<unix ts>``: too many concurrent requests; `retry_at` is the absolute time."""

    @property
    def retry_at(self) -> float | None:
        try:
            return float(self.message) if self.message else None  # float-ok: a unix time, not money
        except ValueError:
            return None


class DeadlineElapsed(RetryableKrakenError):
    pass


class InternalError(RetryableKrakenError):
    pass


class TransportFailure(RetryableKrakenError):
    """No usable answer from Kraken (timeout, connection error, HTTP error page, truncated JSON)."""

    own = "no usable answer from Kraken"


class RetriesExhausted(RetryableKrakenError):
    """The client's bounded retries ran out; the window may be retried whole later."""

    own = "retries exhausted"


class PaginationDrift(RetryableKrakenError):
    """The frozen window moved while paging (`count` changed, or an early empty page): retry it whole."""

    own = "the result set moved while paging"


class InvalidKey(FatalKrakenError):
    hint = "the API key is wrong, revoked or for another environment; check KRAKEN_API_KEY"


class InvalidSignature(FatalKrakenError):
    hint = "the API secret does not match the key; check KRAKEN_API_SECRET"


class PermissionDenied(FatalKrakenError):
    """The key lacks a permission; the message names the one the call needs (`kraken.calls.PrivateCall`, as
    Kraken's API key documentation names it), which the client sets from the call it made."""

    def __init__(self, code: str, message: str = "", raw: object = None, *, method: str | None = None,
                 permission: str | None = None) -> None:
        self.permission = permission
        super().__init__(code, message, raw, method=method)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_denied, (self.code, self.message, self.method, self.permission))

    def _text(self) -> str:
        needed = self.permission
        where = f" on {self.method}" if self.method else ""
        if needed:
            return f"Kraken {self.code}{where}: the API key needs the '{needed}' permission"
        return f"Kraken {self.code}{where}: the API key lacks a permission this method needs"


def _rebuild_denied(code: str, message: str, method: str | None, permission: str | None) -> PermissionDenied:
    return PermissionDenied(code, message, None, method=method, permission=permission)


class InvalidArguments(FatalKrakenError):
    pass


class UnknownMethod(FatalKrakenError):
    pass


class TemporaryLockout(FatalKrakenError):
    hint = ("Kraken locked the key after repeated failures (about 15 minutes); "
            "wait, and make sure no other client uses this key")


class MalformedResponse(FatalKrakenError):
    own = "an answer not in Kraken's documented shape"


class HttpStatusError(FatalKrakenError):
    """An HTTP status other than 200, 429 or 5xx (404, 401, 403, ...): the URL is wrong, not Kraken busy."""

    own = "unexpected HTTP status"
    hint = "check KRAKEN_API_URL"


class TlsFailure(FatalKrakenError):
    """The TLS handshake failed (untrusted certificate, not a TLS server): never retried, never bypassed."""

    own = "TLS handshake failed"
    hint = "check KRAKEN_API_URL and the machine's trust store"


class MissingCredentials(FatalKrakenError):
    exit_code = 2  # a configuration problem
    own = "no API key or secret"
    hint = "set KRAKEN_API_KEY and KRAKEN_API_SECRET (or *_FILE), or the account's entry in KRAKEN_ETL_CONFIG"


def is_retryable(exc: BaseException) -> bool:
    """The retry policy of an exception, for Prefect's `retry_condition_fn` and the client."""
    return isinstance(exc, KrakenError) and exc.retryable
