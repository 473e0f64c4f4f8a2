"""Kraken's answer envelope (``{"error": [...], "result": ...}``): its error strings read once, onto the typed
tree of `kraken_etl.kraken.errors`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kraken_etl.kraken.errors import (
    DeadlineElapsed,
    HttpStatusError,
    InternalError,
    InvalidArguments,
    InvalidKey,
    InvalidNonce,
    InvalidSignature,
    KrakenError,
    MalformedResponse,
    MissingCredentials,
    PaginationDrift,
    PermissionDenied,
    RateLimitExceeded,
    RetriesExhausted,
    ServiceBusy,
    ServiceThrottled,
    ServiceUnavailable,
    TemporaryLockout,
    TlsFailure,
    TransportFailure,
    UnknownKrakenError,
    UnknownMethod,
)

log = logging.getLogger(__name__)

# Code (``E<Category>:<Message>``, detail stripped) -> class. Longest prefix wins for detailed codes.
ERRORS: Mapping[str, type[KrakenError]] = {
    "EAPI:Rate limit exceeded": RateLimitExceeded,
    "EAuth:Rate limit exceeded": RateLimitExceeded,
    "EAPI:Invalid nonce": InvalidNonce,
    "EService:Unavailable": ServiceUnavailable,
    "EService:Busy": ServiceBusy,
    "EGeneral:Too many requests": ServiceBusy,
    "EService:Throttled": ServiceThrottled,
    "EService:Deadline elapsed": DeadlineElapsed,
    "EGeneral:Internal error": InternalError,
    "EDatabase:Internal error": InternalError,
    "EAPI:Invalid key": InvalidKey,
    "EAPI:Invalid signature": InvalidSignature,
    "EGeneral:Permission denied": PermissionDenied,
    "EGeneral:Invalid arguments": InvalidArguments,
    "EAPI:Bad request": InvalidArguments,
    "EQuery:Unknown asset pair": InvalidArguments,
    "EQuery:Unknown asset": InvalidArguments,
    "EGeneral:Unknown method": UnknownMethod,
    "EGeneral:Temporary lockout": TemporaryLockout,
    # Not Kraken strings: our own tags, listed so every leaf class has a code.
    "ETransport:Failure": TransportFailure,
    "EClient:Retries exhausted": RetriesExhausted,
    "EClient:Pagination drift": PaginationDrift,
    "EClient:Malformed response": MalformedResponse,
    "EClient:HTTP status": HttpStatusError,
    "ETransport:TLS failure": TlsFailure,
    "EClient:Missing credentials": MissingCredentials,
}


def split_code(text: str) -> tuple[str, str]:
    """``"EGeneral:Invalid arguments:ordertype"`` → (``"EGeneral:Invalid arguments"``, ``"ordertype"``).

    Kraken writes ``EService: Throttled: 1700000000`` with spaces in one documented case; they are trimmed.
    """
    parts = [p.strip() for p in text.split(":")]
    if len(parts) < 2:
        return text.strip(), ""
    return f"{parts[0]}:{parts[1]}", ":".join(parts[2:])


def error_for(text: str, *, method: str | None = None, raw: object = None) -> KrakenError:
    """The typed error for one Kraken error string."""
    code, detail = split_code(text)
    cls = ERRORS.get(code, UnknownKrakenError)
    if cls.own:  # our own tags are never read from an answer: a server sending one sent an unknown code
        cls = UnknownKrakenError
    return cls(code, detail, raw, method=method)


def raise_for_envelope(payload: object, *, method: str | None = None) -> Any:
    """Return ``payload["result"]``, or raise the typed error its ``error`` list names.

    Warnings (``W…``) are logged, not raised. Tolerates the quirk of `error` sent as one string
    (seen in Kraken's answers) and a missing/``{}`` `result` on success (empty Balance, rotki#946).

    Raises:
        KrakenError: the subclass matching the first ``E…`` string; MalformedResponse when the payload is
            not Kraken's envelope.
    """
    if not isinstance(payload, Mapping):
        raise MalformedResponse(
            "EClient:Malformed response", "the answer is not a JSON object", method=method
        )
    errors = payload.get("error", [])
    if isinstance(errors, str):
        errors = [errors] if errors else []
    if not isinstance(errors, list):
        raise MalformedResponse("EClient:Malformed response", "`error` is not a list", method=method)
    for text in errors:
        if isinstance(text, str) and text.startswith("W"):
            log.warning("Kraken warning on %s: %s", method, text)
    failures = [t for t in errors if not (isinstance(t, str) and t.startswith("W"))]
    if failures:
        raise error_for(str(failures[0]), method=method, raw=errors)
    return payload.get("result", {})
