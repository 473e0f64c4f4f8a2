"""The balances job stores Kraken's TradeBalance with each snapshot, in the account's reporting currency."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine, text

from kraken_etl.db.reporting import write_valuation_currencies
from kraken_etl.jobs.balances import snapshot_balances
from kraken_etl.kraken.calls import TRADE_BALANCE
from tests.pipeline.conftest import InProcessSim


def _stored(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT t.asset, t.eb, t.tb, t.mf, t.raw ->> 'eb', t.taken_at = (SELECT max(taken_at) "
            "FROM kraken.balance_snapshot b WHERE b.account = t.account) "
            "FROM kraken.trade_balance t WHERE t.account = 'main' ORDER BY t.taken_at"))]


def test_trade_balance_is_stored_with_the_snapshot_in_the_reporting_currency(
        sim: InProcessSim, engine: Engine) -> None:
    client = sim.client()
    snapshot_balances(client=client, engine=engine, account="main")
    (usd,) = _stored(engine)
    assert usd[0] == "ZUSD" and usd[5] is True  # default currency, same moment as the balances
    assert usd[1] == Decimal(usd[4]) and usd[1] > 0 and usd[2] == usd[1]  # Kraken's text, exactly
    answer = client.private(TRADE_BALANCE, {"asset": "ZUSD"})
    assert Decimal(answer["eb"]) == usd[1]

    with engine.begin() as conn:
        write_valuation_currencies(conn, {"main": "EUR"}, "USD")
    sim.clock.advance(60)
    snapshot_balances(client=client, engine=engine, account="main")
    eur = _stored(engine)[1]
    assert eur[0] == "ZEUR" and eur[5] is True
    assert eur[1] == Decimal(client.private(TRADE_BALANCE, {"asset": "ZEUR"})["eb"])

    sim.clock.advance(60)
    snapshot_balances(client=client, engine=engine, account="main", currency="DOGE")  # Kraken values no DOGE
    assert _stored(engine)[2][0] == "ZUSD"
