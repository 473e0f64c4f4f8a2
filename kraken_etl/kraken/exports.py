"""The HTTP side of Kraken's export cycle: AddExport, ExportStatus, RetrieveExport (streamed), RemoveExport.

AddExport/ExportStatus/RemoveExport are ordinary private calls through `KrakenClient.private`.
RetrieveExport answers with a **binary zip** (not JSON; ccxt#5302, krakenex#114/#132), possibly large, so
it is streamed to a file: `retrieve_export` calls `KrakenClient.private_stream` (the client's signing,
nonce source, call counter and retry loop; it sniffs ``PK\\x03\\x04`` vs ``{`` and raises an error
envelope as the typed error) into ``<dest>.part``, then hashes it and renames it into place only when
complete (a crash mid-download leaves no file that looks finished).

No state, no SQL: `kraken_etl.jobs.exportcycle` drives the cycle and `kraken_etl.db.exports` records it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kraken_etl.core.exportheader import ExportKind
from kraken_etl.kraken.calls import ADD_EXPORT, EXPORT_STATUS, REMOVE_EXPORT, RETRIEVE_EXPORT
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.errors import MalformedResponse

Report = ExportKind  # Kraken's export reports
# Kraken's ExportStatus values (official: Queued, Processing, Processed; Failed/Deleted UNVERIFIED).
KRAKEN_STATUSES: Mapping[str, str] = {
    "Queued": "queued",
    "Processing": "processing",
    "Processed": "processed",
    "Failed": "failed",
    "Deleted": "removed",
}
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class ExportInfo:
    """One entry of ExportStatus: Kraken's id, our description, status (lower case) and the raw entry."""

    id: str
    description: str
    report: str
    status: str
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Download:
    """A retrieved export file on disk."""

    path: Path
    size: int
    sha256: str


def add_export(
    client: KrakenClient,
    *,
    report: Report,
    description: str,
    starttm: int,
    endtm: int,
    fmt: str = "CSV",
    fields: str = "all",
) -> str:
    """AddExport; returns Kraken's export id.

    Raises:
        KrakenError: as `KrakenClient.private`; MalformedResponse when the answer has no id.
    """
    result = client.private(
        ADD_EXPORT,
        {"report": report, "description": description, "format": fmt, "fields": fields,
         "starttm": str(starttm), "endtm": str(endtm)},
    )
    export_id = result.get("id") if isinstance(result, Mapping) else None
    if not isinstance(export_id, str) or not export_id:
        raise MalformedResponse("EClient:Malformed response", "AddExport returned no id", method="AddExport")
    return export_id


def export_statuses(client: KrakenClient, report: Report) -> list[ExportInfo]:
    """ExportStatus for one report kind: every export Kraken still holds.

    Raises:
        KrakenError: as `KrakenClient.private`; MalformedResponse when the answer is not a list.
    """
    result = client.private(EXPORT_STATUS, {"report": report})
    if not isinstance(result, list):
        raise MalformedResponse("EClient:Malformed response", "ExportStatus is not a list", method="ExportStatus")
    out = []
    for entry in result:
        if not isinstance(entry, Mapping) or "id" not in entry:
            continue
        status = str(entry.get("status", ""))
        out.append(
            ExportInfo(
                id=str(entry["id"]),
                description=str(entry.get("descr", "")),
                report=str(entry.get("report", report)),
                status=KRAKEN_STATUSES.get(status, status.lower()),
                raw=dict(entry),
            )
        )
    return out


def find_export(
    exports: list[ExportInfo], *, kraken_id: str | None = None, description: str | None = None
) -> ExportInfo | None:
    """The export with this id, else the newest with this description (how a crashed run finds its job)."""
    if kraken_id:
        for info in exports:
            if info.id == kraken_id:
                return info
    if description:
        matches = [info for info in exports if info.description == description]
        if matches:
            return max(matches, key=lambda info: int(str(info.raw.get("createdtm", "0")) or 0))
    return None


def remove_export(client: KrakenClient, kraken_id: str, kind: Literal["cancel", "delete"]) -> bool:
    """RemoveExport: ``cancel`` a Queued/Processing export, ``delete`` a Processed one.

    Raises:
        KrakenError: as `KrakenClient.private` (InvalidArguments when the id is unknown or the kind does not
            fit the export's status).
    """
    result = client.private(REMOVE_EXPORT, {"id": kraken_id, "type": kind})
    return bool(isinstance(result, Mapping) and result.get(kind))


# -- RetrieveExport: the one binary answer ---------------------------------------------------------------


def retrieve_export(
    client: KrakenClient, kraken_id: str, dest: Path, *, on_chunk: Callable[[int], None] | None = None
) -> Download:
    """RetrieveExport streamed to `dest` (via ``dest.part``); returns its size and SHA-256.

    `on_chunk` is called with the bytes written so far after each chunk (progress bars).

    Raises:
        KrakenError: the envelope's error (typed), TransportFailure/RetriesExhausted on transport trouble,
            MalformedResponse when the body is neither a zip nor an envelope.
        OSError: when `dest` cannot be written.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with part.open("w+b") as out:
            client.private_stream(RETRIEVE_EXPORT, {"id": kraken_id}, out, on_chunk=on_chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    size, digest = _digest(part)
    os.replace(part, dest)
    return Download(dest, size, digest)


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
