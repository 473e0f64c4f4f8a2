"""`run_window()`: pages → parse → validate → load, the one path for incremental sync and backfill.

Composition ring: it wires `kraken_etl.kraken` (HTTP) to `kraken_etl.db` (SQL) through the pure `core`,
and holds no SQL text and no HTTP calls of its own.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from kraken_etl.core.balance import parse_balance, parse_balance_ex
from kraken_etl.core.parsing import MalformedRecord, count_of, rawify
from kraken_etl.core.records import Rejected
from kraken_etl.core.windows import Window, kraken_bounds, plan_incremental, signpost, to_kraken_params
from kraken_etl.db.load import insert_balances, quarantine, upsert_records
from kraken_etl.db.runs import Engine, RunLog, insert_run, update_run_counts
from kraken_etl.db.state import get_bookmark, mark_amends_synced, orders_needing_amends, set_bookmark
from kraken_etl.kraken.client import ClientStats, KrakenClient
from kraken_etl.core.clock import Clock, SystemClock, utcnow
from kraken_etl.kraken.errors import KrakenError, MalformedResponse, MissingCredentials, PaginationDrift
from kraken_etl.settings import Account, Settings
from kraken_etl.streams import BY_NAME, ORDER_AMENDS, StreamSpec
from kraken_etl.validation import validate_batch

log = logging.getLogger(__name__)

Progress = Callable[[str, int, "int | None"], None]  # (stream, records fetched so far, total if known)
MAX_WINDOW_ATTEMPTS = 4
AMENDS_PER_TRANSACTION = 50


@dataclass(frozen=True, slots=True)
class WindowResult:
    """What one window (or snapshot) run did."""

    account: str
    stream: str
    window_start: datetime | None
    window_end: datetime | None
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    quarantined: int = 0
    calls: int = 0
    wait_seconds: float = 0.0
    duration_seconds: float = 0.0
    pages: int = 0
    attempts: int = 1
    run_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- fetching ---------------------------------------------------------------------------------------


def fetch_window(
    spec: StreamSpec, window: Window, client: KrakenClient, *, progress: Progress | None = None
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
        page, page_count = _page(spec, result)
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
        if progress:
            progress(spec.name, len(seen), count)
        if ofs >= count:
            break
    if len(seen) != count:
        raise PaginationDrift("EClient:Pagination drift", f"{len(seen)} distinct ids, count {count}",
                              method=spec.method)
    return seen, pages


def _page(spec: StreamSpec, result: Any) -> tuple[Mapping[str, Any], int]:
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


# -- one window -------------------------------------------------------------------------------------


def run_window(
    spec: StreamSpec,
    window: Window,
    *,
    client: KrakenClient,
    engine: Engine,
    account: str,
    clock: Clock | None = None,
    kind: str = "incremental",
    write_bookmark: bool = True,
    progress: Progress | None = None,
    max_window_attempts: int = MAX_WINDOW_ATTEMPTS,
) -> WindowResult:
    """Fetch every page of `window`, parse, validate and load it; move the bookmark (if asked) with it.

    Args:
        spec: a paged stream (ledgers, trades, closed_orders).
        window: the frozen window; its `end` becomes the bookmark.
        client: the account's Kraken client.
        engine: the database.
        account: the account label stored on the rows.
        kind: ``incremental`` or ``backfill`` (logged in sync_run).
        write_bookmark: False for backfills (stateless, dlt's `end_value`).

    Raises:
        PaginationDrift: when the window kept drifting `max_window_attempts` times.
        KrakenError: fatal client errors at once; RetriesExhausted when transient ones persist.
        sqlalchemy.exc.DBAPIError: on database failures (nothing of the window is committed).
    """
    clock = clock or client.clock
    started = clock.now()
    before = client.stats.copy()
    attempts = 0
    try:
        while True:
            attempts += 1
            try:
                raw, pages = fetch_window(spec, window, client, progress=progress)
                break
            except PaginationDrift as exc:
                log.warning("%s %s: %s (attempt %d)", account, spec.name, exc, attempts)
                if attempts >= max_window_attempts:
                    raise
        records, rejected = parse_all(spec, raw)
        batch = validate_batch(spec.name, records, bounds=kraken_bounds(window))
        rejected += batch.rejected
        calls, waited = _spent(client.stats, before)
        with engine.begin() as conn:
            run_id = insert_run(conn, _log(account, spec.name, kind, window, started, clock, "ok",
                                           fetched=len(raw), calls=calls, waited=waited))
            counts = upsert_records(conn, account, spec.name, batch.valid, "rest", flags=batch.flags)
            quarantine(conn, account, spec.name, "rest", rejected, run_id)
            update_run_counts(conn, run_id, inserted=counts.inserted, updated=counts.updated,
                              quarantined=len(rejected))
            if write_bookmark:
                set_bookmark(conn, account, spec.name, window.end)
    except Exception as exc:
        _log_failure(engine, account, spec.name, kind, window, started, clock, client.stats, before, exc)
        raise
    return WindowResult(account, spec.name, window.start, window.end, fetched=len(raw),
                        inserted=counts.inserted, updated=counts.updated, quarantined=len(rejected),
                        calls=calls, wait_seconds=waited, duration_seconds=clock.now() - started,
                        pages=pages, attempts=attempts, run_id=run_id)


def sync_stream(
    spec: StreamSpec,
    *,
    client: KrakenClient,
    engine: Engine,
    account: str,
    now: datetime | None = None,
    since: datetime | None = None,
    progress: Progress | None = None,
) -> WindowResult:
    """One incremental run of a paged stream: the window from the bookmark (minus `lag`) to `now`.

    `since` stands in for a missing bookmark (after an export backfill up to `since`); an existing
    bookmark always wins.

    Raises:
        As `run_window`.
    """
    with engine.connect() as conn:
        bookmark = get_bookmark(conn, account, spec.name) or since
    window = plan_incremental(bookmark, signpost(now or utcnow(client.clock)), spec.lag)
    return run_window(spec, window, client=client, engine=engine, account=account, progress=progress)


# -- order amends and balances ----------------------------------------------------------------------


def sync_order_amends(
    *, client: KrakenClient, engine: Engine, account: str, progress: Progress | None = None
) -> WindowResult:
    """Fetch the OrderAmends trail of every amended order not yet stored (or changed since).

    Trails are stored with the order's `amends_synced_at` marker in the same transaction, 50 orders per
    transaction, so an interrupted run resumes where it stopped.

    Raises:
        KrakenError: from the client; MalformedResponse when an answer lacks the `amends` list.
    """
    spec = ORDER_AMENDS
    clock = client.clock
    started = clock.now()
    before = client.stats.copy()
    with engine.connect() as conn:
        orders = orders_needing_amends(conn, account)
    fetched = inserted = updated = rejected_total = 0
    try:
        for offset in range(0, len(orders), AMENDS_PER_TRANSACTION):
            chunk = orders[offset: offset + AMENDS_PER_TRANSACTION]
            records: list[Any] = []
            rejected: list[Rejected] = []
            for txid in chunk:
                result = client.private(spec.method, {"order_id": txid}, cost=spec.cost)
                trail = result.get(spec.result_key) if isinstance(result, Mapping) else None
                if not isinstance(trail, list):
                    raise MalformedResponse("EClient:Malformed response", "amends is not a list",
                                            method=spec.method)
                parsed, bad = parse_all(spec, {str(i): item for i, item in enumerate(trail)}, parent=txid)
                records += parsed
                rejected += bad
                fetched += len(trail)
            if progress:
                progress(spec.name, offset + len(chunk), len(orders))
            batch = validate_batch(spec.name, records)
            rejected += batch.rejected
            with engine.begin() as conn:
                counts = upsert_records(conn, account, spec.name, batch.valid, "rest")
                quarantine(conn, account, spec.name, "rest", rejected, None)
                mark_amends_synced(conn, account, chunk)
            inserted += counts.inserted
            updated += counts.updated
            rejected_total += len(rejected)
        calls, waited = _spent(client.stats, before)
        with engine.begin() as conn:
            run_id = insert_run(conn, _log(account, spec.name, "incremental", None, started, clock, "ok",
                                           fetched=fetched, calls=calls, waited=waited,
                                           inserted=inserted, updated=updated, quarantined=rejected_total))
    except Exception as exc:
        _log_failure(engine, account, spec.name, "incremental", None, started, clock, client.stats, before, exc)
        raise
    return WindowResult(account, spec.name, None, None, fetched=fetched, inserted=inserted, updated=updated,
                        quarantined=rejected_total, calls=calls, wait_seconds=waited,
                        duration_seconds=clock.now() - started, pages=len(orders), run_id=run_id)


def snapshot_balances(*, client: KrakenClient, engine: Engine, account: str) -> WindowResult:
    """Store Balance and BalanceEx as they are now (one `taken_at` for both).

    Raises:
        KrakenError: from the client; MalformedRecord when an amount is not a decimal.
    """
    clock = client.clock
    started = clock.now()
    before = client.stats.copy()
    try:
        taken_at = utcnow(clock)
        balance = parse_balance(client.private("Balance"), taken_at)
        balance_ex = parse_balance_ex(client.private("BalanceEx"), taken_at)
        calls, waited = _spent(client.stats, before)
        with engine.begin() as conn:
            stored = insert_balances(conn, account, balance + balance_ex)
            run_id = insert_run(conn, _log(account, "balances", "snapshot", None, started, clock, "ok",
                                           fetched=len(balance) + len(balance_ex), calls=calls, waited=waited,
                                           inserted=stored))
    except Exception as exc:
        _log_failure(engine, account, "balances", "snapshot", None, started, clock, client.stats, before, exc)
        raise
    return WindowResult(account, "balances", None, taken_at, fetched=len(balance) + len(balance_ex),
                        inserted=stored, calls=calls, wait_seconds=waited,
                        duration_seconds=clock.now() - started, pages=2, run_id=run_id)


# -- an account -------------------------------------------------------------------------------------


def sync_one(
    stream: str,
    *,
    client: KrakenClient,
    engine: Engine,
    account: str,
    now: datetime | None = None,
    since: datetime | None = None,
    progress: Progress | None = None,
) -> WindowResult:
    """Run one stream by name (``ledgers``, ``trades``, ``closed_orders``, ``order_amends``, ``balances``).

    Raises:
        KeyError: for an unknown stream name; otherwise as the stream's function.
    """
    if stream == "balances":
        return snapshot_balances(client=client, engine=engine, account=account)
    if stream == "order_amends":
        return sync_order_amends(client=client, engine=engine, account=account, progress=progress)
    return sync_stream(BY_NAME[stream], client=client, engine=engine, account=account, now=now, since=since,
                       progress=progress)


def client_for(account: Account, settings: Settings, *, clock: Clock | None = None) -> KrakenClient:
    """The account's Kraken client (file-locked nonces under KRAKEN_ETL_HOME, the key's shared counter).

    Raises:
        MissingCredentials: when the account has no key or secret configured.
    """
    if not account.has_credentials:
        raise MissingCredentials("EClient:Missing credentials", f"account {account.label!r}")
    return KrakenClient.for_account(
        settings.api_url, api_key=account.api_key, api_secret=account.api_secret, tier=account.tier,
        home=settings.home, rate_scale=settings.rate_scale, clock=clock or SystemClock(),
    )


# -- helpers ----------------------------------------------------------------------------------------


def _spent(now: ClientStats, before: ClientStats) -> tuple[int, float]:
    return now.calls - before.calls, now.wait_seconds - before.wait_seconds


def _seconds(value: float) -> Decimal:
    return Decimal(f"{value:.3f}")


def _log(account: str, stream: str, kind: str, window: Window | None, started: float, clock: Clock,
         status: str, *, fetched: int = 0, calls: int = 0, waited: float = 0.0, inserted: int = 0,
         updated: int = 0, quarantined: int = 0, error: str | None = None) -> RunLog:
    from kraken_etl.core.timeutil import from_unix

    finished = clock.now()
    return RunLog(
        account=account, stream=stream, kind=kind,
        window_start=window.start if window else None, window_end=window.end if window else None,
        started_at=from_unix(_seconds(started)), finished_at=from_unix(_seconds(finished)), status=status,
        fetched=fetched, inserted=inserted, updated=updated, quarantined=quarantined, calls=calls,
        wait_seconds=_seconds(waited), duration_seconds=_seconds(finished - started), error=error,
    )


def _log_failure(engine: Engine, account: str, stream: str, kind: str, window: Window | None, started: float,
                 clock: Clock, stats: ClientStats, before: ClientStats, exc: BaseException) -> None:
    """Log a failed run in its own transaction (best effort: the database may be what failed)."""
    calls, waited = _spent(stats, before)
    message = str(exc) if isinstance(exc, KrakenError | MalformedRecord) else type(exc).__name__
    try:
        with engine.begin() as conn:
            insert_run(conn, _log(account, stream, kind, window, started, clock, "failed", calls=calls,
                                  waited=waited, error=message[:500]))
    except Exception:  # never mask the original failure
        log.warning("could not log the failed %s run of %s", stream, account)


def sync_streams(
    streams: Sequence[str],
    *,
    client: KrakenClient,
    engine: Engine,
    account: str,
    progress: Progress | None = None,
) -> list[WindowResult]:
    """Run `streams` in order for one account, with one signpost ("now") captured at the start.

    Raises:
        KrakenError: the first failure stops the account (later streams would fail the same way).
    """
    now = utcnow(client.clock)
    return [sync_one(stream, client=client, engine=engine, account=account, now=now, progress=progress)
            for stream in streams]


def sync_label(
    label: str, stream: str, *, since: datetime | None = None, settings: Settings | None = None
) -> WindowResult:
    """Sync one stream of one configured account, by label (what a Prefect task runs: no secrets passed).

    `since`: where a stream without a bookmark starts (see `sync_stream`).

    Raises:
        SettingsError: when the label is not configured; otherwise as `sync_one`.
    """
    from kraken_etl.db.engine import effective_url, make_engine
    from kraken_etl.settings import load_settings

    current = settings or load_settings()
    account = current.select_accounts([label])[0]
    engine = make_engine(effective_url(current))
    try:
        with client_for(account, current) as client:
            return sync_one(stream, client=client, engine=engine, account=label, since=since)
    finally:
        engine.dispose()


def configured_labels(settings: Settings | None = None) -> list[str]:
    """The labels of every configured account."""
    from kraken_etl.settings import load_settings

    return [a.label for a in (settings or load_settings()).select_accounts(None)]
