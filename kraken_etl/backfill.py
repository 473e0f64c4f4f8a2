"""Backfill and import: Kraken's export cycle as a resumable state machine, manual file imports, REST windows.

Composition ring (like `pipeline`): it wires `kraken.exports` (HTTP), `db.exports` (job rows), the export
file reader (`exportzip` + `core.exportfile`) and the shared validation and loader. No SQL text, no httpx.

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

Backfill never writes the incremental bookmark.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from kraken_etl.core.exportfile import ExportBatch, ExportFileError, ExportKind, iter_export_batches
from kraken_etl.core.records import Rejected, Source
from kraken_etl.db import exports as jobs
from kraken_etl.exportzip import DEFAULT_LIMITS, ExportLimits, open_export_text, verify_export_file
from kraken_etl.kraken import exports as kx
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.clock import Clock
from kraken_etl.kraken.errors import InvalidArguments, KrakenError

log = logging.getLogger(__name__)

Via = Literal["auto", "rest", "export"]
EXPORT_STREAMS: dict[str, kx.Report] = {"ledgers": "ledgers", "trades": "trades"}
# REST history endpoint and its result key per stream, for `auto`'s size estimate.
COUNT_METHODS = {"ledgers": "Ledgers", "trades": "TradesHistory"}


class Engine(Protocol):
    """The database as this module sees it: transactions (`begin`) and read connections (`connect`).

    A SQLAlchemy `Engine`; typed structurally so this composition ring does not import SQL libraries.
    """

    def begin(self) -> AbstractContextManager[Any]: ...

    def connect(self) -> AbstractContextManager[Any]: ...


class BackfillError(Exception):
    """A backfill cannot go on (export stuck or failed at Kraken, …); the message says what to do."""


class ExportStuck(BackfillError):
    """An export did not finish within the polling timeout; it was cancelled at Kraken."""


@dataclass(frozen=True, slots=True)
class ExportPolicy:
    """How the export cycle waits and what it keeps (defaults suit real Kraken; tests shrink them)."""

    poll_initial: float = 5.0  # first wait between ExportStatus calls, seconds
    poll_max: float = 60.0  # the backoff's ceiling
    poll_factor: float = 1.5
    timeout: float = 3 * 3600.0  # a Processing export older than this (in this run) is cancelled
    fmt: str = "CSV"
    keep_files: bool = False  # keep the zip under KRAKEN_ETL_HOME/exports after RemoveExport
    limits: ExportLimits = DEFAULT_LIMITS


@dataclass(frozen=True, slots=True)
class Event:
    """A progress event for the CLI/flow: `kind` is status, poll, download, load or done."""

    kind: str
    message: str
    job_id: int | None = None
    done: int = 0
    total: int | None = None


Progress = Callable[[Event], None]


def _quiet(event: Event) -> None:
    log.debug("%s: %s", event.kind, event.message)


@dataclass(slots=True)
class LoadResult:
    """What loading one file (or one window) did."""

    name: str
    kind: str
    rows: int = 0
    loaded: int = 0
    quarantined: int = 0
    job_id: int | None = None
    via: str = "import"
    error: str | None = None
    window: tuple[datetime, datetime] | None = None
    details: dict[str, Any] = field(default_factory=dict)


# -- the shared loader seam ------------------------------------------------------------------------------


def load_batch(conn: Any, account: str, batch: ExportBatch, source: Source) -> tuple[int, int]:
    """Validate one parsed batch and load it through the shared path; returns (loaded, quarantined).

    The same validation (`kraken_etl.validation`) and loader (`kraken_etl.db.load`) as REST sync: rows
    that fail validation join the parser's rejected rows (pending rows, unreadable cells) in quarantine.
    """
    try:
        from kraken_etl.db.load import quarantine, upsert_records
        from kraken_etl.validation import validate
    except ImportError:  # INTERIM until issue 4's loader lands: see kraken_etl/db/interim_load.py
        from kraken_etl.db.interim_load import quarantine, upsert_records, validate

    valid, invalid = validate(batch.kind, batch.records)
    rejected: list[Rejected] = [*batch.rejected, *invalid]
    if valid:
        upsert_records(conn, account, batch.kind, valid, source)
    if rejected:
        quarantine(conn, account, batch.kind, rejected, source)
    return len(valid), len(rejected)


# -- files -----------------------------------------------------------------------------------------------


def load_export_file(
    engine: Engine,
    path: Path,
    *,
    account: str,
    source: Source = "import",
    job_id: int | None = None,
    limits: ExportLimits = DEFAULT_LIMITS,
    expect: ExportKind | None = None,
    progress: Progress = _quiet,
) -> LoadResult:
    """Verify, parse, validate and load one export file in ONE transaction (all of it or nothing).

    With `job_id`, the job's ``loaded`` status and counts are committed in that same transaction.

    Raises:
        ExportFileError: the file is corrupt, truncated, malicious, too large or not a Kraken export —
            raised by the verification pass, before any row is parsed; nothing is loaded.
    """
    verified = verify_export_file(path, limits)
    kind = verified.header.kind
    if expect is not None and kind != expect:
        raise ExportFileError(f"{path.name}: expected a {expect} export, the header says {kind}")
    result = LoadResult(name=path.name, kind=kind, job_id=job_id,
                        via="export" if job_id is not None else "import")
    total = verified.data_size
    with engine.begin() as conn, open_export_text(path, limits) as text:
        for batch in iter_export_batches(text):
            loaded, quarantined = load_batch(conn, account, batch, source)
            result.rows += batch.rows
            result.loaded += loaded
            result.quarantined += quarantined
            progress(Event("load", f"{path.name}: {result.rows:,} rows", job_id, _tell(text), total))
        if job_id is not None:
            jobs.update_job(conn, job_id, status="loaded", rows_loaded=result.loaded,
                            rows_quarantined=result.quarantined, error=None)
    return result


def _tell(text: Any) -> int:
    with suppress(Exception):
        return int(text.buffer.tell())
    return 0


def import_files(
    engine: Engine,
    paths: Sequence[Path],
    *,
    account: str,
    limits: ExportLimits = DEFAULT_LIMITS,
    progress: Progress = _quiet,
) -> list[LoadResult]:
    """Load export files a person downloaded from Kraken (zip, CSV or TSV; ledgers or trades).

    Each file is its own transaction; a rejected file (ExportFileError) is reported in its result's
    `error` and loads nothing, and the other files still load.
    """
    results = []
    for path in paths:
        try:
            results.append(load_export_file(engine, Path(path), account=account, source="import",
                                            limits=limits, progress=progress))
        except ExportFileError as exc:
            results.append(LoadResult(name=Path(path).name, kind="?", error=str(exc)))
    return results


# -- the export cycle ------------------------------------------------------------------------------------


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
    progress: Progress = _quiet

    def set(self, job: jobs.ExportJob, **changes: Any) -> jobs.ExportJob:
        with self.engine.begin() as conn:
            job = jobs.update_job(conn, job.id, **changes)
        if "status" in changes:
            self.progress(Event("status", f"export job {job.id} ({job.report}): {job.status}", job.id))
        return job


def run_export(run: ExportRun, report: kx.Report, start: datetime, end: datetime) -> LoadResult:
    """Drive one export job (report and range) to ``removed``, resuming whatever a previous run left.

    Raises:
        ExportStuck: the export stayed queued/processing past `policy.timeout` (it is cancelled).
        BackfillError: Kraken reports the export failed, or keeps losing it.
        ExportFileError: the downloaded file is corrupt/malicious twice in a row (job marked failed).
        KrakenError: fatal Kraken errors (permissions, key) from the client.
    """
    description = export_description(report, start, end)
    with run.engine.begin() as conn:
        job = jobs.ensure_job(conn, account=run.account, report=report, description=description,
                              starttm=start, endtm=end, fmt=run.policy.fmt)
    run.progress(Event("status", f"export job {job.id} ({report} {start:%Y-%m-%d}..{end:%Y-%m-%d}): "
                       f"{job.status}", job.id))
    result: LoadResult | None = None
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
        result = LoadResult(name=description, kind=report, loaded=job.rows_loaded or 0,
                            quarantined=job.rows_quarantined or 0, job_id=job.id, via="export",
                            details={"resumed": "already loaded"})
    result.window = (start, end)
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
        run.progress(Event("poll", f"export {job.kraken_id} {status}, {elapsed:,.0f}s", job.id, polls))
        if elapsed >= policy.timeout:
            _cancel(run, job)
            raise ExportStuck(
                f"export {job.kraken_id} (job {job.id}) still {status} after {elapsed:,.0f}s; cancelled it "
                "at Kraken; rerun the backfill to request it again"
            )
        run.clock.sleep(min(wait, max(policy.timeout - elapsed, 0.0)))
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
    run.progress(Event("download", f"retrieving export {job.kraken_id}", job.id))
    try:
        download = kx.retrieve_export(
            run.client, job.kraken_id, dest,
            on_chunk=lambda size: run.progress(Event("download", f"{size:,} bytes", job.id, size)),
        )
    except InvalidArguments:
        # Unknown id: Kraken deleted or expired it since it said Processed.
        return run.set(job, status="requested", kraken_id=None, error="export vanished before download")
    run.progress(Event("download", f"retrieved {download.size:,} bytes", job.id, download.size,
                       download.size))
    return run.set(job, status="downloaded", file_path=str(download.path), file_size=download.size,
                   sha256=download.sha256)


def _load(run: ExportRun, job: jobs.ExportJob, report: kx.Report) -> tuple[jobs.ExportJob, LoadResult]:
    path = Path(job.file_path or "")
    if not job.file_path or not path.is_file() or path.stat().st_size != job.file_size:
        log.warning("export job %s: downloaded file missing or changed; downloading again", job.id)
        return run.set(job, status="processed"), LoadResult(name=path.name, kind=report)
    result = load_export_file(run.engine, path, account=run.account, source="export", job_id=job.id,
                              limits=run.policy.limits, expect=report, progress=run.progress)
    with run.engine.connect() as conn:
        job = jobs.get_job(conn, job.id)
    run.progress(Event("status", f"export job {job.id} ({report}): loaded {result.loaded:,} rows, "
                       f"{result.quarantined:,} quarantined", job.id))
    return job, result


def _remove(run: ExportRun, job: jobs.ExportJob) -> jobs.ExportJob:
    if job.kraken_id:
        with suppress(InvalidArguments):  # already deleted or expired at Kraken
            kx.remove_export(run.client, job.kraken_id, "delete")
    if job.file_path and not run.policy.keep_files:
        Path(job.file_path).unlink(missing_ok=True)
    return run.set(job, status="removed")


# -- planning --------------------------------------------------------------------------------------------


def chunks(start: datetime, end: datetime, size: timedelta | None) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive ranges of at most `size` (one range when `size` is None)."""
    if end <= start:
        return
    if size is None:
        yield start, end
        return
    cursor = start
    while cursor < end:
        upper = min(cursor + size, end)
        yield cursor, upper
        cursor = upper


