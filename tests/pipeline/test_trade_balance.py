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


def test_trade_balance_is_also_asked_in_the_most_valuable_held_assets(sim: InProcessSim, engine: Engine) -> None:
    """With market data stored, the snapshot asks TradeBalance in the held assets our prices value most (ETH
    also prices ETH2.S), each answer stored as Kraken sent it; none without prices, at most the limit."""
    from datetime import UTC, datetime, timedelta

    from kraken_etl.db.market import seed_identities

    client = sim.client()
    snapshot_balances(client=client, engine=engine, account="main", denominations_max=8)
    assert [r[0] for r in _stored(engine)] == ["ZUSD"]  # no market data: no price to choose by

    hour = datetime.fromtimestamp(sim.clock.now(), UTC).replace(minute=0, second=0, microsecond=0)
    with engine.begin() as conn:
        seed_identities(conn, ["XXBT", "XETH", "ETH2.S"])
        for pair, base, price in (("XXBTZUSD", "BTC", "60000"), ("XETHZUSD", "ETH", "3000")):
            conn.execute(text(
                "INSERT INTO kraken.price (pair, interval, start, base, quote, open, high, low, close, volume, "
                "source, complete) VALUES (:p, 60, :s, :b, 'USD', :c, :c, :c, :c, 1, 'ohlc', false)"),
                {"p": pair, "s": hour - timedelta(hours=1), "b": base, "c": Decimal(price)})
    held = sim.truth("balances")["balance"]
    value = {"XXBT": Decimal(held.get("XXBT", 0)) * 60000,
             "XETH": sum((Decimal(held.get(c, 0)) for c in ("XETH", "ETH2", "ETH2.S")), Decimal(0)) * 3000}
    sim.clock.advance(60)
    snapshot_balances(client=client, engine=engine, account="main", denominations_max=8)
    with engine.connect() as conn:
        rows = {r.asset: r.eb for r in conn.execute(text(
            "SELECT asset, eb FROM kraken.trade_balance WHERE taken_at = (SELECT max(taken_at) "
            "FROM kraken.trade_balance)"))}
    assert set(rows) == {"ZUSD", "XXBT", "XETH"}
    for code, eb in rows.items():
        assert eb == Decimal(client.private(TRADE_BALANCE, {"asset": code})["eb"])

    sim.clock.advance(60)
    snapshot_balances(client=client, engine=engine, account="main", denominations_max=1)
    with engine.connect() as conn:
        one = [r[0] for r in conn.execute(text(
            "SELECT asset FROM kraken.trade_balance WHERE taken_at = (SELECT max(taken_at) "
            "FROM kraken.trade_balance) ORDER BY asset"))]
    assert one == sorted(["ZUSD", max(value, key=lambda k: value[k])])
