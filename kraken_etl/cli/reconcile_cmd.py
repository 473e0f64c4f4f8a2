"""`kraken-etl reconcile`: prove the stored copy against Kraken's own numbers; `reconcile ack`: note a finding.

``kraken-etl reconcile [--account A]… [--as-of TS] [--check NAME]… [--full] [--json] [--fail-on-break]``
prints, per account, a table of checks (rows examined, breaks, warnings, info), the open findings (with
their acknowledgements) and a line counting them by severity. Exit codes: 0 done (clean, or breaks without
--fail-on-break), 1 breaks with --fail-on-break, 2 error (an --account with no stored data among them:
nothing is run or recorded), 3 nothing to reconcile with --fail-on-break (no stored data at all).
``kraken-etl reconcile ack ID… --note TEXT`` (or ``--account A`` / ``--check NAME`` for every open finding
of them) acknowledges findings; every note is kept with its time. Accounts default to every account with
stored rows; no Kraken key is needed.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from kraken_etl.cli.common import checked_labels, console, err_console, fail, handle_errors, parse_as_of, settings
from kraken_etl.cli.output import json_text
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.core.period import describe_as_of
from kraken_etl.recon.registry import CHECKS

app = typer.Typer(help="Reconcile the stored copy against Kraken's numbers (and acknowledge findings).",
                  invoke_without_command=True, no_args_is_help=False)


def _as_json(results: list[Any]) -> str:
    runs = []
    for r in results:
        runs.append({
            "run_id": r.run_id, "account": r.account, "as_of": r.as_of, "incremental": r.incremental,
            "duration_seconds": r.duration_seconds, "breaks": r.breaks,
            "checks": [{"name": c.name, "rows_examined": c.rows_examined, "breaks": c.breaks,
                        "warnings": c.warnings, "infos": c.infos, "incremental": c.incremental} for c in r.checks],
            "open_findings": [{"id": f.id, "check": f.check, "kind": f.kind, "severity": f.severity,
                               "asset": f.asset, "wallet": f.wallet, "expected": f.expected, "actual": f.actual,
                               "difference": f.difference, "source_ids": list(f.source_ids), "message": f.message,
                               "acknowledged": f.ack_note,
                               "acknowledgements": [{"at": at, "note": note} for at, note in f.acks]}
                              for f in r.open_findings],
            "open": {"breaks": r.breaks, "warnings": sum(1 for f in r.open_findings if f.severity == "warning"),
                     "info": sum(1 for f in r.open_findings if f.severity == "info"),
                     "acknowledged": sum(1 for f in r.open_findings if f.acks)},
        })
    return json_text({"runs": runs})


def _print(result: Any) -> None:
    mode = "incremental" if result.incremental else "full"
    checks = Table(title=f"reconciliation of {result.account} as of {result.as_of:%Y-%m-%d %H:%M:%S} UTC "
                         f"(run {result.run_id}, {mode}, {result.duration_seconds:.3f} s)")
    for column in ("check", "rows examined", "breaks", "warnings", "info"):
        checks.add_column(column, justify="left" if column == "check" else "right")
    for c in result.checks:
        checks.add_row(c.name, f"{c.rows_examined:,}", str(c.breaks), str(c.warnings), str(c.infos))
    console.print(checks)
    verdict = "clean" if result.breaks == 0 else "BREAKS"
    if result.open_findings:
        found = Table(title=f"open findings of {result.account}")
        for column in ("id", "severity", "check", "asset", "wallet", "difference", "what", "acknowledged"):
            found.add_column(column, overflow="fold")
        for f in result.open_findings:
            acked = "" if not f.acks else f"{f.acks[-1][1]} ({f.acks[-1][0][:16]}" + (
                f", {len(f.acks)} notes)" if len(f.acks) > 1 else ")")
            found.add_row(str(f.id), f.severity, f.check, f.asset or "", f.wallet or "",
                          "" if f.difference is None else str(f.difference), f.message, acked)
        console.print(found)
    console.print(f"{result.account}: {verdict}; open: {result.open_counts()}", highlight=False)


@app.callback()
def reconcile(
    ctx: typer.Context,
    account: Annotated[list[str] | None, typer.Option(
        "--account", "-a", help="Account label (repeatable). Default: every account with stored rows.",
        callback=checked_labels)] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Reconcile as of the end of this day, inclusive (YYYY-MM-DD), or as of this moment "
        "(ISO 8601); UTC. Default: now.")] = None,
    check: Annotated[list[str] | None, typer.Option(
        "--check", "-c", help=f"Check to run (repeatable): {', '.join(CHECKS)}. Default: all.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Re-examine everything (default: incremental "
                                       "after a successful run).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    fail_on_break: Annotated[bool, typer.Option("--fail-on-break", help="Exit 1 when a break is open.")] = False,
) -> None:
    """Run the reconciliation checks and show the open findings."""
    if ctx.invoked_subcommand is not None:
        return
    _run(account, as_of, check, full, as_json, fail_on_break)


@handle_errors
def _run(account: list[str] | None, as_of: str | None, check: list[str] | None, full: bool, as_json: bool,
         fail_on_break: bool) -> None:
    from kraken_etl.jobs.reconcile import reconcile_accounts

    moment = parse_as_of(as_of) if as_of else None
    if moment is not None:  # printed back exactly; stdout stays JSON with --json
        (err_console if as_json else console).print(f"as of: {describe_as_of(moment)}", highlight=False)
    try:
        results = reconcile_accounts(account, as_of=moment, checks=check, full=full, settings=settings())
    except KrakenEtlError as exc:  # an --account with no stored data, an unknown check: nothing was run
        raise fail(str(exc), code=2) from None
    if as_json:
        typer.echo(_as_json(results))
    else:
        for result in results:
            _print(result)
    if not results:
        (err_console if as_json else console).print("nothing to reconcile: no stored ledger entries or trades")
        if fail_on_break:  # a gate that passes with no data proves nothing
            raise typer.Exit(NOTHING_TO_RECONCILE)
    if fail_on_break and any(r.breaks for r in results):
        raise typer.Exit(1)


NOTHING_TO_RECONCILE = 3  # the exit code of --fail-on-break when no account has stored data


@app.command("ack")
@handle_errors
def ack(
    finding_ids: Annotated[list[int] | None, typer.Argument(
        help="Finding ids (first column of the findings table). Or --account/--check for a set.",
        show_default=False)] = None,
    note: Annotated[str, typer.Option("--note", "-n", help="Why it is acceptable (kept with its time; "
                                      "earlier notes are kept too).")] = "",
    account: Annotated[str | None, typer.Option(
        "--account", "-a", callback=checked_labels,
        help="Acknowledge every open finding of this account (with --check: of both).")] = None,
    check: Annotated[str | None, typer.Option(
        "--check", "-c", help="Acknowledge every open finding of this check.")] = None,
) -> None:
    """Acknowledge open findings with a note (they stay listed while they hold; resolved ones are refused)."""
    from kraken_etl.db.engine import effective_url, make_engine
    from kraken_etl.recon import acknowledge

    try:
        engine = make_engine(effective_url(settings()))
    except KrakenEtlError as exc:
        raise fail(str(exc), code=2) from None
    try:
        done = acknowledge(engine, note, ids=finding_ids or (), account=account, check=check)
    except KrakenEtlError as exc:
        raise fail(str(exc), code=2) from None
    finally:
        engine.dispose()
    for a in done:
        kept = f" (its {a.earlier_notes} earlier note(s) kept)" if a.earlier_notes else ""
        console.print(f"finding {a.finding_id} ({a.account}, {a.severity}) acknowledged{kept}")
    if len(done) > 1:
        console.print(f"{len(done)} findings acknowledged", highlight=False)
