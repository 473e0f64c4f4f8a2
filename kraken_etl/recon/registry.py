"""`CHECKS`: the checks by name, in the order a run executes them.

`ws_vs_rest` compares what the listener stored with REST (`kraken_etl.recon.wsrest`); `valuation` Kraken's
TradeBalance with our valued balances (`kraken_etl.recon.valuation`); `positions` Kraken's open positions
and margin state with the trades and ledger (`kraken_etl.recon.positions`).
"""

from __future__ import annotations

from kraken_etl.recon.chain import check_balance_chain
from kraken_etl.recon.check import Check
from kraken_etl.recon.coverage import check_coverage
from kraken_etl.recon.links import check_order_trades, check_trade_ledger
from kraken_etl.recon.lots import check_lots
from kraken_etl.recon.positions import check_positions
from kraken_etl.recon.snapshot import check_ledger_vs_exchange
from kraken_etl.recon.valuation import check_valuation
from kraken_etl.recon.wsrest import check_ws_vs_rest

CHECKS: dict[str, Check] = {
    "balance_chain": check_balance_chain,
    "ledger_vs_exchange": check_ledger_vs_exchange,
    "trade_ledger": check_trade_ledger,
    "order_trades": check_order_trades,
    "positions": check_positions,
    "coverage": check_coverage,
    "ws_vs_rest": check_ws_vs_rest,
    "lots": check_lots,
    "valuation": check_valuation,
}

