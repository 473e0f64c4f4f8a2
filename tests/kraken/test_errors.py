from __future__ import annotations

import pickle

import pytest

from kraken_etl.kraken import envelope
from kraken_etl.kraken import errors as e


def _leaves(cls: type) -> set[type]:
    subs = cls.__subclasses__()
    if not subs:
        return {cls}
    out: set[type] = set()
    for sub in subs:
        out |= _leaves(sub)
    return out


def test_every_leaf_class_is_in_the_mapping() -> None:
    leaves = _leaves(e.KrakenError) - {e.UnknownKrakenError}
    assert leaves <= set(envelope.ERRORS.values()), leaves - set(envelope.ERRORS.values())


@pytest.mark.parametrize(
    ("text", "cls", "code", "detail"),
    [
        ("EAPI:Rate limit exceeded", e.RateLimitExceeded, "EAPI:Rate limit exceeded", ""),
        ("EAPI:Invalid nonce", e.InvalidNonce, "EAPI:Invalid nonce", ""),
        ("EService:Unavailable", e.ServiceUnavailable, "EService:Unavailable", ""),
        ("EService:Busy", e.ServiceBusy, "EService:Busy", ""),
        ("EService: Throttled: 1700000000", e.ServiceThrottled, "EService:Throttled", "1700000000"),
        ("EGeneral:Internal error:42", e.InternalError, "EGeneral:Internal error", "42"),
        ("EAPI:Invalid key", e.InvalidKey, "EAPI:Invalid key", ""),
        ("EAPI:Invalid signature", e.InvalidSignature, "EAPI:Invalid signature", ""),
        ("EGeneral:Permission denied", e.PermissionDenied, "EGeneral:Permission denied", ""),
        ("EGeneral:Invalid arguments:ordertype", e.InvalidArguments, "EGeneral:Invalid arguments", "ordertype"),
        ("EGeneral:Invalid arguments:Index unavailable", e.InvalidArguments, "EGeneral:Invalid arguments",
         "Index unavailable"),
        ("EGeneral:Temporary lockout", e.TemporaryLockout, "EGeneral:Temporary lockout", ""),
        ("EQuery:Unknown asset pair", e.InvalidArguments, "EQuery:Unknown asset pair", ""),
        ("EFoo:Something new", e.UnknownKrakenError, "EFoo:Something new", ""),
    ],
)
def test_error_strings_map_to_classes(text: str, cls: type, code: str, detail: str) -> None:
    error = envelope.error_for(text, method="Ledgers")
    assert type(error) is cls
    assert error.code == code
    assert error.message == detail


@pytest.mark.parametrize(
    ("cls", "retryable"),
    [
        (e.RateLimitExceeded, True), (e.InvalidNonce, True), (e.ServiceUnavailable, True),
        (e.TransportFailure, True), (e.RetriesExhausted, True), (e.PaginationDrift, True),
        (e.InvalidKey, False), (e.InvalidSignature, False), (e.PermissionDenied, False),
        (e.InvalidArguments, False), (e.TemporaryLockout, False), (e.UnknownKrakenError, False),
    ],
)
def test_retry_policy_is_a_class_property(cls: type[e.KrakenError], retryable: bool) -> None:
    assert e.is_retryable(cls("X:y")) is retryable


def test_is_retryable_ignores_foreign_exceptions() -> None:
    assert not e.is_retryable(ValueError("EService:Unavailable"))


def test_envelope_success_returns_result_and_logs_warnings(caplog: pytest.LogCaptureFixture) -> None:
    assert envelope.raise_for_envelope({"error": ["WGeneral:Something"], "result": {"a": 1}}) == {"a": 1}
    assert "WGeneral:Something" in caplog.text


def test_envelope_missing_result_is_empty() -> None:
    assert envelope.raise_for_envelope({"error": []}) == {}


def test_envelope_error_as_a_string_quirk() -> None:
    with pytest.raises(e.RateLimitExceeded):
        envelope.raise_for_envelope({"error": "EAPI:Rate limit exceeded"})


def test_envelope_first_error_wins_with_raw_kept() -> None:
    with pytest.raises(e.InvalidKey) as info:
        envelope.raise_for_envelope({"error": ["EAPI:Invalid key", "EGeneral:Invalid arguments"], "result": {}})
    assert info.value.raw == ["EAPI:Invalid key", "EGeneral:Invalid arguments"]


@pytest.mark.parametrize("payload", [[], "text", {"error": 5}])
def test_envelope_malformed(payload: object) -> None:
    with pytest.raises(e.MalformedResponse):
        envelope.raise_for_envelope(payload)


def test_errors_pickle_round_trip() -> None:
    error = e.PermissionDenied("EGeneral:Permission denied", method="Ledgers", permission="Query Ledger Entries")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is e.PermissionDenied and str(again) == str(error) and again.permission == error.permission


def test_throttled_retry_at() -> None:
    error = envelope.error_for("EService:Throttled:1700000000")
    assert isinstance(error, e.ServiceThrottled) and error.retry_at == 1700000000.0
