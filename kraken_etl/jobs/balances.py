"""Balance snapshots: Balance, BalanceEx and TradeBalance as they are now, stored with one `taken_at`; with
them, when TradeBalance shows margin in use (`m` > 0), Kraken's OpenPositions (the `positions` check).

TradeBalance is Kraken's own valuation of the account (`eb`) in the account's reporting currency where
Kraken values in it, else in USD; the `valuation` reconciliation check compares it with ours. The same
moment is also asked in up to `denominations` of the held assets (the most valuable by our prices, each
worth at least MIN_SHARE of the account): eb in the currency over eb in asset A is Kraken's own price of A,
which lets the check name the asset behind a difference. Each is one more private call (cost 1, paced by
the call counter like every call); an asset Kraken refuses as a denomination is skipped.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from kraken_etl.core.balance import parse_balance, parse_balance_ex
from kraken_etl.core.clock import utcnow
from kraken_etl.core.position import OpenPosition, parse_open_positions
from kraken_etl.core.results import JobResult
from kraken_etl.core.tradebalance import TradeBalance, parse_trade_balance, trade_balance_asset
from kraken_etl.db.positions import insert_open_positions
from kraken_etl.db.quarantine import insert_balances
from kraken_etl.db.runs import Engine, insert_run
from kraken_etl.db.valuation import account_currency, denominations, insert_trade_balance
from kraken_etl.jobs.runlog import RunTimer, log_failure
from kraken_etl.jobs.streams import BALANCES
from kraken_etl.kraken.calls import BALANCE, BALANCE_EX, OPEN_POSITIONS, TRADE_BALANCE
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.errors import KrakenError

log = logging.getLogger(__name__)

DEFAULT_DENOMINATIONS = 8
MIN_SHARE = Decimal("0.01")  # an asset worth less than 1 % of the account is not worth a call


def _open_positions(client: KrakenClient, account: str, trade_balances: list[TradeBalance],
                    taken_at: datetime) -> list[OpenPosition] | None:
    """Kraken's open positions when TradeBalance says margin is in use (`m` > 0), else None (not asked: a
    spot account never pays the call). A refusal (the key lacks "Query Open Orders & Trades") is logged and
    the snapshot is stored without them."""
    used = trade_balances[0].margin.get("m") if trade_balances else None
    if not used:
        return None
    try:
        return parse_open_positions(client.private(OPEN_POSITIONS, {"docalcs": "true"}), taken_at)
    except KrakenError as exc:
        log.warning("%s: OpenPositions failed, balances stored without them: %s", account, exc)
        return None


def snapshot_balances(*, client: KrakenClient, engine: Engine, account: str,
                      currency: str | None = None, denominations_max: int = DEFAULT_DENOMINATIONS) -> JobResult:
    """Store Balance, BalanceEx and TradeBalance as they are now; the run is logged with the rows.

    `currency` is the reporting currency TradeBalance is asked in (default: the account's, as the last
    refresh wrote it from the settings; USD before any); `denominations_max` how many held assets it is
    also asked in (KRAKEN_TRADE_BALANCE_DENOMINATIONS; 0: none).

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
        trade_balances = []
        try:  # Kraken's valuation is a cross-check: the balances are stored without it
            trade_balances.append(
                parse_trade_balance(client.private(TRADE_BALANCE, {"asset": asset}), asset, taken_at))
        except KrakenError as exc:
            log.warning("%s: TradeBalance in %s failed, balances stored without it: %s", account, asset, exc)
        if trade_balances and denominations_max > 0:
            held: dict[str, Decimal] = {}
            for b in balance:
                held[b.asset] = held.get(b.asset, Decimal(0)) + b.balance
            with engine.connect() as conn:
                codes = denominations(conn, held, currency, taken_at, denominations_max, MIN_SHARE)
            for code in codes:
                if code == asset:
                    continue
                try:
                    trade_balances.append(
                        parse_trade_balance(client.private(TRADE_BALANCE, {"asset": code}), code, taken_at))
                except KrakenError as exc:  # e.g. an asset Kraken does not value in
                    log.warning("%s: TradeBalance in %s failed, skipped: %s", account, code, exc)
            result.pages += len(trade_balances) - 1
        positions = _open_positions(client, account, trade_balances, taken_at)
        result.pages += positions is not None
        positions = positions or []
        result.fetched = len(balance) + len(balance_ex) + len(trade_balances) + len(positions)
        with engine.begin() as conn:
            result.inserted = result.loaded = insert_balances(conn, account, balance + balance_ex) + sum(
                insert_trade_balance(conn, account, tb) for tb in trade_balances) + insert_open_positions(
                conn, account, positions)
            result.run_id = insert_run(conn, timer.finish(result))
    except Exception as exc:
        log_failure(engine, timer, result, exc)
        raise
    return result
