"""Loading Kraken export files (from the export cycle or downloaded by a person) through the shared path.

A verified zip/CSV/TSV is streamed in batches (`core.exportrows`), each validated with `jobs.cellcheck`
(the rules on the stream's spec) and stored with `kraken_etl.db.load` (the merge REST sync uses, or a
direct COPY into a table the account has no rows in); rejects go to quarantine; the rows, the run log
and, for an export job, its `loaded` status commit together.
Composition ring: no SQL text, no httpx.

Counts in the result are exact: `fetched` data rows read, `loaded` rows through the loader, `inserted` and
`updated` what changed (a re-import inserts nothing), `quarantined` rows rejected with a reason (every copy
of a duplicated id after the first), and `pending` the export's "pending" rows (kept for audit, not
entries; Kraken writes them before the credited row of the same refid).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from kraken_etl.core.clock import Clock, SystemClock
from kraken_etl.core.exportheader import BATCH_ROWS, PENDING_REASON, ExportFileError, ExportKind
from kraken_etl.core.exportrows import CellBatch, Value, iter_cell_batches
from kraken_etl.core.idcheck import fold
from kraken_etl.core.records import Rejected, Source
from kraken_etl.core.results import JobResult
from kraken_etl.core.seenkeys import SeenKeys
from kraken_etl.db import exports as jobs
from kraken_etl.db.cellcopy import account_is_empty, copy_new, prepare_cells
from kraken_etl.db.load import PreparedBatch, load_prepared, lookalike_rejection
from kraken_etl.db.quarantine import fingerprint, quarantine
from kraken_etl.db.rejected_imports import record_rejected_import
from kraken_etl.db.runs import Engine, insert_run, update_run
from kraken_etl.jobs.cellcheck import check_cells
from kraken_etl.jobs.events import Event, Progress, quiet_progress
from kraken_etl.jobs.exportzip import DEFAULT_LIMITS, ExportLimits, open_export_text, verify_export_file
from kraken_etl.jobs.producer import produce
from kraken_etl.jobs.runlog import RunTimer, log_failure
from kraken_etl.jobs.streams import BY_REPORT, EXPORT_ROWS
from kraken_etl.jobs.validation import conflict_reason

log = logging.getLogger(__name__)


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
    batch_rows: int = BATCH_ROWS,
) -> JobResult:
    """Verify, parse, validate and load one export file in ONE transaction (all of it or nothing).

    A repeated id keeps its first copy wherever the copies sit in the file: an identical copy is a no-op
    (counted in ``details["identical_copies"]``), a conflicting one is quarantined, never merged over it.

    The load is logged as one `sync_run` row (kind ``export`` with a `job_id`, else ``import``) in the same
    transaction; a failed load is logged as ``failed`` in its own, except a person's file refused as a
    whole (ExportFileError without a `job_id`, a path that is not a regular file included): that is
    recorded in `kraken.rejected_import` (`db.rejected_imports`), not as a failed stream. With `job_id`,
    the job's ``loaded`` status and counts are committed in that same transaction too.

    Raises:
        ExportFileError: the file is corrupt, truncated, malicious, too large or not a Kraken export —
            raised by the verification pass, before any row is parsed; nothing is loaded.
        sqlalchemy.exc.DBAPIError: on database failures (nothing is loaded).
    """
    if source == "import" and job_id is None:
        try:
            check_import_file(path)
        except ExportFileError as exc:
            _reject(engine, account, path, exc)
            raise
    timer = RunTimer.start(clock or SystemClock())
    start, end = window if window else (None, None)
    result = (JobResult(account, expect or "unknown", "export", "export", start, end, name=path.name, job_id=job_id)
              if job_id is not None else
              JobResult(account, expect or "unknown", "import", "import", start, end, name=path.name))
    try:
        verified = verify_export_file(path, limits)
        result.stream = kind = verified.header.kind
        if expect is not None and kind != expect:
            raise ExportFileError(f"{path.name}: expected a {expect} export, the header says {kind}")
        total = verified.data_size
        with engine.begin() as conn:
            run_id = insert_run(conn, timer.finish(result))
            # Parsing, validation and COPY text are built one batch ahead (a worker thread: `jobs.producer`)
            # while the database stores the current batch (bench/bench_import.py measures it).
            held: dict[str, Rejected] = {}  # quarantine fingerprints of this file: each counted once
            prepared = produce(partial(_prepared, path, limits, account, source, batch_rows))
            direct: bool | None = None  # rows COPYed straight into the table: the account had none there
            for checked, new, again, repeats, position in prepared:
                if direct is None:
                    direct = account_is_empty(conn, account, new.target)
                counts = copy_new(conn, new) if direct else load_prepared(conn, new)
                counts = counts + load_prepared(conn, again, repeats=repeats)
                rejected = (checked.rejected + [Rejected(kind, key, conflict_reason(key), raw)
                                                for key, raw in counts.conflicts]
                            + [lookalike_rejection(kind, item) for item in counts.lookalikes])
                if rejected:
                    quarantine(conn, account, kind, source, rejected, run_id)
                new_rejects = [r for r in rejected if held.setdefault(fingerprint(r.reason, r.raw), r) is r]
                pending = sum(1 for r in new_rejects if r.reason == PENDING_REASON)
                result.fetched += checked.rows
                result.loaded += counts.inserted + counts.updated + counts.unchanged
                result.inserted += counts.inserted
                result.updated += counts.updated
                result.pending += pending
                result.quarantined += len(new_rejects) - pending  # what the quarantine holds for this file
                copies = result.details.get("identical_copies", 0) + checked.identical + counts.identical_repeats
                result.details["identical_copies"] = copies
                progress(Event("load", f"{path.name}: {result.fetched:,} rows", kind, job_id, position, total))
            update_run(conn, run_id, timer.finish(result))
            if job_id is not None:
                jobs.update_job(conn, job_id, status="loaded", rows_loaded=result.loaded,
                                rows_quarantined=result.quarantined, error=None)
        result.run_id = run_id
    except ExportFileError as exc:
        if job_id is None:  # a person's file, refused as a whole: recorded as a rejected import
            _reject(engine, account, path, exc)
        else:  # an export job's download: that stream's export failed
            log_failure(engine, timer, result, exc)
        raise
    except Exception as exc:
        log_failure(engine, timer, result, exc)
        raise
    return result


def check_import_file(path: Path) -> None:
    """Refuse, before anything opens it, a path that is not a regular file (a directory, a FIFO, a device
    such as /dev/zero: reading those fails or never ends) or cannot be looked at.

    Raises:
        ExportFileError: naming the file and what it is.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ExportFileError(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        what = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "not a regular file")
        raise ExportFileError(f"refusing {path}: {what}, not an export file")


