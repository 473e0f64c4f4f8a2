"""`kraken-etl nightly [--account A]… [--since DAY] [--fan-out [--rerun-failed]]`: the nightly run, through the
same Prefect flow as the `nightly` deployment (`flows/nightly.py`), or with `--fan-out` as the `nightly-fleet`
deployment runs it (`flows/fleet.py`: one `nightly-account` run per batch of accounts, taken by the Prefect server's
workers on any machine; this process only starts them and waits).

Per account, under its lock: sync every stream to one signpost with the balance snapshot, reconcile, refresh
the reporting schema, write the HTML report; one markdown artifact for the run (on the Prefect server of
PREFECT_API_URL, or Prefect's temporary local one). Prints one line per account; Prefect's own log lines and
tracebacks stay off the terminal. Exit codes: 0 every account ok, 1 an account failed (one `error:` line
naming each), 2 a configuration problem (unknown account, unreachable database).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kraken_etl.cli.common import console, database_url, fail, handle_errors, one_line, parse_date, settings


@handle_errors
def nightly(
    account: Annotated[list[str] | None, typer.Option(
        "--account", "-a", help="Account label (repeatable). Default: every configured account.")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Where a stream with no bookmark yet starts (after an export backfill; YYYY-MM-DD or "
        "ISO 8601, UTC). Ignored where a bookmark exists.")] = None,
    fan_out: Annotated[bool, typer.Option(
        "--fan-out", help="One run of the nightly-account deployment per batch of KRAKEN_FLEET_BATCH_SIZE accounts, "
        "taken by the workers of the Prefect server at PREFECT_API_URL (KRAKEN_FLEET_CONCURRENCY runs at once); this "
        "command waits for all.")] = False,
    rerun_failed: Annotated[bool, typer.Option(
        "--rerun-failed", help="With --fan-out: start only the accounts the last fan-out did not complete.")] = False,
) -> None:
    """Run the nightly flow now: sync, balances, reconcile, reporting refresh and report, per account."""
    import os

    from flows import prefect_api

    current = settings()
    labels = [a.label for a in current.select_accounts(account)]  # an unknown label: one line, exit 2
    start = parse_date(since, "--since").isoformat() if since else None
    if rerun_failed and not fan_out:
        raise fail("--rerun-failed goes with --fan-out", code=2)
    if fan_out and not os.environ.get("PREFECT_API_URL"):
        raise fail("--fan-out needs a Prefect server with the nightly-account deployment and its workers: set "
                   "PREFECT_API_URL (docs/operations.md, \"Many accounts\")", code=2)
    database_url(current)  # reachable and migrated before Prefect starts
    prefect_api.offline(current.home)
    prefect_api.quiet_console()
    prefect_api.ensure_api()  # a temporary server that does not start is one line, not Prefect's traceback
    if fan_out:
        from flows.fleet import nightly_fleet_flow

        state = nightly_fleet_flow(accounts=account or None, since=start, rerun_failed=rerun_failed,
                                   return_state=True)
    else:
        from flows.nightly import nightly_flow

        state = nightly_flow(accounts=labels, since=start, return_state=True)
    if not state.is_completed():
        failure = state.result(raise_on_failure=False)
        raise fail(one_line(failure) if isinstance(failure, BaseException) else str(failure), code=1)
    for outcome in state.result().values():
        console.print(_fleet_line(outcome) if fan_out else _line(outcome), highlight=False, soft_wrap=True)


def _fleet_line(outcome: dict[str, Any]) -> str:
    """`main: ok in 12.3 s (run 0b6f…)` or `main: done before (run …)`."""
    run = f" (run {outcome['run_id']})" if outcome["run_id"] else ""
    took = f" in {outcome['seconds']:.1f} s" if outcome["status"] == "ok" else ""
    return f"{outcome['account']}: {outcome['status']}{took}{run}"


def _line(outcome: dict[str, Any]) -> str:
    """`main: ok in 12.3 s; ledgers +12, trades +3, …; reconcile: 0 open finding(s); report: <path>`."""
    added = ", ".join(f"{r['stream']} +{r['inserted']:,}" for r in outcome["sync"] if r["stream"] != "balances")
    steps = "; ".join(f"{s['name']}: {s['path'] or s['detail']}" if s["status"] == "ok"
                      else f"{s['name']}: {s['status']} ({s['detail']})" for s in outcome["steps"])
    return f"{outcome['account']}: {outcome['status']} in {outcome['seconds']:.1f} s; {added}; {steps}"
