"""Build the report: read the figures, render the charts, lay out one page, write it.

Raises `ReportError` (a `KrakenEtlError`) for a bad date range, an account without entries, a file that
cannot be written or a chart engine that failed, so the CLI prints one line.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from kraken_etl.core.clock import Clock, SystemClock, utcnow
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.db import reporting as q
from kraken_etl.db.reporting import Engine
from kraken_etl.report import charts as plot
from kraken_etl.report import gains as booked
from kraken_etl.report import valuation as valued
from kraken_etl.report.engine import ChartEngine, ChartError
from kraken_etl.report.page import Section, pivot, render_page

# a report written without charts says so where each chart would be
NO_CHARTS = "Chart left out of this report (written without charts): `kraken-etl report` draws it."


class ReportError(KrakenEtlError):
    """The report cannot be built as asked (bad range, nothing to report)."""


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """What was written: where, how big (bytes), how long it took (seconds), what it covers."""

    path: Path
    size_bytes: int
    seconds: float
    account: str | None
    date_from: date
    date_to: date
    charts: int  # charts drawn (0 when asked for none)


def _gather(engine: Engine, jobs: dict[str, Callable[[Any], Any]]) -> dict[str, Any]:
    """Run the queries at once, each on its own connection (the chart engine boots meanwhile in its child)."""
    def run(job: Callable[[Any], Any]) -> Any:
        with engine.connect() as conn:
            return job(conn)

    with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="report-sql") as pool:
        futures = {name: pool.submit(run, job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def _draw(chart_engine: ChartEngine | None, specs: dict[str, dict[str, Any] | None]) -> dict[str, str | None]:
    """Each non-empty specification as SVG, rendered in one call to the child (None stays None); no chart at all
    without an engine (a report asked for without charts)."""
    wanted = {key: spec for key, spec in specs.items() if spec is not None}
    if chart_engine is None:
        return dict.fromkeys(specs)
    try:
        drawn = dict(zip(wanted, chart_engine.render(list(wanted.values())), strict=True))
    except ChartError as exc:
        raise ReportError(f"{exc}: nothing written") from None
    return {key: drawn.get(key) for key in specs}


def _write(out: Path, html: str) -> None:
    """`html` to `out` whole or not at all (a temporary file beside it, then renamed)."""
    partial = out.with_name(f".{out.name}.partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(html, encoding="utf-8")
        partial.replace(out)
    except OSError as exc:
        with suppress(OSError):
            partial.unlink(missing_ok=True)
        reason = exc.strerror or type(exc).__name__
        raise ReportError(f"cannot write the report to {str(out)!r}: {reason}") from None


def write_report(
    engine: Engine,
    out: Path,
    *,
    account: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    clock: Clock | None = None,
    charts: bool = True,
) -> ReportInfo:
    """Write the self-contained HTML report to `out` (parent folders created).

    Args:
        engine: the database holding schema `reporting`.
        out: the HTML file to write.
        account: one account label, or None for all accounts.
        date_from, date_to: inclusive UTC days; default the first entry's day and today.
        clock: for "today" and the build time (default: the system clock).
        charts: False: tables only, no chart engine started (the fanned-out nightly's report: booting the engine
            and drawing costs more CPU than the rest of an account's night); each chart's place says so.

    Raises:
        ReportError: when `date_from` is after `date_to`, there are no ledger entries to report, the chart
            engine failed or `out` cannot be written (nothing is written then).
    """
    clock = clock or SystemClock()
    started = clock.now()
    now = utcnow(clock)
    to_day = date_to or now.date()
    with engine.connect() as conn:
        from_day = date_from or q.first_day(conn, account)
        if from_day is None:
            who = f"account {account!r}" if account else "any account"
            raise ReportError(f"no ledger entries for {who}: nothing to report (run a sync or an import first)")
        if from_day > to_day:
            if date_from is None:
                raise ReportError(f"the first ledger entry is on {from_day}, after --to {to_day}: nothing to report")
            raise ReportError(f"--from {from_day} is after --to {to_day}")
    f = q.ReportFilter(account, from_day, to_day)
    step = 7 if (to_day - from_day).days > 400 else 1  # weekly points on long ranges keep the chart light
    # the engine boots in its own process while the queries run
    with ChartEngine() if charts else nullcontext() as chart_engine:
        got = _gather(engine, {
            **({"balances": lambda c: q.balance_series(c, f, step)} if charts else {}),
            "holdings": lambda c: q.holdings_at_end(c, f),
            "fees": lambda c: q.fees_by_month(c, f), "volume": lambda c: q.volume_by_pair(c, f),
            "flows": lambda c: q.deposits_withdrawals(c, f), "reconciliation": lambda c: q.reconciliation(c, f),
            "fresh": lambda c: q.freshness(c, f), "refreshed": q.refreshed_at, **valued.queries(f, step),
            **booked.queries(f),
        })
        balances, holdings, fees, volume = got.get("balances"), got["holdings"], got["fees"], got["volume"]
        flows, (runs, findings), fresh = got["flows"], got["reconciliation"], got["fresh"]
        svg = _draw(chart_engine, {
            "balances": plot.balances_spec(plot.values(balances, ("day", "asset", "balance")))
            if balances else None,
            "fees": plot.fees_spec(plot.values(fees, ("month", "asset", "fees"))) if fees else None,
            "trades": plot.trades_spec(plot.values(volume, ("pair", "side", "trades"))) if volume else None,
            "flows": plot.flows_spec(plot.values(flows, ("asset", "type", "entries"))) if flows else None,
            "portfolio": valued.chart_spec(got),
        })
    refreshed = got["refreshed"]
    fee_rows, fee_columns = pivot(fees, "month", "asset", "fees")
    no_charts = "" if charts else f" {NO_CHARTS}"
    sections = [
        *valued.sections({**got, "all_accounts": account is None}, svg["portfolio"], to_day, no_charts),
        *booked.sections(got),
        Section("balances", "Balances over time",
                "End-of-day balance per asset (UTC), wallets" + (" and accounts" if account is None else "")
                + " summed" + (", every 7th day." if step > 1 else ".") + no_charts,
                chart=svg["balances"]),
        Section("holdings", f"Holdings at the end of {to_day}", "Non-zero balances per account, asset and wallet.",
                rows=holdings, columns=("account", "asset", "wallet", "balance", "entries")),
        Section("fees", "Fees per month",
                "Fees the ledger debited, per UTC month (rows) and asset (columns)." + no_charts,
                chart=svg["fees"],
                rows=fee_rows, columns=fee_columns),
        Section("trades", "Trade volume per pair",
                "Fills, base volume, quote cost and fees per pair and side." + no_charts,
                chart=svg["trades"],
                rows=volume, columns=("pair", "side", "trades", "volume", "cost", "fees")),
        Section("flows", "Deposits and withdrawals", "Movements, amounts and fees per asset." + no_charts,
                chart=svg["flows"],
                rows=flows, columns=("asset", "type", "entries", "amount", "fees")),
        Section("reconciliation", "Reconciliation", "The latest run per account and the findings still open.",
                rows=runs, columns=("account", "run_id", "as_of", "status", "open_breaks", "open_warnings",
                                    "acknowledged"),
                extra_rows=findings, extra_columns=("account", "severity", "check_name", "asset", "wallet",
                                                    "expected", "actual", "difference", "message")),
        Section("freshness", "Data freshness", "Last successful load per stream and records in quarantine.",
                rows=fresh, columns=("account", "stream", "last_success_at", "age_seconds", "last_run_status",
                                     "open_quarantine")),
    ]
    try:
        html = render_page(title="kraken-etl report", account=account, date_from=from_day, date_to=to_day,
                           generated_at=now, refreshed_at=refreshed, sections=sections)
    except ChartError as exc:  # a chart's SVG held more than drawing elements
        raise ReportError(f"{exc}: nothing written") from None
    _write(out, html)
    return ReportInfo(out, out.stat().st_size, clock.now() - started, account, from_day, to_day,
                      sum(1 for s in sections if s.chart))