def _reject(engine: Engine, account: str, path: Path, exc: ExportFileError) -> None:
    try:
        record_rejected_import(engine, account, path.name, str(exc))
    except Exception:  # never mask the file's own error
        log.warning("could not record the rejected import of %s", path.name)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the loader needs of a checked batch besides its COPY text (small: it crosses a pipe)."""

    rows: int  # data rows read
    rejected: list[Rejected]
    identical: int  # repeated ids equal to their first copy in the batch (no-ops)


Prepared = tuple[Outcome, PreparedBatch, PreparedBatch, list[str], int]


def _prepared(path: Path, limits: ExportLimits, account: str, source: Source, batch_rows: int) -> Iterator[Prepared]:
    """Every batch of the file, prepared (runs in the producer: `jobs.producer`)."""
    with open_export_text(path, limits) as text:
        seen = SeenKeys()  # the ids of this file so far: a repeat far apart keeps its first copy too
        folded = SeenKeys()  # the same, lower-cased: a look-alike far apart is caught too
        for parsed in iter_cell_batches(text, EXPORT_ROWS, batch_rows=batch_rows):
            yield _prepare(parsed, account, source, text, seen, folded)


def _prepare(parsed: CellBatch, account: str, source: Source, text: Any, seen: SeenKeys,
             folded: SeenKeys) -> Prepared:
    """Validate a text batch and build its COPY text: rows whose id no earlier batch of the file can have
    held, and rows whose id one may have (`repeats`: merged and checked against the first copy). Runs in
    the producer, one batch at a time."""
    spec = BY_REPORT[parsed.kind]
    assert spec.export_rows is not None
    checked = check_cells(parsed, spec)
    target, value_columns = spec.target, spec.export_rows.columns
    key_at = value_columns.index(target.key)
    values, cells = parsed.values, parsed.cells
    keys: list[str] = [values[i][key_at] for i in checked.keep]  # type: ignore[misc]
    repeats = seen.check_and_add(keys)
    again = set(repeats)
    # an id whose lower-cased form an earlier batch may have shown: through the merge path too, whose
    # look-alike check compares it with the stored keys (the earlier batches' included)
    again.update(folded_candidates(folded, keys))
    new_rows: list[tuple[tuple[Value, ...], list[str], tuple[str, ...]]] = []
    again_rows: list[tuple[tuple[Value, ...], list[str], tuple[str, ...]]] = []
    for i, flags in zip(checked.keep, checked.flags, strict=True):
        row = (values[i], cells[i], flags)
        (again_rows if values[i][key_at] in again else new_rows).append(row)
    new = prepare_cells(account, target, value_columns, new_rows, parsed.columns, source)
    repeated = prepare_cells(account, target, value_columns, again_rows, parsed.columns, source)
    outcome = Outcome(parsed.rows, checked.rejected, checked.identical)
    return outcome, new, repeated, repeats, _tell(text)


def folded_candidates(folded: SeenKeys, keys: list[str]) -> list[str]:
    """The keys whose lower-cased form may have been seen in an earlier batch (then remember this batch's)."""
    lowered = [fold(k) for k in keys]
    hits = set(folded.check_and_add(lowered))
    return [k for k, low in zip(keys, lowered, strict=True) if low in hits] if hits else []


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
    batch_rows: int = BATCH_ROWS,
) -> list[JobResult]:
    """Load export files a person downloaded from Kraken (zip, CSV or TSV; ledgers or trades).

    Each file is its own transaction and its own `sync_run` row (kind ``import``); a rejected file
    (ExportFileError) is reported in its result's `error` (and recorded as a rejected import, not a failed
    run) and loads nothing, and the other files still load.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    results = []
    for path in paths:
        try:
            results.append(load_export_file(engine, Path(path), account=account, source="import",
                                            limits=limits, progress=progress, clock=clock, batch_rows=batch_rows))
        except ExportFileError as exc:
            results.append(JobResult(account, "unknown", "import", "import", name=Path(path).name,
                                     status="failed", error=str(exc)))
    return results
