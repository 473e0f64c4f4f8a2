"""Balance snapshots: Balance and BalanceEx as they are now, stored with one `taken_at` for both."""

from __future__ import annotations

from kraken_etl.core.balance import parse_balance, parse_balance_ex
from kraken_etl.core.clock import utcnow
from kraken_etl.core.results import JobResult
from kraken_etl.db.quarantine import insert_balances
from kraken_etl.db.runs import Engine, insert_run
from kraken_etl.jobs.runlog import RunTimer, log_failure
from kraken_etl.jobs.streams import BALANCES
from kraken_etl.kraken.calls import BALANCE, BALANCE_EX
from kraken_etl.kraken.client import KrakenClient


def snapshot_balances(*, client: KrakenClient, engine: Engine, account: str) -> JobResult:
    """Store Balance and BalanceEx as they are now; the run is logged with the rows.

    Raises:
        KrakenError: from the client; MalformedRecord when an amount is not a decimal.
    """
    timer = RunTimer.start(client.clock, client)
    result = JobResult(account, BALANCES, "snapshot", pages=2)
    try:
        taken_at = utcnow(client.clock)
        result.window_end = taken_at
        balance = parse_balance(client.private(BALANCE), taken_at)
        balance_ex = parse_balance_ex(client.private(BALANCE_EX), taken_at)
        result.fetched = len(balance) + len(balance_ex)
        with engine.begin() as conn:
            result.inserted = result.loaded = insert_balances(conn, account, balance + balance_ex)
            result.run_id = insert_run(conn, timer.finish(result))
    except Exception as exc:
        log_failure(engine, timer, result, exc)
        raise
    return result
