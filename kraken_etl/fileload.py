"""Loading Kraken export files (from the export cycle or downloaded by a person) through the shared path.

A verified zip/CSV/TSV is streamed in batches, each validated with `kraken_etl.validation` and upserted with
`kraken_etl.db.load` (the very path REST sync uses); rejects go to quarantine; the rows, the run log and,
for an export job, its `loaded` status commit together. Composition ring: no SQL text, no httpx.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar, cast

from kraken_etl.core.exportfile import ExportBatch, ExportFileError, ExportKind, iter_export_batches
from kraken_etl.core.records import LedgerEntry, Rejected, Source, Trade
from kraken_etl.core.timeutil import from_unix
from kraken_etl.db import exports as jobs
from kraken_etl.db.load import (
    PreparedBatch,
    load_prepared,
    prepare_upsert,
    quarantine,
)
from kraken_etl.db.runs import Engine, RunLog, insert_run, update_run_counts
from kraken_etl.exportzip import DEFAULT_LIMITS, ExportLimits, open_export_text, verify_export_file
from kraken_etl.core.clock import Clock, SystemClock
from kraken_etl.kraken.errors import KrakenError
from kraken_etl.validation import ValidatedBatch, validate_batch

log = logging.getLogger(__name__)
T = TypeVar("T")


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


def quiet_progress(event: Event) -> None:
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
    progress: Progress = quiet_progress,
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
        with relaxed_gc(), engine.begin() as conn, open_export_text(path, limits) as text:
            result.run_id = insert_run(conn, _run_log(account, kind, run_kind, window, started, clock, "ok"))
            # Parsing, validation and COPY text are built one batch ahead in a worker thread while the
            # database merges the current batch (bench/bench_import.py measures the overlap).
            prepared = (_prepare(parsed, account, source, text) for parsed in iter_export_batches(text))
            for batch, copy_text, position in read_ahead(prepared):
                counts = load_prepared(conn, copy_text)
                if batch.rejected:
                    quarantine(conn, account, batch.kind, source, batch.rejected, result.run_id)
                result.rows += batch.rows
                result.loaded += counts.inserted + counts.updated + counts.unchanged
                result.inserted += counts.inserted
                result.updated += counts.updated
                result.quarantined += len(batch.rejected)
                progress(Event("load", f"{path.name}: {result.rows:,} rows", job_id, position, total))
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


def _prepare(
    parsed: ExportBatch, account: str, source: Source, text: Any
) -> tuple[CheckedBatch, PreparedBatch, int]:
    """Validate a parsed batch and build its COPY text (runs in the read-ahead thread)."""
    batch = check_batch(parsed)
    copy_text = prepare_upsert(account, batch.kind, batch.valid, source, flags=batch.flags)
    return batch, copy_text, _tell(text)


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """Yield the items of `items`, computing the next one in a worker thread while the caller handles
    the current one (one item ahead: memory stays at two batches).

    `items` is only ever advanced by one thread at a time; an exception raised while computing an item is
    raised here, in the caller's thread, when that item is due. If the caller stops early, the item in
    flight is finished and dropped.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kraken-etl-read-ahead") as pool:
        upcoming = pool.submit(next, items, _END)
        while True:
            item = upcoming.result()
            if item is _END:
                return
            upcoming = pool.submit(next, items, _END)
            yield cast("T", item)


_END: Any = object()

# A million-row file allocates tens of millions of short-lived objects (cells, Decimals, records) and
# almost no reference cycles; with the default gen-0 threshold (700) the cyclic collector runs tens of
# thousands of times for nothing. A larger threshold while files load cuts the Python side by ~20%
# (measured with bench/bench_import.py); the previous thresholds are restored when the last load ends.
_GC_THRESHOLD = 50_000
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] = (700, 10, 10)


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Raise the cyclic GC's gen-0 threshold while a file loads (process-wide, nesting-safe)."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(_GC_THRESHOLD, _gc_saved[0]), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)


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
    progress: Progress = quiet_progress,
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
