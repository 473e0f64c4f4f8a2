"""Check `lots`: the books' open lots equal Kraken's balances, and no disposal went beyond the lots held.

For every stored computation of the books that includes the account (`kraken-etl pnl` stores them), at each
month end and at the check's moment, the quantity in open lots per asset must equal Kraken's running
balance (`kraken_etl.db.recon_lots`): a difference is a break at the earliest cut-off it appears, naming the
chains' last entries there. A disposal or withdrawal larger than the lots held (a ledger row missing from
the copy shows this way) is a break naming its entries and the shortfall. Nothing stored: nothing examined.
"""

from __future__ import annotations

from kraken_etl.db import recon_lots
from kraken_etl.recon.check import CheckInput, CheckReport
from kraken_etl.recon.finding import Finding

NAME = "lots"


def check_lots(given: CheckInput) -> CheckReport:
    findings = []
    for r in recon_lots.lot_differences(given.conn, given.account, given.as_of):
        findings.append(Finding(
            check=NAME, kind="lots_vs_balance", severity="break", asset=r.asset, expected=r.expected,
            actual=r.actual, difference=r.actual - r.expected,
            source_ids=(f"books:{r.entity}/{r.method}/{r.currency}", *r.ids),
            scope=f"{r.entity}/{r.method}/{r.currency}", at=r.cut.isoformat(),
            message=(f"{r.entity} ({r.method}, {r.currency}): open lots of {r.asset} are {r.actual} at "
                     f"{r.cut.isoformat()}, Kraken's balance is {r.expected}")))
    for s in recon_lots.lot_shortfalls(given.conn, given.account, given.as_of):
        findings.append(Finding(
            check=NAME, kind="shortfall", severity="break", asset=s.asset,
            source_ids=(f"books:{s.entity}/{s.method}/{s.currency}", *s.entries),
            scope=f"{s.entity}/{s.method}/{s.currency}", at=s.at.isoformat(),
            message=f"{s.entity} ({s.method}, {s.currency}): {s.detail}"))
    return CheckReport(rows_examined=recon_lots.holdings_examined(given.conn, given.account), findings=findings)
