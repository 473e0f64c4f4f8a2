"""Pages of Kraken's history endpoints: one answer checked, one frozen window walked, raw records parsed.

Frozen-window paging (docs/architecture.md, decision 4): a window's `end` is fixed before the first
page; pages walk `ofs` inside it; a changed `count`, an empty page before `ofs` reaches `count`, or fewer
distinct ids than `count` raise `PaginationDrift`. Nothing here writes: `jobs.window` loads what it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from kraken_etl.core.parsing import MalformedRecord, count_of, rawify
from kraken_etl.core.records import Rejected
from kraken_etl.core.windows import Window, to_kraken_params
from kraken_etl.jobs.events import Event, Progress, quiet_progress
from kraken_etl.jobs.streams import StreamSpec
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.errors import MalformedResponse, PaginationDrift

Page = tuple[Mapping[str, Any], int]  # the record map of one answer, and Kraken's `count`


def answer_page(spec: StreamSpec, result: Any) -> Page:
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


def fetch_page(spec: StreamSpec, window: Window, client: KrakenClient, ofs: int) -> Page:
    """One page of `window` at offset `ofs` (newest first).

    Raises:
        MalformedResponse: see `answer_page`. KrakenError: from the client.
    """
    result = client.private(spec.call, {**spec.params, **to_kraken_params(window), "ofs": ofs})
    return answer_page(spec, result)


def fetch_window(
    spec: StreamSpec, window: Window, client: KrakenClient, *, progress: Progress = quiet_progress,
    first: Page | None = None,
) -> tuple[dict[str, Any], int]:
    """All records of `window` as Kraken's raw map (id → record), deduplicated by id; and the page count.

    `first`: the page at ``ofs=0`` when the caller already read it (to learn the count); it is the walk's
    first page and is not asked for again.

    Raises:
        PaginationDrift: when `count` changes, a page is empty early, or ids are missing at the end.
        MalformedResponse: when the answer lacks the result map or `count`.
        KrakenError: from the client.
    """
    seen: dict[str, Any] = {}
    count: int | None = None
    ofs = 0
    pages = 0
    while True:
        if first is not None:
            (page, page_count), first = first, None
        else:
            page, page_count = fetch_page(spec, window, client, ofs)
            pages += 1
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


def cursor_times(spec: StreamSpec, page: Mapping[str, Any]) -> list[Decimal]:
    """The cursor times (unix seconds) of a page's records; a record that does not parse is skipped (the
    load quarantines it; a boundary only needs the others)."""
    times = []
    for key, value in page.items():
        try:
            moment = getattr(spec.parse(key, value), spec.rules.cursor)
        except MalformedRecord:
            continue
        if moment is not None:
            times.append(Decimal(moment))
    return times


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
