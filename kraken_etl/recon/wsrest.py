"""The WS <-> REST check (`ws_vs_rest`): the listener and the REST sync are two witnesses of one account.

Every WebSocket execution and balance update must appear in REST data after the next sync, and REST rows
from while the listener ran must have been seen by it. It reports nothing for an account the listener
never watched. Kinds:

- ``ws_balance_missing_in_rest`` (break): a balance update the listener stored whose ledger id is not
  in the REST ledger although REST is synced past its time;
- ``ws_trade_missing_in_rest`` (break): a fill (exec_id) the listener stored that REST trades lack;
- ``ws_rest_amount_mismatch`` (break): the same ledger id with a different amount or fee;
- ``rest_ledger_unseen_by_ws`` / ``rest_trade_unseen_by_ws`` (warning): a REST row from a time the
  listener was reading that it never saw, outside every filled gap (a gap it did not notice).

The SQL lives in `kraken_etl.db.wscheck.check_inputs`; this module only shapes findings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kraken_etl.db.wscheck import CheckInputs, check_inputs
from kraken_etl.jobs.streams import LEDGERS, TRADES
from kraken_etl.recon.check import CheckInput, CheckReport
from kraken_etl.recon.finding import Finding, Severity

CHECK_NAME = "ws_vs_rest"


def check_ws_vs_rest(inp: CheckInput) -> CheckReport:
    """The comparison on the run's connection; each finding's scope is the id it names."""
    data = check_inputs(inp.conn, inp.account, ledgers=LEDGERS.name, trades=TRADES.name)
    return CheckReport(rows_examined=data.examined, findings=ws_vs_rest_findings(data))


def ws_vs_rest_findings(data: CheckInputs) -> list[Finding]:
    """The findings the rows `check_inputs` selected stand for (see the module docstring)."""
    findings: list[Finding] = []
    for row in data.ws_balances_not_in_rest:
        findings.append(_finding("ws_balance_missing_in_rest", "break", row,
                                 f"ledger {row['id']} seen by the listener is not in the REST ledger",
                                 expected=row["amount"], actual=Decimal(0)))
    for row in data.ws_trades_not_in_rest:
        findings.append(_finding("ws_trade_missing_in_rest", "break", row,
                                 f"trade {row['id']} seen by the listener is not in REST trades",
                                 expected=row["amount"], actual=Decimal(0)))
    for row in data.amount_mismatches:
        findings.append(_finding(
            "ws_rest_amount_mismatch", "break", row,
            f"ledger {row['id']}: WebSocket amount/fee {row['ws_amount']}/{row['ws_fee']} "
            f"but REST {row['rest_amount']}/{row['rest_fee']}",
            expected=row["rest_amount"], actual=row["ws_amount"],
            details={"rest_fee": str(row["rest_fee"]), "ws_fee": str(row["ws_fee"])}))
    for row in data.rest_ledgers_unseen:
        findings.append(_finding("rest_ledger_unseen_by_ws", "warning", row,
                                 f"ledger {row['id']} happened while the listener ran but it never saw it "
                                 "(and no gap covers it)", expected=row["amount"], actual=Decimal(0)))
    for row in data.rest_trades_unseen:
        findings.append(_finding("rest_trade_unseen_by_ws", "warning", row,
                                 f"trade {row['id']} happened while the listener ran but it never saw it "
                                 "(and no gap covers it)", expected=row["amount"], actual=Decimal(0)))
    return findings


def _finding(kind: str, severity: Severity, row: dict[str, Any], message: str, *, expected: Decimal,
             actual: Decimal, details: dict[str, Any] | None = None) -> Finding:
    at = row["timestamp"].isoformat()
    return Finding(check=CHECK_NAME, kind=kind, severity=severity, message=message, asset=row.get("asset"),
                   wallet=row.get("wallet"), expected=expected, actual=actual, difference=actual - expected,
                   source_ids=(str(row["id"]),), details={"time": at, **(details or {})}, at=at)
