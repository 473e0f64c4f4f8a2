"""`CHECKS`: the checks by name, in the order a run executes them.

THE SEAM FOR `ws_vs_rest` (the listener's check, not built here): write
``check_ws_vs_rest(inp: CheckInput) -> CheckReport`` in `kraken_etl/listen/` (every WebSocket execution
and balance update appears in REST data after the next sync; SQL in `kraken_etl/db/`), and register it
with ``register("ws_vs_rest", check_ws_vs_rest)`` at import of the listener package, or add it to
`CHECKS` here. Its findings use ``check="ws_vs_rest"`` and a `scope` (e.g. the ledger or exec id) so
incremental runs resolve them correctly. Nothing else changes: the runner, CLI, flow and status pick it up.
"""

from __future__ import annotations

from kraken_etl.recon.chain import check_balance_chain
from kraken_etl.recon.check import Check
from kraken_etl.recon.coverage import check_coverage
from kraken_etl.recon.links import check_order_trades, check_trade_ledger
from kraken_etl.recon.snapshot import check_ledger_vs_exchange

CHECKS: dict[str, Check] = {
    "balance_chain": check_balance_chain,
    "ledger_vs_exchange": check_ledger_vs_exchange,
    "trade_ledger": check_trade_ledger,
    "order_trades": check_order_trades,
    "coverage": check_coverage,
}


def register(name: str, check: Check) -> None:
    """Add a check (the listener's `ws_vs_rest`, for one).

    Raises:
        ValueError: when the name is taken by another function.
    """
    if CHECKS.get(name, check) is not check:
        raise ValueError(f"a different check is already registered as {name!r}")
    CHECKS[name] = check
