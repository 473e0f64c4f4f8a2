"""Backfill: load a past date range of every stream, through Kraken's export cycle where Kraken has an
export for the stream (ledgers, trades) and REST windows where it has not (closed orders, order amends).

`via` chooses for the streams that have an export: ``export``, ``rest``, or ``auto`` (from a `count` per
chunk: big chunks by export, small ones by REST). Composition ring: `exportcycle` drives the export state
machine, `fileload` loads files, `window.run_window` pages REST windows. Backfill never writes the
incremental bookmark; reruns resume export jobs and reload idempotently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from kraken_etl.core.clock import Clock
from kraken_etl.core.results import JobResult
from kraken_etl.core.timeutil import as_utc
from kraken_etl.core.windows import Window, plan_backfill, to_kraken_params
from kraken_etl.db.runs import Engine
from kraken_etl.jobs.amends import sync_order_amends
from kraken_etl.jobs.events import Event, Progress, quiet_progress
from kraken_etl.jobs.exportcycle import ExportPolicy, ExportRun, run_export
from kraken_etl.jobs.streams import BY_NAME, STREAMS, StreamSpec
from kraken_etl.jobs.window import run_window
from kraken_etl.jobs.wiring import open_account
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.settings import Settings, SettingsError

Via = Literal["auto", "rest", "export"]
VIAS: tuple[str, ...] = ("auto", "rest", "export")
BACKFILL_STREAMS: tuple[str, ...] = tuple(spec.name for spec in STREAMS)


def estimate_rows(client: KrakenClient, spec: StreamSpec, window: Window) -> int:
    """Rows Kraken holds for the stream in the window: one history call's `count`.

    Raises:
        KrakenError: from the client.
    """
    result = client.private(spec.method, {**to_kraken_params(window), "ofs": 0}, cost=spec.cost)
    count = result.get("count", 0) if isinstance(result, dict) else 0
    return int(count)


def choose_via(
    client: KrakenClient, spec: StreamSpec, window: Window, via: Via, threshold: int
) -> tuple[str, int | None]:
    """``rest`` or ``export`` for one stream and window; `auto` estimates the size from `count`.

    A stream without an export report always goes through REST.

    Raises:
        KrakenError: from the client (the `auto` estimate).
    """
    if spec.export_report is None:
        return "rest", None
    if via != "auto":
        return via, None
    rows = estimate_rows(client, spec, window)
    return ("export" if rows >= threshold else "rest"), rows


def plan_windows(start: datetime, end: datetime, chunk: timedelta | None) -> list[Window]:
    """The backfill's chunks: `core.windows.plan_backfill`, or one window when `chunk` is None."""
    return plan_backfill(start, end, chunk) if chunk is not None else [Window(start, end)]


@dataclass(frozen=True, slots=True)
class BackfillRequest:
    """What to backfill: one account, a half-open range [start, end), streams, and how."""

    account: str
    start: datetime
    end: datetime
    streams: tuple[str, ...] = field(default=BACKFILL_STREAMS)
    via: Via = "auto"
    chunk: timedelta | None = timedelta(days=90)
    export_threshold: int = 5_000  # auto: at least this many rows in a chunk → export, else REST

    def __post_init__(self) -> None:
        if self.via not in VIAS:
            raise SettingsError(f"via must be auto, rest or export, not {self.via!r}")
        unknown = [s for s in self.streams if s not in BY_NAME]
        if unknown:
            raise SettingsError(f"unknown stream {unknown[0]!r}; one of {', '.join(BACKFILL_STREAMS)}")
        if self.end <= self.start:
            raise SettingsError(f"the range is empty: {self.start:%Y-%m-%d} .. {self.end:%Y-%m-%d}")


def backfill(
    request: BackfillRequest,
    *,
    engine: Engine,
    client: KrakenClient,
    clock: Clock,
    home: Path,
    policy: ExportPolicy | None = None,
    progress: Progress = quiet_progress,
) -> list[JobResult]:
    """Load a past range of the requested streams, chunk by chunk; one result per chunk and stream.

    Streams run in declaration order (amends after closed orders, whose trails they follow).

    Raises:
        ExportStuck, BackfillError, ExportFileError, KrakenError: see `run_export` and `run_window`.
    """
    run = ExportRun(engine, client, clock, request.account, home, policy or ExportPolicy(), progress)
    windows = plan_windows(as_utc(request.start), as_utc(request.end), request.chunk)
    results: list[JobResult] = []
    for spec in (s for s in STREAMS if s.name in request.streams):
        if spec.paging == "per_order":  # not windowed: the trails of amended orders not stored yet
            progress(Event("status", f"{spec.name}: via rest (one call per amended order)", spec.name))
            results.append(sync_order_amends(client=client, engine=engine, account=request.account,
                                             progress=progress, kind="backfill"))
            continue
        for window in windows:
            how, estimate = choose_via(client, spec, window, request.via, request.export_threshold)
            lower, upper = window.start or request.start, window.end
            suffix = f" (~{estimate:,} rows)" if estimate is not None else ""
            progress(Event("status", f"{spec.name} {lower:%Y-%m-%d}..{upper:%Y-%m-%d}: via {how}{suffix}", spec.name))
            if how == "export" and spec.export_report is not None:
                results.append(run_export(run, spec.export_report, lower, upper))
            else:
                results.append(run_window(spec, window, client=client, engine=engine, account=request.account,
                                          kind="backfill", write_bookmark=False, progress=progress))
    return results


def backfill_label(
    label: str,
    start: datetime | str,
    end: datetime | str,
    via: Via = "auto",
    streams: Sequence[str] = BACKFILL_STREAMS,
    chunk_days: int = 90,
    export_threshold: int = 5_000,
    *,
    settings: Settings | None = None,
    policy: ExportPolicy | None = None,
    progress: Progress = quiet_progress,
) -> list[JobResult]:
    """Backfill one configured account, by label: what the CLI and the Prefect task both run.

    Parameters are plain values (no secrets); `chunk_days` 0 means one chunk for the whole range; moments
    are ISO 8601 text or datetimes (naive = UTC).

    Raises:
        SettingsError: an unknown label, `via` or stream, or an empty range; MissingCredentials without a key.
        ExportStuck, BackfillError, ExportFileError, KrakenError: as `backfill`.
    """
    request = BackfillRequest(label, as_utc(start), as_utc(end), tuple(streams), via,
                              timedelta(days=chunk_days) if chunk_days > 0 else None, export_threshold)
    with open_account(label, settings) as session:
        return backfill(request, engine=session.engine, client=session.client, clock=session.client.clock,
                        home=session.settings.home, policy=policy, progress=progress)
