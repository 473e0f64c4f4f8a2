"""Kraken's export cycle as a resumable state machine.

Composition ring (`kraken_etl.jobs`): it wires `kraken.exports` (HTTP), `db.exports` (job rows) and
`fileload` (verify, parse, validate and load the file through the shared loader). No SQL text, no httpx.

The export state machine (one `export_job` row per report and range; every transition committed)::

    requested ─AddExport─▶ queued ─▶ processing ─▶ processed ─RetrieveExport─▶ downloaded
        ─verify+parse+validate+load (one transaction, with the `loaded` status)─▶ loaded
        ─RemoveExport delete─▶ removed
    stuck past the timeout ─RemoveExport cancel─▶ cancelled;   Kraken reports Failed ─▶ failed

Resume rules (a rerun after kill -9 at any point completes and never asks for a second export):

- ``requested`` without Kraken's id: the crash may have happened after AddExport; ExportStatus is searched
  for our description first, and AddExport is only sent when Kraken holds no such export.
- ``queued``/``processing``/``processed``: polling (or the download) starts again for the same id.
- ``downloaded``: the file is re-verified (size and SHA-256) and loaded; a missing or damaged file is
  downloaded again. The load commits the rows and the ``loaded`` status together, so a crash during the
  load rolls back and the rerun loads again; loads are idempotent anyway (natural keys, ON CONFLICT).
- ``loaded``: only RemoveExport remains. ``removed``: nothing to do.
- ``failed``/``cancelled``: the job is re-requested (a new export; the old one is gone or useless).
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kraken_etl.core.clock import Clock
from kraken_etl.core.exportheader import ExportFileError
from kraken_etl.core.results import JobResult
from kraken_etl.db import exports as jobs
from kraken_etl.db.runs import Engine
from kraken_etl.jobs.errors import BackfillError, ExportStuck
from kraken_etl.jobs.events import Event, Progress, quiet_progress
from kraken_etl.jobs.exportzip import DEFAULT_LIMITS, ExportLimits
from kraken_etl.jobs.fileload import load_export_file
from kraken_etl.kraken import exports as kx
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.errors import InvalidArguments, KrakenError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExportPolicy:
    """How the export cycle waits and what it keeps (defaults suit real Kraken; tests shrink them)."""

    poll_initial: float = 5.0  # first wait between ExportStatus calls, seconds
    poll_max: float = 60.0  # the backoff's ceiling
    poll_factor: float = 1.5
    timeout: float = 3 * 3600.0  # a Processing export older than this (in this run) is cancelled
    fmt: str = "CSV"
    # exports of a backfill asked for at once and not yet loaded (Kraken does not document a limit on
    # pending exports; two cover the usual plan: one ledgers and one trades export)
    ahead: int = 2
    keep_files: bool = False  # keep the zip under KRAKEN_ETL_HOME/exports after RemoveExport
    limits: ExportLimits = DEFAULT_LIMITS


def export_description(report: str, start: datetime, end: datetime) -> str:
    """The deterministic description that names one export of one range (how a rerun finds its job)."""
    return f"kraken-etl {report} {int(start.timestamp())}-{int(end.timestamp())}"


@dataclass
class ExportRun:
    """Everything one export job needs: where to talk, store, wait and report."""

    engine: Engine
    client: KrakenClient
    clock: Clock
    account: str
    home: Path
    policy: ExportPolicy = field(default_factory=ExportPolicy)
    progress: Progress = quiet_progress
    # seconds spent waiting on Kraken (export processing, download), for the report of our own time
    processing_wait: float = 0.0
    download_seconds: float = 0.0

    def set(self, job: jobs.ExportJob, **changes: Any) -> jobs.ExportJob:
        with self.engine.begin() as conn:
            job = jobs.update_job(conn, job.id, **changes)
        if "status" in changes:
            self.progress(Event("status", f"export job {job.id} ({job.report}): {job.status}", job.report,
                                job_id=job.id))
        return job


def submit_export(run: ExportRun, report: kx.Report, start: datetime, end: datetime) -> jobs.ExportJob:
    """Have Kraken start on one export now (AddExport, or finding the one a crashed run asked for), so that
    several exports of a backfill are processed at Kraken while earlier ones download and load. A job
    already past ``requested`` is left as it is; `run_export` then drives it on.

    Raises:
        KrakenError: fatal Kraken errors (permissions, key) from the client.
    """
    description = export_description(report, start, end)
    with run.engine.begin() as conn:
        job = jobs.ensure_job(conn, account=run.account, report=report, description=description,
                              starttm=start, endtm=end, fmt=run.policy.fmt)
    if job.status in jobs.RETRYABLE:
        job = run.set(job, status="requested", kraken_id=None, file_path=None, file_size=None, sha256=None,
                      error=None)
    if job.status == "requested":
        job = _request(run, job, report, start, end)
    return job


def run_export(run: ExportRun, report: kx.Report, start: datetime, end: datetime) -> JobResult:
    """Drive one export job (report and range) to ``removed``, resuming whatever a previous run left.

    Raises:
        ExportStuck: the export stayed queued/processing past `policy.timeout` (it is cancelled).
        BackfillError: Kraken reports the export failed, or keeps losing it.
        ExportFileError: the downloaded file is corrupt/malicious twice in a row (job marked failed).
        KrakenError: fatal Kraken errors (permissions, key) from the client.
    """
    description = export_description(report, start, end)
    waited_before, downloading_before = run.processing_wait, run.download_seconds
    job = submit_export(run, report, start, end)  # asked for now, unless asked for ahead or by a crashed run
    run.progress(Event("status", f"export job {job.id} ({report} {start:%Y-%m-%d}..{end:%Y-%m-%d}): "
                       f"{job.status}", report, job_id=job.id))
    result: JobResult | None = None
    resets = 0
    bad_files = 0
    while True:
        status = job.status
        if status == "removed":
            break
        if status in jobs.RETRYABLE:
            job = run.set(job, status="requested", kraken_id=None, file_path=None, file_size=None,
                          sha256=None, error=None)
        elif status == "requested":
            job = _request(run, job, report, start, end)
        elif status in ("queued", "processing"):
            job = _poll(run, job, report)
        elif status == "processed":
            job = _download(run, job, report)
        elif status == "downloaded":
            try:
                job, result = _load(run, job, report)
            except ExportFileError as exc:
                bad_files += 1
                if bad_files > 1:
                    run.set(job, status="failed", error=str(exc))
                    raise
                log.warning("export job %s: %s; downloading again", job.id, exc)
                job = run.set(job, status="processed", error=str(exc))
        elif status == "loaded":
            job = _remove(run, job)
        else:
            raise BackfillError(f"export job {job.id} has unknown status {status!r}")
        if job.status == "requested" and job.kraken_id is None and status != "requested":
            resets += 1
            if resets > 3:
                raise BackfillError(f"export job {job.id}: Kraken keeps losing the export; giving up")
    if result is None:
        result = JobResult(run.account, report, "export", "export", name=description,
                           loaded=job.rows_loaded or 0, quarantined=job.rows_quarantined or 0, job_id=job.id,
                           details={"resumed": "already loaded"})
    result.window_start, result.window_end = start, end
    result.details["kraken_processing_wait_seconds"] = round(run.processing_wait - waited_before, 3)
    result.details["download_seconds"] = round(run.download_seconds - downloading_before, 3)
    return result


def _request(run: ExportRun, job: jobs.ExportJob, report: kx.Report, start: datetime,
             end: datetime) -> jobs.ExportJob:
    if job.kraken_id is None:
        # A crash right after AddExport leaves no id here: look for our description before asking again.
        found = kx.find_export(kx.export_statuses(run.client, report), description=job.description)
        if found is not None:
            return run.set(job, kraken_id=found.id, status=_job_status(found), raw=found.raw)
        kraken_id = kx.add_export(run.client, report=report, description=job.description,
                                  starttm=int(start.timestamp()), endtm=int(end.timestamp()),
                                  fmt=job.format, fields=job.fields)
        return run.set(job, kraken_id=kraken_id, status="queued")
    return run.set(job, status="queued")


def _job_status(info: kx.ExportInfo) -> str:
    return info.status if info.status in ("queued", "processing", "processed", "failed") else "queued"


def _poll(run: ExportRun, job: jobs.ExportJob, report: kx.Report) -> jobs.ExportJob:
    policy = run.policy
    started = run.clock.now()
    wait = policy.poll_initial
    polls = 0
    while True:
        found = kx.find_export(kx.export_statuses(run.client, report), kraken_id=job.kraken_id)
        polls += 1
        if found is None:
            log.warning("export job %s: Kraken no longer lists export %s; requesting it again",
                        job.id, job.kraken_id)
            return run.set(job, status="requested", kraken_id=None, error="export vanished at Kraken")
        status = _job_status(found)
        if status != job.status:
            job = run.set(job, status=status, raw=found.raw)
        if status == "processed":
            return job
        if status == "failed":
            raise BackfillError(f"Kraken reports export {job.kraken_id} (job {job.id}) failed; rerun to retry")
        elapsed = run.clock.now() - started
        run.progress(Event("poll", f"export {job.kraken_id} {status}, {elapsed:,.0f}s", report, job_id=job.id,
                           done=polls))
        if elapsed >= policy.timeout:
            _cancel(run, job)
            raise ExportStuck(
                f"export {job.kraken_id} (job {job.id}) still {status} after {elapsed:,.0f}s; cancelled it "
                "at Kraken; rerun the backfill to request it again"
            )
        pause = min(wait, max(policy.timeout - elapsed, 0.0))
        run.clock.sleep(pause)
        run.processing_wait += pause
        wait = min(wait * policy.poll_factor, policy.poll_max)


def _cancel(run: ExportRun, job: jobs.ExportJob) -> None:
    error = f"stuck: cancelled after {run.policy.timeout:,.0f}s"
    if job.kraken_id:
        try:
            kx.remove_export(run.client, job.kraken_id, "cancel")
        except InvalidArguments:
            with suppress(KrakenError):  # it finished meanwhile: delete it instead
                kx.remove_export(run.client, job.kraken_id, "delete")
    run.set(job, status="cancelled", error=error)


def _download(run: ExportRun, job: jobs.ExportJob, report: kx.Report) -> jobs.ExportJob:
    assert job.kraken_id is not None
    dest = run.home / "exports" / run.account / f"{job.id}-{report}-{job.kraken_id}.zip"
    run.progress(Event("download", f"retrieving export {job.kraken_id}", report, job_id=job.id))
    began = run.clock.now()
    try:
        download = kx.retrieve_export(
            run.client, job.kraken_id, dest,
            on_chunk=lambda size: run.progress(Event("download", f"{size:,} bytes", report, job_id=job.id, done=size)),
        )
    except InvalidArguments:
        # Unknown id: Kraken deleted or expired it since it said Processed.
        return run.set(job, status="requested", kraken_id=None, error="export vanished before download")
    run.download_seconds += run.clock.now() - began
    run.progress(Event("download", f"retrieved {download.size:,} bytes", report, job_id=job.id,
                       done=download.size, total=download.size))
    return run.set(job, status="downloaded", file_path=str(download.path), file_size=download.size,
                   sha256=download.sha256)


def _load(run: ExportRun, job: jobs.ExportJob, report: kx.Report) -> tuple[jobs.ExportJob, JobResult]:
    path = Path(job.file_path or "")
    if not job.file_path or not path.is_file() or path.stat().st_size != job.file_size:
        log.warning("export job %s: downloaded file missing or changed; downloading again", job.id)
        return run.set(job, status="processed"), JobResult(run.account, report, "export", "export", name=path.name)
    result = load_export_file(run.engine, path, account=run.account, source="export", job_id=job.id,
                              window=(job.starttm, job.endtm), limits=run.policy.limits, expect=report,
                              progress=run.progress, clock=run.clock)
    with run.engine.connect() as conn:
        job = jobs.get_job(conn, job.id)
    run.progress(Event("status", f"export job {job.id} ({report}): loaded {result.loaded:,} rows, "
                       f"{result.quarantined:,} quarantined", report, job_id=job.id))
    return job, result


def _remove(run: ExportRun, job: jobs.ExportJob) -> jobs.ExportJob:
    if job.kraken_id:
        with suppress(InvalidArguments):  # already deleted or expired at Kraken
            kx.remove_export(run.client, job.kraken_id, "delete")
    if job.file_path and not run.policy.keep_files:
        Path(job.file_path).unlink(missing_ok=True)
    return run.set(job, status="removed")
