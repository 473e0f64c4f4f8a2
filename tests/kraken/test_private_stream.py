"""`KrakenClient.private_stream`: a binary answer streamed to a sink, or the envelope's typed error."""

from __future__ import annotations

import io

import httpx
import pytest
from pydantic import SecretStr

from kraken_etl.kraken import errors as e
from kraken_etl.kraken.calls import RETRIEVE_EXPORT
from kraken_etl.kraken.client import KrakenClient, RetryPolicy
from tests.kraken.conftest import FakeClock, ScriptedKraken, envelope, make_client

ZIP = b"PK\x03\x04" + bytes(range(256)) * 9000  # > 2 MiB: several 1 MiB chunks


def binary(body: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"Content-Type": "application/octet-stream"})


def test_streams_the_zip_to_the_sink_with_a_signed_request(clock: FakeClock) -> None:
    kraken = ScriptedKraken([binary(ZIP)])
    sink = io.BytesIO()
    seen: list[int] = []
    with make_client(kraken, clock) as client:
        size = client.private_stream(RETRIEVE_EXPORT, {"id": "ABCD"}, sink, on_chunk=seen.append)
        assert client.stats.calls == 1
    assert size == len(ZIP) and sink.getvalue() == ZIP
    assert seen[-1] == len(ZIP) and seen == sorted(seen)
    ((path, params),) = kraken.requests
    assert path == "/0/private/RetrieveExport" and params["id"] == "ABCD"  # signature checked by ScriptedKraken


@pytest.mark.parametrize(
    ("error", "exc"),
    [("EGeneral:Invalid arguments:id", e.InvalidArguments), ("EAPI:Invalid key", e.InvalidKey),
     ("EGeneral:Permission denied", e.PermissionDenied)],
)
def test_a_json_envelope_raises_the_typed_error_at_once(
    clock: FakeClock, error: str, exc: type[e.KrakenError]
) -> None:
    kraken = ScriptedKraken([envelope(errors=[error])])
    sink = io.BytesIO()
    with make_client(kraken, clock) as client, pytest.raises(exc):
        client.private_stream(RETRIEVE_EXPORT, {"id": "X"}, sink)
    assert sink.getvalue() == b"" and len(kraken.requests) == 1


def test_a_retryable_failure_restarts_the_sink_with_a_fresh_nonce(clock: FakeClock) -> None:
    kraken = ScriptedKraken([binary(b"oops", 520), envelope(errors=["EService:Unavailable"]), binary(ZIP)])
    sink = io.BytesIO()
    sink.write(b"left over from somewhere")
    with make_client(kraken, clock) as client:
        assert client.private_stream(RETRIEVE_EXPORT, {"id": "X"}, sink) == len(ZIP)
        assert client.stats.retries == 2
    assert sink.getvalue() == ZIP
    assert len(set(kraken.nonces)) == 3


def test_a_body_that_is_neither_the_file_nor_json_is_malformed(clock: FakeClock) -> None:
    kraken = ScriptedKraken([binary(b"<html>maintenance</html>")])
    with make_client(kraken, clock) as client, pytest.raises(e.MalformedResponse):
        client.private_stream(RETRIEVE_EXPORT, {"id": "X"}, io.BytesIO())
    assert len(kraken.requests) == 1


def test_a_successful_json_answer_is_not_a_file(clock: FakeClock) -> None:
    kraken = ScriptedKraken([envelope(result={"id": "X"})])
    with make_client(kraken, clock) as client, pytest.raises(e.MalformedResponse, match="JSON answer"):
        client.private_stream(RETRIEVE_EXPORT, {"id": "X"}, io.BytesIO())


def test_retries_are_bounded(clock: FakeClock) -> None:
    kraken = ScriptedKraken(lambda path, params: binary(b"", 502))
    with make_client(kraken, clock, retry=RetryPolicy(max_attempts=3)) as client, \
            pytest.raises(e.RetriesExhausted):
        client.private_stream(RETRIEVE_EXPORT, {"id": "X"}, io.BytesIO())
    assert len(kraken.requests) == 3


def test_no_credentials_no_request(clock: FakeClock) -> None:
    kraken = ScriptedKraken([binary(ZIP)])
    client = KrakenClient("https://kraken.test", api_key=None, api_secret=SecretStr("x"), clock=clock,
                          transport=httpx.MockTransport(kraken))
    with client, pytest.raises(e.MissingCredentials):
        client.private_stream(RETRIEVE_EXPORT, {"id": "X"}, io.BytesIO())
    assert kraken.requests == []
