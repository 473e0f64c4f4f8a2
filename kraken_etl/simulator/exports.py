"""The export cycle: AddExport → ExportStatus (Queued → Processing → Processed) → RetrieveExport (zip)
→ RemoveExport.

Status is a function of the injected clock and two durations. The zip is built in a background thread
from AddExport on (as Kraken processes an export while it is Queued/Processing; a RetrieveExport that
comes first waits for it), or on first retrieval with ``export_prebuild`` off. It is streamed row by row
into a temporary file (bounded memory at any size), and holds one
``.csv``/``.tsv`` in a selectable header era (Kraken's ledgers and trades exports). Exports show every row (the
hide/missing-leg faults only affect REST). Member names, TSV quoting and error strings for
unknown/unready ids are UNVERIFIED (documented in docs/simulator.md).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kraken_etl.simulator.auth import ApiError
from kraken_etl.simulator.config import SimConfig
from kraken_etl.simulator.exportformat import LEDGER_FIELDS, TRADE_FIELDS, lines
from kraken_etl.simulator.ids import hashed_id
from kraken_etl.simulator.store import Store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ExportJob:
    """One requested export."""

    id: str
    report: str
    descr: str
    format: str
    fields: str
    starttm: int
    endtm: int
    createdtm: float
    stuck: bool
    path: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class ExportBook:
    """All exports of the account, their timing and their files."""

    def __init__(self, config: SimConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.jobs: dict[str, ExportJob] = {}
        self.counter = 0
        self.dir = tempfile.mkdtemp(prefix="kraken-sim-exports-")

    def status_of(self, job: ExportJob, now: float) -> str:
        """Queued, Processing or Processed at `now`."""
        queued_until = job.createdtm + self.config.export_queued_seconds
        if now < queued_until:
            return "Queued"
        if job.stuck or now < queued_until + self.config.export_processing_seconds:
            return "Processing"
        return "Processed"

    def add(self, params: dict[str, str], now: float, stuck: bool) -> str:
        """AddExport: validate and queue a job; returns its id.

        Raises:
            ApiError: ``EGeneral:Invalid arguments:<field>`` for a bad report, description, format,
                fields, starttm or endtm.
        """
        report = params.get("report", "")
        if report not in ("trades", "ledgers"):
            raise ApiError("EGeneral:Invalid arguments:report")
        descr = params.get("description", "")
        if not descr:
            raise ApiError("EGeneral:Invalid arguments:description")
        fmt = params.get("format", "CSV").upper()
        if fmt not in ("CSV", "TSV"):
            raise ApiError("EGeneral:Invalid arguments:format")
        fields = params.get("fields", "all") or "all"
        allowed = LEDGER_FIELDS if report == "ledgers" else TRADE_FIELDS
        if fields != "all" and not set(fields.split(",")) <= set(allowed):
            raise ApiError("EGeneral:Invalid arguments:fields")
        month = datetime.fromtimestamp(now, UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        try:
            starttm = int(params.get("starttm") or month.timestamp())
            endtm = int(params.get("endtm") or now)
        except ValueError as exc:
            raise ApiError("EGeneral:Invalid arguments:starttm") from exc
        while True:
            self.counter += 1
            export_id = hashed_id(self.store.seed, "", self.counter, (4,))
            if export_id not in self.jobs:
                break
        job = ExportJob(export_id, report, descr, fmt, fields, starttm, endtm, now, stuck)
        self.jobs[export_id] = job
        if self.config.export_prebuild and not stuck:
            threading.Thread(target=self._prebuild, args=(job,), name=f"sim-export-{export_id}",
                             daemon=True).start()
        return export_id

    def _prebuild(self, job: ExportJob) -> None:
        """Build the zip ahead of RetrieveExport; a failure here is left to the retrieval to raise."""
        try:
            path = self.zip_path(job, corrupt=False)
        except Exception:  # RetrieveExport builds again and reports it
            log.exception("export %s: building the zip ahead failed", job.id)
            return
        if job.id not in self.jobs:  # removed while it was being built
            with suppress(OSError):
                os.unlink(path)

    def status(self, report: str, now: float) -> list[dict[str, str]]:
        """ExportStatus: every live export of that kind (times as integer strings)."""
        if report not in ("trades", "ledgers"):
            raise ApiError("EGeneral:Invalid arguments:report")
        out = []
        for job in self.jobs.values():
            if job.report != report:
                continue
            st = self.status_of(job, now)
            started = job.createdtm + self.config.export_queued_seconds
            done = started + self.config.export_processing_seconds
            out.append({
                "id": job.id, "descr": job.descr, "format": job.format, "report": job.report,
                "subtype": "all", "status": st, "flags": "0", "fields": job.fields,
                "createdtm": str(int(job.createdtm)),
                "expiretm": str(int(job.createdtm + self.config.export_expire_seconds)),
                "starttm": str(int(started)) if st != "Queued" else str(job.starttm),
                "completedtm": str(int(done)) if st == "Processed" else "0",
                "datastarttm": str(job.starttm), "dataendtm": str(job.endtm),
                "aclass": "forex", "asset": "all",
            })
        return out

    def remove(self, export_id: str, kind: str, now: float) -> dict[str, bool]:
        """RemoveExport: ``cancel`` a Queued/Processing export or ``delete`` a Processed one.

        Raises:
            ApiError: for an unknown id or a type that does not fit the export's status.
        """
        job = self.jobs.get(export_id)
        if job is None:
            raise ApiError("EGeneral:Invalid arguments:id")
        st = self.status_of(job, now)
        if kind not in ("cancel", "delete") or (kind == "delete") != (st == "Processed"):
            raise ApiError("EGeneral:Invalid arguments:type")
        del self.jobs[export_id]
        if job.path:
            for path in (job.path, job.path + ".corrupt"):
                if os.path.exists(path):
                    os.unlink(path)
        return {kind: True}

    def ready_job(self, export_id: str, now: float) -> ExportJob:
        """The job behind RetrieveExport, once Processed.

        Raises:
            ApiError: ``EGeneral:Invalid arguments:id`` for unknown or not yet processed exports.
        """
        job = self.jobs.get(export_id)
        if job is None or self.status_of(job, now) != "Processed":
            raise ApiError("EGeneral:Invalid arguments:id")
        return job

    def zip_path(self, job: ExportJob, corrupt: bool) -> str:
        """Build (once) and return the zip's path; `corrupt` returns a truncated copy."""
        with job.lock:
            if job.path is None:
                path = os.path.join(self.dir, f"{job.id}.zip")
                ext = "tsv" if job.format == "TSV" else "csv"
                with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf, \
                        zf.open(f"{job.report}.{ext}", "w") as member:
                    for chunk in self.lines(job):
                        member.write(chunk.encode())
                job.path = path
            if not corrupt:
                return job.path
            bad = job.path + ".corrupt"
            if not os.path.exists(bad):
                with open(job.path, "rb") as src, open(bad, "wb") as dst:
                    data = src.read()
                    dst.write(data[: max(10, len(data) // 2)])
            return bad

    def lines(self, job: ExportJob) -> Iterator[str]:
        """The export's text in chunks of lines (header first)."""
        return lines(self.config, self.store, job)