def estimate_rows(client: KrakenClient, stream: str, start: datetime, end: datetime) -> int:
    """Rows Kraken holds for `stream` in the range: one Ledgers/TradesHistory call's `count`.

    Raises:
        KrakenError: from the client.
    """
    result = client.private(COUNT_METHODS[stream], {"start": int(start.timestamp()),
                                                    "end": int(end.timestamp()), "ofs": 0})
    count = result.get("count", 0) if isinstance(result, dict) else 0
    return int(count)


def choose_via(client: KrakenClient, stream: str, start: datetime, end: datetime, via: Via,
               threshold: int) -> tuple[str, int | None]:
    """``rest`` or ``export`` for one stream and range; `auto` estimates the size from `count`.

    Only ledgers and trades have exports; every other stream goes through REST windows.
    """
    if stream not in EXPORT_STREAMS:
        return "rest", None
    if via != "auto":
        return via, None
    rows = estimate_rows(client, stream, start, end)
    return ("export" if rows >= threshold else "rest"), rows


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- the whole backfill ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BackfillRequest:
    """What to backfill: one account, a half-open range [start, end), streams, and how."""

    account: str
    start: datetime
    end: datetime
    streams: tuple[str, ...] = ("ledgers", "trades")
    via: Via = "auto"
    chunk: timedelta | None = timedelta(days=90)
    export_threshold: int = 5_000  # auto: at least this many rows in a chunk → export, else REST


