"""Backfill: load a past date range, chunk by chunk: Kraken's export cycle for big chunks, REST windows for
small ones (`auto` decides from a `count`), and manual imports of export files.

Composition ring (like `pipeline`): `exportcycle` drives the export state machine, `fileload` loads files
through the shared validation and loader, `pipeline.run_window` pages REST windows. No SQL text, no httpx.
Backfill never writes the incremental bookmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from kraken_etl import pipeline
from kraken_etl.core.windows import Window, plan_backfill, to_kraken_params
from kraken_etl.db.runs import Engine
from kraken_etl.exportcycle import ExportRun, export_description, run_export
from kraken_etl.fileload import (
    BackfillError,
    Event,
    ExportPolicy,
    ExportStuck,
    LoadResult,
    Progress,
    import_files,
    quiet_progress,
)
from kraken_etl.kraken import exports as kx
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.core.clock import Clock
from kraken_etl.settings import Settings
from kraken_etl.streams import BY_NAME

# What callers (CLI, flows, tests, benches) import from here.
__all__ = [
    "BACKFILL_STREAMS", "BackfillError", "BackfillRequest", "Event", "ExportPolicy", "ExportRun", "ExportStuck",
    "LoadResult", "backfill", "backfill_label", "export_description", "import_files", "run_export",
]


Via = Literal["auto", "rest", "export"]
EXPORT_STREAMS: dict[str, kx.Report] = {"ledgers": "ledgers", "trades": "trades"}
# REST history endpoint per stream, for `auto`'s size estimate.
COUNT_METHODS = {"ledgers": "Ledgers", "trades": "TradesHistory"}
BACKFILL_STREAMS = ("ledgers", "trades", "closed_orders", "order_amends")


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
    progress: Progress = quiet_progress,
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
    progress: Progress = quiet_progress,
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
