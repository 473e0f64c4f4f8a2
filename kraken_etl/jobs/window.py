"""`run_window()`: pages → parse → validate → load, the one path for incremental sync and REST backfill.

A window holding at most `max_rows` rows (Kraken's `count` on the first page) is one frozen window
(docs/architecture.md, decision 4; `jobs.pages`): a changed `count`, an early empty page or missing ids raise
`PaginationDrift`, and the window is fetched again whole (up to `max_window_attempts` times; beyond that
the error propagates and the Prefect task retries it). Nothing is written until the whole window is in
hand; then the rows, the quarantined records, the `sync_run` row and the bookmark commit in ONE transaction.

A larger window (a first sync, a long gap) is walked as consecutive SUB-WINDOWS, oldest first, each one a
frozen window with the same guarantees, committed with its own `sync_run` row and bookmark advance: memory
holds one sub-window at a time, and a crash loses at most the sub-window in flight (the next run starts at
the last committed bookmark). Where a sub-window ends is found with one page read: pages are newest first,
so the row at offset ``count - max_rows`` is the newest of the oldest `max_rows` rows; the sub-window ends
on the whole second before it (`core.windows.sub_window_cut`: rows of one timestamp are never split), and
the rest of the window is walked the same way. Calls: the count page, one probe page per sub-window but the
last, and each sub-window's pages (a partly filled last page each) — a few more than
``ceil(rows / 50)`` per sub-window of `max_rows`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

from kraken_etl.core.results import JobResult, RunKind
from kraken_etl.core.windows import Window, kraken_bounds, sub_window_cut
from kraken_etl.db.load import upsert_records
from kraken_etl.db.quarantine import quarantine
from kraken_etl.db.runs import Engine, insert_run, update_run
from kraken_etl.db.state import set_bookmark
from kraken_etl.jobs.events import Event, Progress, quiet_progress
from kraken_etl.jobs.pace import WalkPace
from kraken_etl.jobs.pages import Page, answer_page, cursor_times, fetch_page, fetch_window, parse_all
from kraken_etl.jobs.runlog import RunTimer, log_failure
from kraken_etl.jobs.streams import PAGE_SIZE, StreamSpec
from kraken_etl.jobs.validation import validate_batch
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.errors import PaginationDrift

__all__ = ["DEFAULT_WINDOW_ROWS", "answer_page", "fetch_window", "parse_all", "run_window"]

log = logging.getLogger(__name__)

MAX_WINDOW_ATTEMPTS = 4
# Rows one frozen window holds in memory before it is walked as sub-windows (the REST backfill's split size).
DEFAULT_WINDOW_ROWS = 50_000


def run_window(
    spec: StreamSpec,
    window: Window,
    *,
    client: KrakenClient,
    engine: Engine,
    account: str,
    kind: RunKind = "incremental",
    write_bookmark: bool = True,
    progress: Progress = quiet_progress,
    max_window_attempts: int = MAX_WINDOW_ATTEMPTS,
    max_rows: int = DEFAULT_WINDOW_ROWS,
) -> JobResult:
    """Fetch every page of `window`, parse, validate and load it; move the bookmark (if asked) with it.

    Args:
        spec: a windowed stream (ledgers, trades, closed_orders).
        window: the window; its `end` becomes the bookmark.
        client: the account's Kraken client (its clock times the run).
        engine: the database.
        account: the account label stored on the rows.
        kind: ``incremental`` or ``backfill`` (logged in sync_run).
        write_bookmark: False for backfills (stateless, dlt's `end_value`).
        max_rows: a window with more rows is walked as committed sub-windows of about this many.

    Returns:
        The whole window's counts (a walk's sub-windows summed; `details` says how it was walked).

    Raises:
        PaginationDrift: when a (sub-)window kept drifting `max_window_attempts` times.
        KrakenError: fatal client errors at once; RetriesExhausted when transient ones persist.
        sqlalchemy.exc.DBAPIError: on database failures (nothing of the (sub-)window in flight is committed).
    """
    if max_rows < 1:
        raise ValueError("max_rows must be positive")
    timer = RunTimer.start(client.clock, client)
    first = _counted(spec, window, client, engine, account, kind, timer)
    if first[1] <= max_rows:
        return _load_one(spec, window, client=client, engine=engine, account=account, kind=kind,
                         write_bookmark=write_bookmark, progress=progress, max_window_attempts=max_window_attempts,
                         first=first, timer=timer)
    return _walk(spec, window, first[1], client=client, engine=engine, account=account, kind=kind,
                 write_bookmark=write_bookmark, progress=progress, max_window_attempts=max_window_attempts,
                 max_rows=max_rows, timer=timer)


def _counted(spec: StreamSpec, window: Window, client: KrakenClient, engine: Engine, account: str, kind: RunKind,
             timer: RunTimer) -> Page:
    """The window's first page (its `count`); a failure is logged as the window's failed run."""
    try:
        return fetch_page(spec, window, client, 0)
    except Exception as exc:
        log_failure(engine, timer, JobResult(account, spec.name, kind, "rest", window.start, window.end,
                                             name=f"{spec.name} REST"), exc)
        raise


def _walk(spec: StreamSpec, window: Window, count: int, *, client: KrakenClient, engine: Engine, account: str,
          kind: RunKind, write_bookmark: bool, progress: Progress, max_window_attempts: int, max_rows: int,
          timer: RunTimer) -> JobResult:
    """Walk `window` (`count` rows) as committed sub-windows of at most about `max_rows`, oldest first."""
    pace = WalkPace(spec.name, count, client.tier, spec.cost)
    total = JobResult(account, spec.name, kind, "rest", window.start, window.end, name=f"{spec.name} REST",
                      attempts=0)
    progress(Event("status", f"{spec.name}: {count:,} rows, walked in sub-windows of at most about "
                   f"{max_rows:,} rows, oldest first; {pace.line(0)}", spec.name, done=0, total=count))
    rest, remaining, parts, probes = window, count, 0, 0
    while True:
        # each part's run row counts its calls: the first part's include the count page, each its probe
        part_timer = timer if parts == 0 else RunTimer.start(client.clock, client)
        cut = rest.end
        if remaining > max_rows:
            page, remaining = _probe(spec, rest, client, remaining - max_rows, engine, account, kind, part_timer)
            probes += 1
            times = cursor_times(spec, page)
            if remaining > max_rows and times:
                cut = sub_window_cut(rest, max(times))
            elif remaining > max_rows:
                log.warning("%s %s: no readable time on the probe page; the rest (%d rows) is one window",
                            account, spec.name, remaining)
        part_window = Window(rest.start, cut)
        done_before = total.fetched

        def shifted(event: Event, base: int = done_before) -> None:
            if event.kind == "fetch":
                event = replace(event, message=pace.line(base + event.done), done=min(count, base + event.done),
                                total=count)
            progress(event)

        part = _load_one(spec, part_window, client=client, engine=engine, account=account, kind=kind,
                         write_bookmark=write_bookmark, progress=shifted, max_window_attempts=max_window_attempts,
                         first=None, timer=part_timer, name=f" part {parts + 1}")
        parts += 1
        _add(total, part)
        done = min(count, total.fetched)
        mark = f", bookmark {cut:%Y-%m-%d %H:%M:%S}" if write_bookmark else ""
        progress(Event("commit", f"{spec.name}: sub-window {parts} committed ({part.fetched:,} rows{mark}); "
                       f"{pace.line(done)}", spec.name, done=done, total=count))
        if cut >= rest.end:
            break
        remaining = max(0, remaining - part.fetched)
        rest = Window(cut, rest.end)
    timer.finish(total)
    total.details.update({"sub_windows": parts, "probes": probes, "rows_counted": count,
                          "min_calls": math.ceil(count / PAGE_SIZE)})
    return total


def _probe(spec: StreamSpec, window: Window, client: KrakenClient, ofs: int, engine: Engine, account: str,
           kind: RunKind, timer: RunTimer) -> Page:
    """The page at `ofs` of `window` (where the next cut is read) and the window's current count."""
    try:
        return fetch_page(spec, window, client, max(0, ofs))
    except Exception as exc:
        log_failure(engine, timer, JobResult(account, spec.name, kind, "rest", window.start, window.end,
                                             name=f"{spec.name} REST probe"), exc)
        raise


