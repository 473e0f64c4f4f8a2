"""Backfill: load a past date range of every stream, planned from the data (`jobs.plan`).

The plan comes first: a few count calls say where the history begins and how many rows each stream holds;
ranges are split by row count (one export covers up to `max_export_rows`), empty ranges are never
requested, and each range goes by Kraken's export cycle (ledgers, trades) or REST windows (closed orders,
and whatever `via` sends there); order amends follow the closed orders. The plan is stored before anything
is requested, so a rerun after a crash resumes the same ranges and finds their export jobs (never a second
AddExport for a planned range). Loads are idempotent.

Bookmarks: a backfill whose range reaches the present sets the bookmark of each windowed stream it loaded
completely, at the moment its newest range was read, never later: the export's creation time at Kraken
(`createdtm`: the file holds what existed then) or the clock just before a REST window's first page. A
range ending in the past, an empty stream, or a run that failed part-way sets none (and a bookmark never
moves backwards). The next `sync` then reads only what arrived since.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from kraken_etl.core.clock import Clock
from kraken_etl.core.results import JobResult
from kraken_etl.core.timeutil import as_utc, from_unix
from kraken_etl.core.tuning import relaxed_gc
from kraken_etl.core.windows import Window
from kraken_etl.db import exports as export_jobs
from kraken_etl.db import plans
from kraken_etl.db.runs import Engine
from kraken_etl.db.state import set_bookmark
from kraken_etl.jobs.amends import sync_order_amends
from kraken_etl.jobs.events import Event, Progress, quiet_progress
from kraken_etl.jobs.exclusive import locked_account
from kraken_etl.jobs.exportcycle import ExportPolicy, ExportRun, run_export, submit_export
from kraken_etl.jobs.plan import BackfillPlan, PlanLimits, PlannedRange, plan_backfill_ranges
from kraken_etl.jobs.refresh import refresh_after_load
from kraken_etl.jobs.streams import BY_NAME, STREAMS
from kraken_etl.jobs.wallets import wallets_settled
from kraken_etl.jobs.window import run_window
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.exports import Report
from kraken_etl.settings import Settings, SettingsError

Via = Literal["auto", "rest", "export"]
VIAS: tuple[str, ...] = ("auto", "rest", "export")
BACKFILL_STREAMS: tuple[str, ...] = tuple(spec.name for spec in STREAMS)


@dataclass(frozen=True, slots=True)
class BackfillRequest:
    """What to backfill: one account, a half-open range [start, end), streams, and how."""

    account: str
    start: datetime
    end: datetime
    streams: tuple[str, ...] = field(default=BACKFILL_STREAMS)
    via: Via = "auto"
    chunk: timedelta | None = None  # calendar chunks (`--chunk-days`); None: ranges planned from the data
    export_threshold: int = 5_000  # auto: at least this many rows in a range → export, else REST
    max_export_rows: int = 1_000_000  # one export holds at most about this many rows

    @property
    def limits(self) -> PlanLimits:
        return PlanLimits(max_export_rows=self.max_export_rows, export_threshold=self.export_threshold,
                          chunk=self.chunk)

    @property
    def key(self) -> str:
        """Names the request (not the account): the same request resumes the same stored plan."""
        return hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode()).hexdigest()

    def describe(self) -> dict[str, object]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "streams": list(self.streams),
                "via": self.via, "chunk_days": self.chunk.days if self.chunk else None,
                "export_threshold": self.export_threshold, "max_export_rows": self.max_export_rows}

    def __post_init__(self) -> None:
        if self.via not in VIAS:
            raise SettingsError(f"via must be auto, rest or export, not {self.via!r}")
        unknown = [s for s in self.streams if s not in BY_NAME]
        if unknown:
            raise SettingsError(f"unknown stream {unknown[0]!r}; one of {', '.join(BACKFILL_STREAMS)}")
        if self.end <= self.start:
            raise SettingsError(f"the range is empty: {self.start:%Y-%m-%d} .. {self.end:%Y-%m-%d}")


def plan(request: BackfillRequest, *, engine: Engine, client: KrakenClient, store: bool = True) -> BackfillPlan:
    """The request's plan: the stored one of an interrupted run, else a new one from Kraken's counts.

    With `store` (the default) a new plan is saved before it is returned; a dry run passes False.

    Raises:
        KrakenError: from the count calls.
    """
    with engine.connect() as conn:
        stored = plans.open_plan(conn, request.account, request.key)
    if stored is not None:
        plan_id, ranges, calls = stored
        return BackfillPlan(tuple(PlannedRange.from_dict(r) for r in ranges), calls, plan_id, resumed=True)
    specs = [spec for spec in STREAMS if spec.name in request.streams]
    fresh = plan_backfill_ranges(client, specs, request.start, request.end, request.via, request.limits)
    if not store:
        return fresh
    with engine.begin() as conn:
        plan_id = plans.save_plan(conn, request.account, request.key, request.describe(),
                                  [r.as_dict() for r in fresh.ranges], fresh.count_calls)
    return BackfillPlan(fresh.ranges, fresh.count_calls, plan_id)


def backfill(
    request: BackfillRequest,
    *,
    engine: Engine,
    client: KrakenClient,
    clock: Clock,
    home: Path,
    policy: ExportPolicy | None = None,
    progress: Progress = quiet_progress,
    planned: BackfillPlan | None = None,
) -> list[JobResult]:
    """Run the request's plan step by step (planning it first unless `planned` is given).

    Raises:
        ExportStuck, BackfillError, ExportFileError, KrakenError: see `run_export` and `run_window`.
    """
    chosen = planned or plan(request, engine=engine, client=client)
    for line in chosen.lines():
        progress(Event("plan", line))
    run = ExportRun(engine, client, clock, request.account, home, policy or ExportPolicy(), progress)
    # Exports are asked for ahead (up to `policy.ahead` not yet loaded): Kraken processes the next ones
    # while the current one downloads and loads.
    exports = [step for step in chosen.ranges if _by_export(step)]
    asked = loaded = 0

    def ask_ahead() -> None:
        nonlocal asked
        for step in exports[asked:loaded + run.policy.ahead]:
            assert step.start is not None and step.end is not None
            submit_export(run, _report(step), step.start, step.end)
            asked += 1

    ask_ahead()
    results: list[JobResult] = []
    read: dict[str, tuple[PlannedRange, datetime | None]] = {}  # per stream: its newest range, read when
    for step in chosen.ranges:
        spec = BY_NAME[step.stream]
        rows = "" if step.rows is None else f" (~{step.rows:,} rows)"
        span = f" {step.start:%Y-%m-%d}..{step.end:%Y-%m-%d}" if step.start else ""
        progress(Event("status", f"{spec.name}{span}: via {step.via}{rows}", spec.name))
        if step.start is None or step.end is None:  # order amends: the trails of amended orders not stored yet
            results.append(sync_order_amends(client=client, engine=engine, account=request.account,
                                             progress=progress, kind="backfill"))
        elif _by_export(step):
            results.append(run_export(run, _report(step), step.start, step.end))
            read[step.stream] = (step, _export_created(engine, results[-1].job_id))
            loaded += 1
            ask_ahead()
        else:
            began = from_unix(Decimal(math.floor(clock.now())))
            results.append(run_window(spec, Window(step.start, step.end), client=client, engine=engine,
                                      account=request.account, kind="backfill", write_bookmark=False,
                                      progress=progress))
            read[step.stream] = (step, began)
    _set_proved_bookmarks(engine, request.account, read, progress)
    if chosen.stored_id is not None:
        with engine.begin() as conn:
            plans.finish_plan(conn, chosen.stored_id)
    return results


def _export_created(engine: Engine, job_id: int | None) -> datetime | None:
    """When Kraken created the export (its `createdtm`): the file holds every row that existed then."""
    if job_id is None:
        return None
    with engine.connect() as conn:
        raw = export_jobs.get_job(conn, job_id).raw or {}
    try:
        created = int(str(raw.get("createdtm", "")))
    except ValueError:
        return None
    return from_unix(created) if created > 0 else None


def _set_proved_bookmarks(engine: Engine, account: str, read: dict[str, tuple[PlannedRange, datetime | None]],
                          progress: Progress) -> None:
    """Bookmark each stream whose newest range reaches the moment it was read (see the module docstring)."""
    with engine.begin() as conn:
        for stream, (step, moment) in read.items():
            if moment is not None and step.end >= moment:
                set_bookmark(conn, account, stream, moment)
                progress(Event("status", f"{stream}: bookmark set to {moment.isoformat(sep=' ')} (the backfill "
                               "read everything up to then)", stream))


def _by_export(step: PlannedRange) -> bool:
    return step.via == "export" and BY_NAME[step.stream].export_report is not None and step.start is not None


def _report(step: PlannedRange) -> Report:
    report = BY_NAME[step.stream].export_report
    assert report is not None
    return report


def run_backfill(
    label: str,
    start: datetime | str,
    end: datetime | str,
    *,
    via: str = "auto",
    streams: Sequence[str] = BACKFILL_STREAMS,
    chunk_days: int = 0,
    export_threshold: int = 5_000,
    max_export_rows: int = 1_000_000,
    settings: Settings | None = None,
    policy: ExportPolicy | None = None,
    progress: Progress = quiet_progress,
    dry_run: bool = False,
) -> tuple[BackfillPlan, list[JobResult]]:
    """The one entry of a backfill (the `backfill` command and the Prefect task both run it): the request
    from plain values, the account's lock, the relaxed GC, then plan and run `[start, end)` of the configured
    account `label`. Moments are ISO 8601 text or datetimes (naive = UTC); `chunk_days` 0 plans ranges from
    the data. With `dry_run` the plan is computed (and reported through `progress`) but neither stored nor
    run. After a load, days the reporting schema had already summed are refreshed (a ``note`` event says so).

    Raises:
        SettingsError: an unknown account, `via` or stream, an empty range, a non-positive size limit.
        AccountBusy: when another run holds the account (nothing was touched).
        MissingCredentials, ExportStuck, BackfillError, ExportFileError, KrakenError: as `backfill`.
    """
    if max_export_rows < 1 or export_threshold < 0 or chunk_days < 0:
        raise SettingsError("max_export_rows must be positive; export_threshold and chunk_days not negative")
    try:
        lower, upper = as_utc(start), as_utc(end)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    request = BackfillRequest(label, lower, upper, tuple(streams or BACKFILL_STREAMS), via,  # type: ignore[arg-type]
                              timedelta(days=chunk_days) if chunk_days > 0 else None, export_threshold,
                              max_export_rows)
    with locked_account(label, settings, purpose="backfill") as session, relaxed_gc():
        chosen = plan(request, engine=session.engine, client=session.client, store=not dry_run)
        if dry_run:
            for line in chosen.lines():
                progress(Event("plan", line))
            return chosen, []
        with wallets_settled(session.engine, label):
            results = backfill(request, engine=session.engine, client=session.client, clock=session.client.clock,
                               home=session.settings.home, policy=policy, progress=progress, planned=chosen)
        refreshed = refresh_after_load(session.engine, [label])  # backfilled days may be days already summed
        if refreshed:
            progress(Event("note", refreshed.line()))
        return chosen, results
