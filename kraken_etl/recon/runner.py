"""`reconcile` and `acknowledge`: run the checks for one account, store the run and its findings.

One transaction per run: wallets are assigned, the checks run, findings are upserted by fingerprint,
findings not seen again inside what was re-examined are resolved, and the run row is finished. The checks
that read no wallet column (`SIDE_CHECKS`: trades, orders) run at the same time on their own read-only
connections that import the run transaction's snapshot (taken before its first write), so a run uses
both cores and they see the same committed data the run started with. A run is incremental when a
previous successful run of the same check exists and `full` is False: only rows changed after that run's
watermark (chains, trades, orders) are re-examined.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from kraken_etl.core.clock import Clock, SystemClock, utcnow
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.db import recon_store
from kraken_etl.db.recon_store import Engine
from kraken_etl.recon.check import CheckInput, CheckReport
from kraken_etl.recon.finding import Finding
from kraken_etl.recon.registry import CHECKS
from kraken_etl.recon.result import CheckSummary, ReconResult
from kraken_etl.recon.wallets import assign_wallets


class ReconError(KrakenEtlError):
    """A reconciliation could not run (bad arguments, database failure): not a data problem."""

    exit_code = 2


def _select(checks: Sequence[str] | None) -> list[str]:
    names = list(CHECKS) if not checks else list(dict.fromkeys(checks))
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ReconError(f"unknown check(s): {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    return names


def _row(f: Finding, account: str) -> dict[str, Any]:
    return {"check_name": f.check, "kind": f.kind, "severity": f.severity, "asset": f.asset, "wallet": f.wallet,
            "expected": f.expected, "actual": f.actual, "difference": f.difference, "source_ids": list(f.source_ids),
            "message": f.message, "details": {**f.details, "scope": f.scope, "at": f.at},
            "fingerprint": f.fingerprint(account)}


def _finding(row: dict[str, Any]) -> Finding:
    details = dict(row["details"] or {})
    return Finding(check=row["check_name"], kind=row["kind"], severity=row["severity"], message=row["message"],
                   asset=row["asset"], wallet=row["wallet"], expected=row["expected"], actual=row["actual"],
                   difference=row["difference"], source_ids=tuple(row["source_ids"] or ()), details=details,
                   scope=str(details.pop("scope", "") or ""), at=details.pop("at", None), id=int(row["id"]),
                   ack_note=row["ack_note"], acks=tuple((str(a["at"]), str(a["note"])) for a in row["acks"] or ()))


def _seconds(value: float) -> Decimal:
    return Decimal(round(value * 1_000_000)) / 1_000_000  # float-ok: a duration in seconds, not money


def _summary(name: str, report: CheckReport, incremental: bool, seconds: float) -> CheckSummary:
    count = {s: sum(1 for f in report.findings if f.severity == s) for s in ("break", "warning", "info")}
    return CheckSummary(name, report.rows_examined, count["break"], count["warning"], count["info"], incremental,
                        _seconds(seconds))


# Checks that read no column the wallet pass writes (trades, orders, their legs by refid): each runs on its
# own connection in the run's snapshot, beside the wallet pass and the chain checks (the machine's cores).
SIDE_CHECKS = frozenset({"trade_ledger", "order_trades"})

Ran = tuple[CheckReport, datetime | None, float]  # report, since (None: full), seconds


def _run(name: str, inp: CheckInput, clock: Clock) -> Ran:
    t1 = clock.now()
    report = CHECKS[name](inp)
    return report, inp.since, clock.now() - t1


def _run_aside(engine: Engine, snapshot: str, name: str, inp: CheckInput, clock: Clock) -> Ran:
    with recon_store.snapshot_reader(engine, snapshot) as reader:
        return _run(name, replace(inp, conn=reader), clock)


def reconcile(engine: Engine, account: str, *, as_of: datetime | None = None, checks: Sequence[str] | None = None,
              full: bool = False, clock: Clock | None = None) -> ReconResult:
    """Reconcile one account: run the checks, store the run and its findings, return the summary.

    Args:
        engine: the database.
        account: the account label.
        as_of: the moment to reconcile at (rows and snapshots after it are ignored); default now.
        checks: names from `CHECKS` (default: all).
        full: re-examine everything even when an earlier run allows an incremental one.
        clock: the clock for run stamps and the default `as_of` (default: the system clock).

    Raises:
        ReconError: on an unknown check or a database failure (the failure is logged as a failed run).
    """
    clock = clock or SystemClock()
    names = _select(checks)
    moment = as_of or utcnow(clock)
    started_at, t0 = utcnow(clock), clock.now()
    try:
        with recon_store.transaction(engine) as conn:
            mark = recon_store.watermark(conn)
            last = None if full else recon_store.last_ok_run(conn, account)
            since = last["watermark"] if last else None
            incremental = since is not None
            counts: dict[str, Any] = {}
            snapshot = recon_store.export_snapshot(conn)  # before any write: what the side checks read

            def inp(name: str) -> CheckInput:
                return CheckInput(conn, account, moment, since if last and name in (last["checks"] or []) else None)

            side = [n for n in names if n in SIDE_CHECKS]
            ran: dict[str, Ran] = {}
            with ThreadPoolExecutor(max_workers=max(1, len(side)), thread_name_prefix="recon") as pool:
                aside = {n: pool.submit(_run_aside, engine, snapshot, n, inp(n), clock) for n in side}
                run_id = recon_store.start_run(conn, account, moment, names, incremental, started_at, mark)
                t1 = clock.now()
                assigned = assign_wallets(conn, account, since)
                counts["_wallets"] = {"changed": assigned, "seconds": _seconds(clock.now() - t1)}
                for name in names:
                    if name not in SIDE_CHECKS:
                        ran[name] = _run(name, inp(name), clock)
                ran.update({n: future.result() for n, future in aside.items()})
            summaries: list[CheckSummary] = []
            all_findings: list[Finding] = []
            for name in names:
                report, check_since, seconds = ran[name]
                recon_store.upsert_findings(conn, account, run_id, [_row(f, account) for f in report.findings])
                recon_store.resolve_unseen(conn, account, run_id, name, report.scopes)
                summary = _summary(name, report, check_since is not None, seconds)
                summaries.append(summary)
                all_findings += report.findings
                counts[name] = {"examined": report.rows_examined, "breaks": summary.breaks,
                                "warnings": summary.warnings, "infos": summary.infos,
                                "incremental": summary.incremental, "seconds": summary.seconds}
            open_rows = recon_store.open_findings(conn, account)
            duration = _seconds(clock.now() - t0)
            breaks = sum(1 for r in open_rows if r["severity"] == "break")
            recon_store.finish_run(conn, run_id, status="ok", finished_at=utcnow(clock), findings=len(all_findings),
                                   breaks=breaks, rows_examined=sum(s.rows_examined for s in summaries),
                                   duration=duration, counts=counts)
    except KrakenEtlError:
        raise
    except Exception as exc:  # a database failure: log it as a failed run, say it in one line
        if type(exc).__module__.startswith(("sqlalchemy", "psycopg")):
            recon_store.record_failure(engine, account, moment, names, started_at, utcnow(clock), str(exc))
            raise ReconError(f"reconciliation of {account!r} failed: {str(exc).splitlines()[0]}") from exc
        raise
    return ReconResult(run_id, account, moment, tuple(summaries), tuple(_finding(r) for r in open_rows), duration,
                       incremental, assigned)
