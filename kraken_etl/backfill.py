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

import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast

from kraken_etl import pipeline
from kraken_etl.core.exportfile import ExportBatch, ExportFileError, ExportKind, iter_export_batches
from kraken_etl.core.records import LedgerEntry, Rejected, Source, Trade
from kraken_etl.core.timeutil import from_unix
from kraken_etl.core.windows import Window, plan_backfill, to_kraken_params
from kraken_etl.db import exports as jobs
from kraken_etl.db.load import UpsertCounts, quarantine, upsert_records
from kraken_etl.db.runs import Engine, RunLog, insert_run, update_run_counts
from kraken_etl.exportzip import DEFAULT_LIMITS, ExportLimits, open_export_text, verify_export_file
from kraken_etl.kraken import exports as kx
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.clock import Clock, SystemClock
from kraken_etl.kraken.errors import InvalidArguments, KrakenError
from kraken_etl.settings import Settings
from kraken_etl.streams import BY_NAME
from kraken_etl.validation import ValidatedBatch, validate_batch

log = logging.getLogger(__name__)

Via = Literal["auto", "rest", "export"]
EXPORT_STREAMS: dict[str, kx.Report] = {"ledgers": "ledgers", "trades": "trades"}
# REST history endpoint per stream, for `auto`'s size estimate.
COUNT_METHODS = {"ledgers": "Ledgers", "trades": "TradesHistory"}
BACKFILL_STREAMS = ("ledgers", "trades", "closed_orders", "order_amends")


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
    rows: int = 0  # rows read (file) or fetched (REST)
    loaded: int = 0  # rows that passed validation and went through the loader (new, changed or unchanged)
    quarantined: int = 0
    inserted: int = 0
    updated: int = 0
    job_id: int | None = None
    via: str = "import"
    error: str | None = None
    window: tuple[datetime, datetime] | None = None
    run_id: int | None = None  # the sync_run row that logged this load
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly (a Prefect task's return value): times as ISO 8601 strings."""
        out = asdict(self)
        out["window"] = [moment.isoformat() for moment in self.window] if self.window else None
        return out


# -- the shared loader seam ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    """One parsed batch after validation: what loads (with flags) and what goes to quarantine."""

    kind: ExportKind
    rows: int
    valid: Sequence[LedgerEntry | Trade]
    flags: dict[str, tuple[str, ...]]
    rejected: list[Rejected]


def check_batch(batch: ExportBatch) -> CheckedBatch:
    """Validate one parsed batch with the shared `kraken_etl.validation.validate_batch` (pure).

    Rows that fail validation join the parser's rejected rows (pending rows, unreadable cells).
    """
    checked: ValidatedBatch[Any]
    if batch.kind == "ledgers":  # the batch's kind names its record type (the parser guarantees it)
        checked = validate_batch("ledgers", cast("list[LedgerEntry]", batch.records))
    else:
        checked = validate_batch("trades", cast("list[Trade]", batch.records))
    return CheckedBatch(batch.kind, batch.rows, checked.valid, checked.flags, [*batch.rejected, *checked.rejected])


def load_checked(
    conn: Any, account: str, batch: CheckedBatch, source: Source, run_id: int | None = None
) -> tuple[UpsertCounts, int]:
    """Load a validated batch through the shared loader; returns (upsert counts, quarantined).

    The same `kraken_etl.db.load.upsert_records` (merge rule) and `quarantine` as REST sync; quarantined
    rows are linked to the `sync_run` row `run_id`.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures (the caller's transaction is then unusable).
    """
    counts = upsert_records(conn, account, batch.kind, batch.valid, source, flags=batch.flags)
    if batch.rejected:
        quarantine(conn, account, batch.kind, source, batch.rejected, run_id)
    return counts, len(batch.rejected)


def load_batch(
    conn: Any, account: str, batch: ExportBatch, source: Source, run_id: int | None = None
) -> tuple[UpsertCounts, int]:
    """Validate one parsed batch and load it (`check_batch` then `load_checked`).

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures (the caller's transaction is then unusable).
    """
    return load_checked(conn, account, check_batch(batch), source, run_id)


def _stamp(seconds: float) -> datetime:
    return from_unix(Decimal(f"{seconds:.3f}"))


def _run_log(account: str, stream: str, kind: str, window: tuple[datetime, datetime] | None, started: float,
             clock: Clock, status: str, *, fetched: int = 0, error: str | None = None) -> RunLog:
    finished = clock.now()
    return RunLog(account=account, stream=stream, kind=kind,
                  window_start=window[0] if window else None, window_end=window[1] if window else None,
                  started_at=_stamp(started), finished_at=_stamp(finished), status=status, fetched=fetched,
                  duration_seconds=Decimal(f"{finished - started:.3f}"), error=error)


def _log_failure(engine: Engine, account: str, stream: str, kind: str, window: tuple[datetime, datetime] | None,
                 started: float, clock: Clock, exc: BaseException) -> None:
    """Log a failed load in its own transaction (best effort: the database may be what failed)."""
    message = str(exc) if isinstance(exc, ExportFileError | KrakenError) else type(exc).__name__
    try:
        with engine.begin() as conn:
            insert_run(conn, _run_log(account, stream, kind, window, started, clock, "failed",
                                      error=message[:500]))
    except Exception:  # never mask the original failure
        log.warning("could not log the failed %s load of %s", stream, account)


# -- files -----------------------------------------------------------------------------------------------


def load_export_file(
    engine: Engine,
    path: Path,
    *,
    account: str,
    source: Source = "import",
    job_id: int | None = None,
    window: tuple[datetime, datetime] | None = None,
    limits: ExportLimits = DEFAULT_LIMITS,
    expect: ExportKind | None = None,
    progress: Progress = _quiet,
    clock: Clock | None = None,
) -> LoadResult:
    """Verify, parse, validate and load one export file in ONE transaction (all of it or nothing).

    The load is logged as one `sync_run` row (kind ``export`` with a `job_id`, else ``import``) in the same
    transaction; a failed load is logged as ``failed`` in its own. With `job_id`, the job's ``loaded``
    status and counts are committed in that same transaction too.

    Raises:
        ExportFileError: the file is corrupt, truncated, malicious, too large or not a Kraken export —
            raised by the verification pass, before any row is parsed; nothing is loaded.
        sqlalchemy.exc.DBAPIError: on database failures (nothing is loaded).
    """
    clock = clock or SystemClock()
    started = clock.now()
    run_kind = "export" if job_id is not None else "import"
    stream: str = expect or "unknown"
    try:
        verified = verify_export_file(path, limits)
        stream = kind = verified.header.kind
        if expect is not None and kind != expect:
            raise ExportFileError(f"{path.name}: expected a {expect} export, the header says {kind}")
        result = LoadResult(name=path.name, kind=kind, job_id=job_id, via=run_kind, window=window)
        total = verified.data_size
        with engine.begin() as conn, open_export_text(path, limits) as text:
            result.run_id = insert_run(conn, _run_log(account, kind, run_kind, window, started, clock, "ok"))
            for batch in (check_batch(parsed) for parsed in iter_export_batches(text)):
                counts, quarantined = load_checked(conn, account, batch, source, result.run_id)
                result.rows += batch.rows
                result.loaded += counts.inserted + counts.updated + counts.unchanged
                result.inserted += counts.inserted
                result.updated += counts.updated
                result.quarantined += quarantined
                progress(Event("load", f"{path.name}: {result.rows:,} rows", job_id, _tell(text), total))
            finished = clock.now()
            update_run_counts(conn, result.run_id, inserted=result.inserted, updated=result.updated,
                              quarantined=result.quarantined, fetched=result.rows, finished_at=_stamp(finished),
                              duration_seconds=Decimal(f"{finished - started:.3f}"))
            if job_id is not None:
                jobs.update_job(conn, job_id, status="loaded", rows_loaded=result.loaded,
                                rows_quarantined=result.quarantined, error=None)
    except Exception as exc:
        _log_failure(engine, account, stream, run_kind, window, started, clock, exc)
        raise
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
    clock: Clock | None = None,
) -> list[LoadResult]:
    """Load export files a person downloaded from Kraken (zip, CSV or TSV; ledgers or trades).

    Each file is its own transaction and its own `sync_run` row (kind ``import``); a rejected file
    (ExportFileError) is reported in its result's `error` (and logged as a failed run) and loads nothing,
    and the other files still load.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    results = []
    for path in paths:
        try:
            results.append(load_export_file(engine, Path(path), account=account, source="import",
                                            limits=limits, progress=progress, clock=clock))
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
                              window=(job.starttm, job.endtm), limits=run.policy.limits, expect=report,
                              progress=run.progress, clock=run.clock)
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


def estimate_rows(client: KrakenClient, stream: str, window: Window) -> int:
    """Rows Kraken holds for `stream` in the window: one Ledgers/TradesHistory call's `count`.

    Raises:
        KrakenError: from the client.
    """
    result = client.private(COUNT_METHODS[stream], {**to_kraken_params(window), "ofs": 0})
    count = result.get("count", 0) if isinstance(result, dict) else 0
    return int(count)


def choose_via(client: KrakenClient, stream: str, window: Window, via: Via, threshold: int) -> tuple[str, int | None]:
    """``rest`` or ``export`` for one stream and window; `auto` estimates the size from `count`.

    Only ledgers and trades have exports; every other stream goes through REST windows.

    Raises:
        KrakenError: from the client (the `auto` estimate).
    """
    if stream not in EXPORT_STREAMS:
        return "rest", None
    if via != "auto":
        return via, None
    rows = estimate_rows(client, stream, window)
    return ("export" if rows >= threshold else "rest"), rows


def as_utc(moment: datetime | str) -> datetime:
    """An aware datetime; ISO 8601 text is parsed; a naive value means UTC."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def plan_windows(start: datetime, end: datetime, chunk: timedelta | None) -> list[Window]:
    """The backfill's chunks: `core.windows.plan_backfill`, or one window when `chunk` is None."""
    return plan_backfill(start, end, chunk) if chunk is not None else [Window(start, end)]


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
        ValueError: on an empty range.
        ExportStuck, BackfillError, ExportFileError, KrakenError: see `run_export` and `run_rest_window`.
    """
    run = ExportRun(engine, client, clock, request.account, home, policy or ExportPolicy(), progress)
    windows = plan_windows(as_utc(request.start), as_utc(request.end), request.chunk)
    results: list[LoadResult] = []
    for stream in request.streams:
        if stream == "order_amends":  # not windowed: the trails of amended orders not stored yet
            progress(Event("status", "order_amends: via rest"))
            results.append(run_rest_window(engine, client, request.account, stream, windows[-1]))
            continue
        for window in windows:
            how, estimate = choose_via(client, stream, window, request.via, request.export_threshold)
            lower, upper = window.start or request.start, window.end
            label = f"{stream} {lower:%Y-%m-%d}..{upper:%Y-%m-%d}"
            suffix = f" (~{estimate:,} rows)" if estimate is not None else ""
            progress(Event("status", f"{label}: via {how}{suffix}"))
            if how == "export":
                results.append(run_export(run, EXPORT_STREAMS[stream], lower, upper))
            else:
                results.append(run_rest_window(engine, client, request.account, stream, window))
    return results


def run_rest_window(engine: Engine, client: KrakenClient, account: str, stream: str, window: Window) -> LoadResult:
    """One REST window through the shared `pipeline.run_window`, without a bookmark (dlt's `end_value` ⇒
    stateless) and logged as kind ``backfill``; ``order_amends`` runs `pipeline.sync_order_amends`.

    Raises:
        KeyError: for a stream without a REST window.
        PaginationDrift, KrakenError: as `pipeline.run_window`.
    """
    if stream == "order_amends":
        outcome = pipeline.sync_order_amends(client=client, engine=engine, account=account)
    else:
        outcome = pipeline.run_window(BY_NAME[stream], window, client=client, engine=engine, account=account,
                                      kind="backfill", write_bookmark=False)
    start = window.start or window.end
    return LoadResult(name=f"{stream} REST", kind=stream, rows=outcome.fetched,
                      loaded=outcome.fetched - outcome.quarantined, quarantined=outcome.quarantined,
                      inserted=outcome.inserted, updated=outcome.updated, via="rest",
                      window=(start, window.end), run_id=outcome.run_id)


def backfill_label(
    label: str,
    start: datetime | str,
    end: datetime | str,
    via: Via = "auto",
    streams: Sequence[str] = ("ledgers", "trades"),
    chunk_days: int = 90,
    export_threshold: int = 5_000,
    *,
    settings: Settings | None = None,
    policy: ExportPolicy | None = None,
    progress: Progress = _quiet,
) -> list[LoadResult]:
    """Backfill one configured account, by label: what the CLI and the Prefect task both run.

    Mirrors `pipeline.sync_label`: settings → the account's client and the engine → `backfill`. Parameters
    are plain values (no secrets); `chunk_days` 0 means one chunk for the whole range.

    Raises:
        SettingsError: when the label is not configured; MissingCredentials without a key.
        ValueError: for an unknown `via` or stream, or an empty range.
        ExportStuck, BackfillError, ExportFileError, KrakenError: as `backfill`.
    """
    from kraken_etl.db.engine import effective_url, make_engine
    from kraken_etl.settings import load_settings

    if via not in ("auto", "rest", "export"):
        raise ValueError(f"via must be auto, rest or export, not {via!r}")
    unknown = [s for s in streams if s not in BACKFILL_STREAMS]
    if unknown:
        raise ValueError(f"unknown stream {unknown[0]!r}; one of {', '.join(BACKFILL_STREAMS)}")
    current = settings or load_settings()
    account = current.select_accounts([label])[0]
    request = BackfillRequest(label, as_utc(start), as_utc(end), tuple(streams), via,
                              timedelta(days=chunk_days) if chunk_days > 0 else None, export_threshold)
    engine = make_engine(effective_url(current))
    try:
        with pipeline.client_for(account, current) as client:
            return backfill(request, engine=engine, client=client, clock=client.clock, home=current.home,
                            policy=policy, progress=progress)
    finally:
        engine.dispose()
