"""`kraken-etl reconcile`: prove the stored copy against Kraken's own numbers; `reconcile ack`: note a finding.

``kraken-etl reconcile [--account A]… [--as-of TS] [--check NAME]… [--full] [--json] [--fail-on-break]``
prints, per account, a table of checks (rows examined, breaks, warnings, info) and the open findings.
Exit codes: 0 done (clean, or breaks without --fail-on-break), 1 breaks with --fail-on-break, 2 error.
``kraken-etl reconcile ack ID --note TEXT`` acknowledges one finding. Accounts default to every account
with stored rows; no Kraken key is needed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from kraken_etl.cli.common import checked_labels, console, fail, handle_errors, parse_date, settings
from kraken_etl.core.errors import KrakenEtlError

app = typer.Typer(help="Reconcile the stored copy against Kraken's numbers (and acknowledge findings).",
                  invoke_without_command=True, no_args_is_help=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


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
                               "acknowledged": f.ack_note} for f in r.open_findings],
        })
    return orjson.dumps({"runs": runs}, default=_json_default, option=orjson.OPT_INDENT_2).decode()


def _print(result: Any) -> None:
    mode = "incremental" if result.incremental else "full"
    checks = Table(title=f"reconciliation of {result.account} as of {result.as_of:%Y-%m-%d %H:%M:%S} UTC "
                         f"(run {result.run_id}, {mode}, {result.duration_seconds:.3f} s)")
    for column in ("check", "rows examined", "breaks", "warnings", "info"):
        checks.add_column(column, justify="left" if column == "check" else "right")
    for c in result.checks:
        checks.add_row(c.name, f"{c.rows_examined:,}", str(c.breaks), str(c.warnings), str(c.infos))
    console.print(checks)
    if not result.open_findings:
        console.print(f"{result.account}: clean, no open findings")
        return
    found = Table(title=f"open findings of {result.account}")
    for column in ("id", "severity", "check", "asset", "wallet", "difference", "what"):
        found.add_column(column, overflow="fold")
    for f in result.open_findings:
        found.add_row(str(f.id), f.severity, f.check, f.asset or "", f.wallet or "",
                      "" if f.difference is None else str(f.difference),
                      f.message + (f" [acknowledged: {f.ack_note}]" if f.ack_note else ""))
    console.print(found)


@app.callback()
def reconcile(
    ctx: typer.Context,
    account: Annotated[list[str] | None, typer.Option(
        "--account", "-a", help="Account label (repeatable). Default: every account with stored rows.",
        callback=checked_labels)] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Reconcile as of this moment (YYYY-MM-DD or ISO 8601, UTC). Default: now.")] = None,
    check: Annotated[list[str] | None, typer.Option(
        "--check", "-c", help="Check to run (repeatable): balance_chain, ledger_vs_exchange, trade_ledger, "
        "order_trades, coverage. Default: all.")] = None,
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
    from kraken_etl.db import migrate
    from kraken_etl.db.engine import effective_url, make_engine
    from kraken_etl.db.recon_store import stored_accounts
    from kraken_etl.recon import reconcile as run

    moment = parse_date(as_of, "--as-of") if as_of else None
    try:
        url = effective_url(settings())
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            labels = account or stored_accounts(engine)
            results = [run(engine, label, as_of=moment, checks=check, full=full) for label in labels]
        finally:
            engine.dispose()
    except KrakenEtlError as exc:
        raise fail(str(exc), code=2) from None
    if as_json:
        typer.echo(_as_json(results))
    else:
        for result in results:
            _print(result)
        if not results:
            console.print("nothing to reconcile: no stored ledger entries or trades")
    if fail_on_break and any(r.breaks for r in results):
        raise typer.Exit(1)


@app.command("ack")
@handle_errors
def ack(
    finding_id: Annotated[int, typer.Argument(help="The finding's id (first column of the findings table).")],
    note: Annotated[str, typer.Option("--note", "-n", help="Why it is acceptable (kept with the finding).")],
) -> None:
    """Acknowledge one finding with a note (it stays listed while it holds)."""
    from kraken_etl.db.engine import effective_url, make_engine
    from kraken_etl.recon import acknowledge

    try:
        engine = make_engine(effective_url(settings()))
    except KrakenEtlError as exc:
        raise fail(str(exc), code=2) from None
    try:
        acknowledge(engine, finding_id, note)
    except KrakenEtlError as exc:
        raise fail(str(exc), code=2) from None
    finally:
        engine.dispose()
    console.print(f"finding {finding_id} acknowledged")