def backfill(
    request: BackfillRequest,
    *,
    engine: Engine,
    client: KrakenClient,
    clock: Clock,
    home: Path,
    policy: ExportPolicy | None = None,
    progress: Progress = _quiet,
) -> list[LoadResult]:
    """Load a past range, chunk by chunk: exports for big chunks, REST windows for small ones.

    Never moves the incremental bookmark. Safe to rerun: finished export jobs are not requested again and
    loads are idempotent.

    Raises:
        ExportStuck, BackfillError, ExportFileError, KrakenError: see `run_export`.
    """
    run = ExportRun(engine, client, clock, request.account, home, policy or ExportPolicy(), progress)
    start, end = as_utc(request.start), as_utc(request.end)
    results: list[LoadResult] = []
    for stream in request.streams:
        for lower, upper in chunks(start, end, request.chunk):
            how, estimate = choose_via(client, stream, lower, upper, request.via, request.export_threshold)
            label = f"{stream} {lower:%Y-%m-%d}..{upper:%Y-%m-%d}"
            suffix = f" (~{estimate:,} rows)" if estimate is not None else ""
            progress(Event("status", f"{label}: via {how}{suffix}"))
            if how == "export":
                results.append(run_export(run, EXPORT_STREAMS[stream], lower, upper))
            else:
                results.append(run_rest_window(engine, client, request.account, stream, lower, upper))
    return results


def run_rest_window(engine: Engine, client: KrakenClient, account: str, stream: str, start: datetime,
                    end: datetime) -> LoadResult:
    """One REST window through the shared `pipeline.run_window` (no bookmark: dlt's `end_value` ⇒ stateless).

    Raises:
        BackfillError: when the REST pipeline (issue 4) is not available in this build.
        KrakenError: from the client.
    """
    try:
        pipeline = importlib.import_module("kraken_etl.pipeline")
        streams = importlib.import_module("kraken_etl.streams")
    except ImportError as exc:  # pragma: no cover - until issue 4 lands
        raise BackfillError(f"REST backfill needs kraken_etl.pipeline ({exc}); use --via export") from None
    spec = next(s for s in streams.STREAMS if s.name == stream)
    window = pipeline.Window(start, end) if hasattr(pipeline, "Window") else (start, end)
    with engine.begin() as session:
        outcome: Any = pipeline.run_window(spec, window, client=client, session=session)
    loaded = int(getattr(outcome, "inserted", 0)) + int(getattr(outcome, "updated", 0))
    return LoadResult(name=f"{stream} REST", kind=stream, rows=int(getattr(outcome, "fetched", 0)),
                      loaded=loaded, quarantined=int(getattr(outcome, "quarantined", 0)), via="rest",
                      window=(start, end))
