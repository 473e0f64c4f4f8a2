"""Streaming a binary answer (RetrieveExport's zip) to a file: sniff, then copy in chunks.

The first bytes decide: a JSON body (``{``) is Kraken's error envelope and raises its typed error; a body
that does not start with the expected magic is `MalformedResponse`; anything else is copied in 1 MiB
chunks, so memory does not grow with the file.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import IO

import httpx

from kraken_etl.kraken.errors import MalformedResponse
from kraken_etl.kraken.http import decode_body, status_error

STREAM_CHUNK = 1 << 20
MAX_ENVELOPE = 1 << 20  # an error envelope is small; a bigger "JSON" body is not one


def copy_file_body(response: httpx.Response, name: str, sink: IO[bytes], magic: bytes,
                   on_chunk: Callable[[int], None] | None) -> int:
    """Copy a streamed answer to `sink` after checking it is the file; returns the bytes written.

    Raises:
        KrakenError: the status's error (retryable for 429/5xx), the envelope's error, or MalformedResponse.
    """
    host = response.url.host
    if response.status_code != 200:
        raise status_error(response.status_code, host, name)
    chunks = response.iter_bytes(STREAM_CHUNK)
    first = b""
    for chunk in chunks:
        first += chunk
        if len(first) >= len(magic):
            break
    if first.lstrip()[:1] == b"{":
        for chunk in chunks:
            first += chunk
            if len(first) > MAX_ENVELOPE:
                break
        decode_body(first, host, name)  # raises the envelope's error
        raise MalformedResponse("EClient:Malformed response", "JSON answer instead of a file", method=name)
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