def _add(total: JobResult, part: JobResult) -> None:
    for name in ("fetched", "loaded", "inserted", "updated", "quarantined", "pages", "attempts"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.run_id = part.run_id


def _load_one(spec: StreamSpec, window: Window, *, client: KrakenClient, engine: Engine, account: str,
              kind: RunKind, write_bookmark: bool, progress: Progress, max_window_attempts: int, first: Page | None,
              timer: RunTimer, name: str = "") -> JobResult:
    """One frozen window: fetch (retried whole on drift), parse, validate, and commit it with its bookmark."""
    result = JobResult(account, spec.name, kind, "rest", window.start, window.end, name=f"{spec.name} REST{name}",
                       attempts=0)
    try:
        while True:
            result.attempts += 1
            try:
                raw, result.pages = fetch_window(spec, window, client, progress=progress, first=first)
                result.pages += first is not None
                break
            except PaginationDrift as exc:
                first = None  # the retry asks for every page again
                log.warning("%s %s: %s (attempt %d)", account, spec.name, exc, result.attempts)
                if result.attempts >= max_window_attempts:
                    raise
        records, rejected = parse_all(spec, raw)
        result.fetched = len(raw)
        del raw
        batch = validate_batch(spec, records, bounds=kraken_bounds(window))
        del records
        rejected += batch.rejected
        with engine.begin() as conn:
            run_id = insert_run(conn, timer.finish(result))
            counts = upsert_records(conn, account, spec.target, batch.valid, "rest", flags=batch.flags)
            quarantine(conn, account, spec.name, "rest", rejected, run_id)
            result.inserted, result.updated, result.quarantined = counts.inserted, counts.updated, len(rejected)
            result.loaded = len(batch.valid)
            update_run(conn, run_id, timer.finish(result))
            if write_bookmark:
                set_bookmark(conn, account, spec.name, window.end)
        result.run_id = run_id
    except Exception as exc:
        log_failure(engine, timer, result, exc)
        raise
    return result
