"""`run_window()`: pages → parse → validate → load, the one path for incremental sync and REST backfill.

Frozen-window paging (ARCHITECTURE decision 4, STYLE §8-10): a window's `end` is fixed before the first
page; pages walk `ofs` inside it; a changed `count`, an empty page before `ofs` reaches `count`, or fewer
distinct ids than `count` raise `PaginationDrift`, and the window is fetched again whole (up to
`max_window_attempts` times here; beyond that the error propagates and the Prefect task retries it).
Nothing is written until the whole window is in hand; then the rows, the quarantined records, the
`sync_run` row and the bookmark commit in ONE transaction. Records that do not parse or validate go to
quarantine with the reason; the rest load.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from kraken_etl.core.parsing import MalformedRecord, count_of, rawify
from kraken_etl.core.records import Rejected
from kraken_etl.core.results import JobResult, RunKind
from kraken_etl.core.windows import Window, kraken_bounds, to_kraken_params
from kraken_etl.db.load import upsert_records
from kraken_etl.db.quarantine import quarantine
from kraken_etl.db.runs import Engine, insert_run, update_run
from kraken_etl.db.state import set_bookmark
from kraken_etl.jobs.events import Event, Progress, quiet_progress
from kraken_etl.jobs.runlog import RunTimer, log_failure
from kraken_etl.jobs.streams import StreamSpec
from kraken_etl.jobs.validation import validate_batch
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.errors import MalformedResponse, PaginationDrift

log = logging.getLogger(__name__)

MAX_WINDOW_ATTEMPTS = 4


def fetch_window(
    spec: StreamSpec, window: Window, client: KrakenClient, *, progress: Progress = quiet_progress
) -> tuple[dict[str, Any], int]:
    """All records of `window` as Kraken's raw map (id → record), deduplicated by id; and the page count.

    Raises:
        PaginationDrift: when `count` changes, a page is empty early, or ids are missing at the end.
        MalformedResponse: when the answer lacks the result map or `count`.
        KrakenError: from the client.
    """
    params: dict[str, Any] = {**spec.params, **to_kraken_params(window)}
    seen: dict[str, Any] = {}
    count: int | None = None
    ofs = 0
    pages = 0
    while True:
        result = client.private(spec.method, {**params, "ofs": ofs}, cost=spec.cost)
        pages += 1
        page, page_count = answer_page(spec, result)
        if count is None:
            count = page_count
        elif page_count != count:
            raise PaginationDrift("EClient:Pagination drift", f"count {count} -> {page_count} at ofs {ofs}",
                                  method=spec.method)
        if not page:
            if ofs < count:
                raise PaginationDrift("EClient:Pagination drift", f"empty page at ofs {ofs} of {count}",
                                      method=spec.method)
            break
        seen.update(page)
        ofs += len(page)
        progress(Event("fetch", f"{spec.name}: {len(seen):,} of {count:,}", spec.name, done=len(seen), total=count))
        if ofs >= count:
            break
    if len(seen) != count:
        raise PaginationDrift("EClient:Pagination drift", f"{len(seen)} distinct ids, count {count}",
                              method=spec.method)
    return seen, pages


def answer_page(spec: StreamSpec, result: Any) -> tuple[Mapping[str, Any], int]:
    """The record map and `count` of one history answer.

    Raises:
        MalformedResponse: when the result map or `count` is missing or malformed.
    """
    if not isinstance(result, Mapping):
        raise MalformedResponse("EClient:Malformed response", "result is not an object", method=spec.method)
    page = result.get(spec.result_key) or {}
    if not isinstance(page, Mapping):
        raise MalformedResponse("EClient:Malformed response", f"{spec.result_key} is not a map",
                                method=spec.method)
    try:
        count = count_of(result, spec.name)
    except MalformedRecord as exc:
        raise MalformedResponse("EClient:Malformed response", str(exc), method=spec.method) from None
    if count is None:
        raise MalformedResponse("EClient:Malformed response", "no count", method=spec.method)
    return page, count


def parse_all(spec: StreamSpec, raw: Mapping[str, Any], parent: str | None = None) -> tuple[list[Any], list[Rejected]]:
    """Parse raw records; a record that breaks the contract becomes a `Rejected` with the reason."""
    records: list[Any] = []
    rejected: list[Rejected] = []
    for key, value in raw.items():
        try:
            records.append(spec.parse(parent if parent is not None else key, value))
        except MalformedRecord as exc:
            rid = key if parent is None else exc.record_id
            payload = rawify(value) if isinstance(value, Mapping) else {"value": rawify(value)}
            rejected.append(Rejected(spec.name, rid, str(exc), payload))
    return records, rejected


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
) -> JobResult:
    """Fetch every page of `window`, parse, validate and load it; move the bookmark (if asked) with it.

    Args:
        spec: a windowed stream (ledgers, trades, closed_orders).
        window: the frozen window; its `end` becomes the bookmark.
        client: the account's Kraken client (its clock times the run).
        engine: the database.
        account: the account label stored on the rows.
        kind: ``incremental`` or ``backfill`` (logged in sync_run).
        write_bookmark: False for backfills (stateless, dlt's `end_value`).

    Raises:
        PaginationDrift: when the window kept drifting `max_window_attempts` times.
        KrakenError: fatal client errors at once; RetriesExhausted when transient ones persist.
        sqlalchemy.exc.DBAPIError: on database failures (nothing of the window is committed).
    """
    timer = RunTimer.start(client.clock, client)
    result = JobResult(account, spec.name, kind, "rest", window.start, window.end, name=f"{spec.name} REST",
                       attempts=0)
    try:
        while True:
            result.attempts += 1
            try:
                raw, result.pages = fetch_window(spec, window, client, progress=progress)
                break
            except PaginationDrift as exc:
                log.warning("%s %s: %s (attempt %d)", account, spec.name, exc, result.attempts)
                if result.attempts >= max_window_attempts:
                    raise
        records, rejected = parse_all(spec, raw)
        batch = validate_batch(spec.name, spec.rules, records, bounds=kraken_bounds(window))
        rejected += batch.rejected
        result.fetched = len(raw)
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
