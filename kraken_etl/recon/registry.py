"""`CHECKS`: the checks by name, in the order a run executes them.

`ws_vs_rest` is the listener's check (`kraken_etl.listen.check.check_ws_vs_rest`: every WebSocket execution
and balance update appears in REST data after the next sync, and REST rows from while the listener ran were
seen by it). It reports nothing for an account the listener never watched.
"""

from __future__ import annotations

from kraken_etl.recon.chain import check_balance_chain
from kraken_etl.recon.check import Check, CheckInput, CheckReport
from kraken_etl.recon.coverage import check_coverage
from kraken_etl.recon.links import check_order_trades, check_trade_ledger
from kraken_etl.recon.snapshot import check_ledger_vs_exchange


def check_ws_vs_rest(inp: CheckInput) -> CheckReport:
    """The listener's check, imported when it runs (the listener's module imports recon's types)."""
    from kraken_etl.listen.check import check_ws_vs_rest as check

    return check(inp)


CHECKS: dict[str, Check] = {
    "balance_chain": check_balance_chain,
    "ledger_vs_exchange": check_ledger_vs_exchange,
    "trade_ledger": check_trade_ledger,
    "order_trades": check_order_trades,
    "coverage": check_coverage,
    "ws_vs_rest": check_ws_vs_rest,
}


def register(name: str, check: Check) -> None:
    """Add a check (the listener's `ws_vs_rest`, for one).

    Raises:
        ValueError: when the name is taken by another function.
    """
    if CHECKS.get(name, check) is not check:
        raise ValueError(f"a different check is already registered as {name!r}")
    CHECKS[name] = check
