"""The nightly job of one account: sync every stream to ONE signpost (balances included), then sync the
market prices valuation needs, reconcile (the `valuation` check sees today's candles), refresh the reporting
schema and write the report, under the account's lock. A prices failure is a `warning` step (Kraken's
public market data is not the account's data): it never fails the account.

`run_nightly(label, now=…)` is the entry (the `nightly` flow runs it once per account, concurrently). It
returns a `NightlyOutcome` holding everything the run's markdown artifact needs (`jobs.artifact`): the
per-stream `JobResult`s (rows, calls, waits), each later step's status, and the bookmarks afterwards.

The reconcile, reporting and report steps call the sibling packages (`recon`, `db.reporting`, `report`).
The reporting refresh rebuilds the materialised parts for EVERY account: a run of one account among many (the
fan-out's `nightly-account` runs, `refresh="when_stale"`) refreshes only when its own load fell in days already
summed (a first sync, a long gap), which its report would otherwise miss, or when the schema was never refreshed
or its boundary is more than a day behind (its report would read that much of the ledger live, pricing every
entry: minutes at 100,000 entries); the fan-out's parent refreshes once after all of them
(`jobs.refresh.refresh_once_for_fleet`).
A step that raises is `failed` (with why) and fails the account, but the other steps still run: the data
is synced and the operator sees what broke.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.core.results import JobResult
from kraken_etl.core.timeutil import as_utc
from kraken_etl.db.reporting import boundary_days_behind, refresh_reporting
from kraken_etl.db.runs import Engine
from kraken_etl.db.state import get_bookmark
from kraken_etl.jobs.events import Progress, quiet_progress
from kraken_etl.jobs.exclusive import locked_account
from kraken_etl.jobs.prices import run_prices_sync
from kraken_etl.jobs.refresh import refresh_after_load
from kraken_etl.jobs.streams import BY_NAME
from kraken_etl.jobs.sync import sync_account
from kraken_etl.recon import reconcile
from kraken_etl.report import write_report
from kraken_etl.settings import Settings

CONCURRENT_ACCOUNTS = 4  # accounts a nightly run works on at once (each has its own key and counter)
StepStatus = Literal["ok", "warning", "failed"]  # a warning never fails the account
RefreshMode = Literal["always", "when_stale"]  # when_stale: one account of a fan-out (its parent refreshes once)
# when_stale still refreshes when the boundary is further behind today's midnight than this: the parent's refresh
# of last night leaves it 1 day behind; more means the live part of every view has grown (no refresh for days)
MAX_BOUNDARY_DAYS_BEHIND = 1


class NightlyFailed(KrakenEtlError):
    """At least one account of a nightly run failed; the message names each and why."""


class AccountFailed(KrakenEtlError):
    """One account's nightly run ended with a failed step (its data synced as far as it got); carries the
    outcome, so the run's artifact still shows every step. Raised by the nightly flow's task, so the task's
    own state says which account failed (the fan-out reads it)."""

    def __init__(self, outcome: NightlyOutcome) -> None:
        super().__init__(f"nightly failed for account {outcome.account!r}: {outcome.error}")
        self.outcome = outcome

    def __reduce__(self) -> tuple[type[AccountFailed], tuple[NightlyOutcome]]:
        return (AccountFailed, (self.outcome,))


@dataclass(slots=True)
class StepOutcome:
    """One step after the sync: reconcile, refresh_reporting or report."""

    name: str
    status: StepStatus
    detail: str = ""
    markdown: str = ""  # the step's own summary (the reconciliation's table), if it has one
    open_findings: int | None = None
    path: str | None = None  # the report's file


@dataclass(slots=True)
class NightlyOutcome:
    """What one account's nightly run did (or why it failed before finishing)."""

    account: str
    signpost: datetime
    status: Literal["ok", "failed"] = "ok"
    error: str | None = None
    sync: list[JobResult] = field(default_factory=list)
    steps: list[StepOutcome] = field(default_factory=list)
    bookmarks: dict[str, datetime | None] = field(default_factory=dict)
    started_at: float = 0.0  # monotonic seconds (durations only)
    finished_at: float = 0.0

    @property
    def seconds(self) -> float:
        return self.finished_at - self.started_at

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly (a flow's return value): times as ISO 8601 strings."""
        return {
            "account": self.account, "signpost": self.signpost.isoformat(), "status": self.status,
            "error": self.error, "seconds": self.seconds, "sync": [r.as_dict() for r in self.sync],
            "steps": [asdict(s) for s in self.steps],
            "bookmarks": {k: v.isoformat() if v else None for k, v in self.bookmarks.items()},
        }


def raise_if_failed(outcome: NightlyOutcome) -> NightlyOutcome:
    """`outcome` when it is ok.

    Raises:
        AccountFailed: holding it, when a step failed.
    """
    if outcome.status == "failed":
        raise AccountFailed(outcome)
    return outcome


def failed_outcome(account: str, signpost: datetime, error: BaseException | str) -> NightlyOutcome:
    """The outcome of an account whose run raised (the flow builds it from the task's failed state): the one
    `AccountFailed` holds, or one saying why."""
    if isinstance(error, AccountFailed):
        return error.outcome
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return NightlyOutcome(account, signpost, status="failed", error=text)


def _step(name: str, run: Callable[[], StepOutcome]) -> StepOutcome:
    try:
        return run()
    except Exception as exc:  # a step's failure fails the account, but the other steps still run
        return StepOutcome(name, "failed", f"{type(exc).__name__}: {exc}")


def reconcile_step(engine: Engine, account: str, as_of: datetime) -> StepOutcome:
    """`kraken_etl.recon.reconcile` at the run's signpost (incremental)."""

    def run() -> StepOutcome:
        result = reconcile(engine, account, as_of=as_of)
        count = len(result.open_findings)
        return StepOutcome("reconcile", "ok", f"open: {result.open_counts()}", markdown=result.to_markdown(),
                           open_findings=count)

    return _step("reconcile", run)


def prices_step(engine: Engine, settings: Settings) -> StepOutcome:
    """`kraken_etl.jobs.prices.run_prices_sync`: the candles valuation needs. Public market data failing is a
    warning (the account's own data is synced and sound; values stay unpriced until the next run)."""
    try:
        result = run_prices_sync(settings, engine=engine)
    except Exception as exc:  # market data is best effort: never fails the account
        return StepOutcome("prices", "warning", f"market data not synced: {type(exc).__name__}: {exc}")
    status: StepStatus = "warning" if result.unpriced or result.unresolved else "ok"
    return StepOutcome("prices", status, result.line())


def refresh_reporting_step(engine: Engine, settings: Settings | None = None, *,
                           when_stale_for: str | None = None) -> StepOutcome:
    """`kraken_etl.db.reporting.refresh_reporting`: what the reporting schema materialises (with the
    accounts' reporting currencies from `settings`). With `when_stale_for` (an account), only when that
    account has rows written since the last refresh into days it summed (`jobs.refresh.refresh_after_load`),
    or the schema was never refreshed, or its boundary is more than `MAX_BOUNDARY_DAYS_BEHIND` days behind."""

    def run() -> StepOutcome:
        if when_stale_for is not None:
            behind = boundary_days_behind(engine)
            if behind is not None and behind <= MAX_BOUNDARY_DAYS_BEHIND:
                refreshed = refresh_after_load(engine, [when_stale_for])
                if refreshed is None:
                    return StepOutcome("refresh_reporting", "ok", "not needed for this account (the fan-out "
                                       "refreshes once after every account)")
                return StepOutcome("refresh_reporting", "ok", refreshed.line())
            why = "never refreshed" if behind is None else f"its boundary {behind} days behind"
        else:
            why = ""
        if settings is None:
            refresh_reporting(engine)
        else:
            refresh_reporting(engine, settings.currency_by_account(), settings.reporting_currency)
        return StepOutcome("refresh_reporting", "ok", "reporting schema refreshed" + (f" ({why})" if why else ""))

    return _step("refresh_reporting", run)


def report_step(engine: Engine, account: str, out: Path, *, charts: bool = True) -> StepOutcome:
    """`kraken_etl.report.write_report` for the account, to `out` (`charts=False`: tables only)."""

    def run() -> StepOutcome:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_report(engine, out, account=account, charts=charts)
        return StepOutcome("report", "ok", f"written to {out}" + ("" if charts else " (tables only)"),
                           path=str(out))

    return _step("report", run)


def report_path(settings: Settings, account: str, signpost: datetime) -> Path:
    """Where the nightly report of an account goes: ``$KRAKEN_ETL_HOME/reports/<account>-<date>.html``."""
    return settings.home / "reports" / f"{account}-{signpost:%Y-%m-%d}.html"


def _bookmarks(engine: Engine, account: str) -> dict[str, datetime | None]:
    with engine.connect() as conn:
        return {name: get_bookmark(conn, account, name) for name, spec in BY_NAME.items()
                if spec.paging != "per_order"}


def run_nightly(label: str, *, now: datetime | str, since: datetime | str | None = None,
                settings: Settings | None = None, progress: Progress = quiet_progress,
                refresh: RefreshMode = "always", charts: bool = True) -> NightlyOutcome:
    """The nightly run of one configured account, under its lock, up to the signpost `now`.

    Args:
        now: the run's one signpost (shared by every account of a flow run).
        since: where a stream with no bookmark starts (after an export backfill); a bookmark wins.
        progress: the sync's events (where each stream starts, each committed sub-window of a long walk).
        refresh: `always` (the reporting schema, for every account) or `when_stale` (only when this account's
            load fell in days already summed: one account of a fan-out, whose parent refreshes once).
        charts: False: the report is tables only, without starting the chart engine (the fan-out's runs).

    Raises:
        AccountBusy: when another run holds the account (nothing was touched).
        SettingsError, MissingCredentials: for an unknown label or a key not configured.
        KrakenError: when the sync fails (the first failing stream stops the account).
    """
    signpost = as_utc(now)
    start = as_utc(since) if since is not None else None
    outcome = NightlyOutcome(label, signpost, started_at=time.monotonic())
    with locked_account(label, settings, purpose="nightly") as session:
        engine = session.engine
        outcome.sync = sync_account(None, client=session.client, engine=engine, account=label,
                                    now=signpost, since=start, window_rows=session.settings.sync_window_rows,
                                    denominations=session.settings.trade_balance_denominations,
                                    progress=progress)
        outcome.steps = [
            prices_step(engine, session.settings),
            reconcile_step(engine, label, signpost),
            refresh_reporting_step(engine, session.settings,
                                   when_stale_for=label if refresh == "when_stale" else None),
            report_step(engine, label, report_path(session.settings, label, signpost), charts=charts),
        ]
        outcome.bookmarks = _bookmarks(engine, label)
    failed = [s for s in outcome.steps if s.status == "failed"]
    if failed:
        outcome.status = "failed"
        outcome.error = "; ".join(f"{s.name}: {s.detail}" for s in failed)
    outcome.finished_at = time.monotonic()
    return outcome


def raise_for_failures(outcomes: list[NightlyOutcome]) -> None:
    """End a nightly run Failed when any account failed, naming each and why.

    Raises:
        NightlyFailed: listing the failed accounts.
    """
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        raise NightlyFailed("nightly failed for " + "; ".join(f"account {o.account!r}: {o.error}" for o in failed))
