"""Balance snapshots: Balance, BalanceEx and TradeBalance as they are now, stored with one `taken_at`.

TradeBalance is Kraken's own valuation of the account (`eb`) in the account's reporting currency where
Kraken values in it, else in USD; the `valuation` reconciliation check compares it with ours.
"""

from __future__ import annotations

import logging

from kraken_etl.core.balance import parse_balance, parse_balance_ex
from kraken_etl.core.clock import utcnow
from kraken_etl.core.results import JobResult
from kraken_etl.core.tradebalance import parse_trade_balance, trade_balance_asset
from kraken_etl.db.quarantine import insert_balances
from kraken_etl.db.runs import Engine, insert_run
from kraken_etl.db.valuation import account_currency, insert_trade_balance
from kraken_etl.jobs.runlog import RunTimer, log_failure
from kraken_etl.jobs.streams import BALANCES
from kraken_etl.kraken.calls import BALANCE, BALANCE_EX, TRADE_BALANCE
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.errors import KrakenError

log = logging.getLogger(__name__)


def snapshot_balances(*, client: KrakenClient, engine: Engine, account: str,
                      currency: str | None = None) -> JobResult:
    """Store Balance, BalanceEx and TradeBalance as they are now; the run is logged with the rows.

    `currency` is the reporting currency TradeBalance is asked in (default: the account's, as the last
    refresh wrote it from the settings; USD before any).

    Raises:
        KrakenError: from the client; MalformedRecord when an amount is not a decimal.
    """
    timer = RunTimer.start(client.clock, client)
    result = JobResult(account, BALANCES, "snapshot", pages=3)
    try:
        if currency is None:
            with engine.connect() as conn:
                currency = account_currency(conn, account)
        asset = trade_balance_asset(currency)
        taken_at = utcnow(client.clock)
        result.window_end = taken_at
        balance = parse_balance(client.private(BALANCE), taken_at)
        balance_ex = parse_balance_ex(client.private(BALANCE_EX), taken_at)
        trade_balance = None
        try:  # Kraken's valuation is a cross-check: the balances are stored without it
            trade_balance = parse_trade_balance(client.private(TRADE_BALANCE, {"asset": asset}), asset, taken_at)
        except KrakenError as exc:
            log.warning("%s: TradeBalance in %s failed, balances stored without it: %s", account, asset, exc)
        result.fetched = len(balance) + len(balance_ex) + (trade_balance is not None)
        with engine.begin() as conn:
            result.inserted = result.loaded = insert_balances(conn, account, balance + balance_ex) + (
                insert_trade_balance(conn, account, trade_balance) if trade_balance is not None else 0)
            result.run_id = insert_run(conn, timer.finish(result))
    except Exception as exc:
        log_failure(engine, timer, result, exc)
        raise
    return result
