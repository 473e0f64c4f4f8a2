"""The WS <-> REST reconciliation check: the listener and the REST sync are two witnesses of one account.

`check_ws_rest(engine, account)` returns findings (plain dicts with the reconciliation registry's keys:
check_name, kind, severity, asset, wallet, expected, actual, difference, source_ids, message, details):

- ``ws_balance_missing_in_rest`` (break): a balance update the listener stored whose ledger id is not
  in the REST ledger although REST is synced past its time;
- ``ws_trade_missing_in_rest`` (break): a fill (exec_id) the listener stored that REST trades lack;
- ``ws_rest_amount_mismatch`` (break): the same ledger id with a different amount or fee;
- ``rest_ledger_unseen_by_ws`` / ``rest_trade_unseen_by_ws`` (warning): a REST row from a time the
  listener was running that it never saw, outside every filled gap (a gap it did not notice).

The SQL lives in `kraken_etl.db.wscheck.check_inputs`; this module only shapes findings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kraken_etl.db.runs import Engine
from kraken_etl.db.wscheck import CheckInputs, check_inputs
from kraken_etl.recon.check import CheckInput, CheckReport
from kraken_etl.recon.finding import Finding

CHECK_NAME = "ws_rest"


def _finding(kind: str, severity: str, row: dict[str, Any], message: str, *, expected: Decimal | None = None,
             actual: Decimal | None = None, details: dict[str, Any] | None = None) -> dict[str, Any]:
    difference = actual - expected if expected is not None and actual is not None else None
    return {
        "check_name": CHECK_NAME, "kind": kind, "severity": severity, "asset": row.get("asset"),
        "wallet": row.get("wallet"), "expected": expected, "actual": actual, "difference": difference,
        "source_ids": [str(row["id"])], "message": message,
        "details": {"time": row["timestamp"].isoformat(), **(details or {})},
    }


def check_ws_rest(engine: Engine, account: str, *, margin: float = 5.0) -> list[dict[str, Any]]:
    """Compare what the listener stored with what REST holds (see the module docstring)."""
    with engine.connect() as conn:
        return _findings(check_inputs(conn, account, margin=margin))


def check_ws_vs_rest(inp: CheckInput) -> CheckReport:
    """The same comparison in the reconciliation runner's shape (registered as ``ws_vs_rest``): it runs
    with every reconcile, on the run's connection; each finding's scope is the id it names."""
    data = check_inputs(inp.conn, inp.account)
    findings = [
        Finding(check="ws_vs_rest", kind=f["kind"], severity=f["severity"], message=f["message"],
                asset=f["asset"], wallet=f["wallet"], expected=f["expected"], actual=f["actual"],
                difference=f["difference"], source_ids=tuple(f["source_ids"]), details=f["details"],
                at=f["details"].get("time"))
        for f in _findings(data)
    ]
    return CheckReport(rows_examined=data.examined, findings=findings)


def _findings(data: CheckInputs) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = []
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


CHECKS = {CHECK_NAME: check_ws_rest}
