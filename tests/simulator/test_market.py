"""The simulated market: OHLC and Trades agree, every fill lies in its minute's candle, the 720-candle window,
paging, the per-address public limit, and TradeBalance valued at the path (checked against the truth)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from starlette.applications import Starlette

from kraken_etl.core.clock import ManualClock
from kraken_etl.core.money import loads
from kraken_etl.simulator import SimConfig, create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NOW = datetime(2026, 11, 1, tzinfo=UTC).timestamp() + 5.5 * 3600  # mid-hour, mid-day


@pytest.fixture(scope="module")
def app() -> Starlette:
    return create_app(SimConfig(seed=7, ledger_entries=2_000, rate_limits=False, clock=ManualClock(NOW)))


@pytest.fixture(scope="module")
def client(app: Starlette) -> TestClient:
    return TestClient(app)


def _public(client: TestClient, method: str, **params: Any) -> Any:
    envelope = loads(client.get(f"/0/public/{method}", params=params).text)
    assert envelope["error"] == [], envelope["error"]
    return envelope["result"]


def _truth(client: TestClient, kind: str, **params: Any) -> Any:
    response = client.get(f"/_sim/truth/{kind}", params=params)
    assert response.status_code == 200, response.text
    return loads(response.text)


def test_ohlc_returns_the_latest_720_candles_whatever_since_and_the_last_is_unfinished(client: TestClient) -> None:
    hourly = _public(client, "OHLC", pair="XBTUSD", interval=60)
    rows = hourly["XXBTZUSD"]
    current = int(NOW) // 3600 * 3600
    assert len(rows) == 720 and rows[-1][0] == current and rows[0][0] == current - 719 * 3600
    assert hourly["last"] == current - 3600  # the latest committed candle
    old = _public(client, "OHLC", pair="XBTUSD", interval=60, since=0)["XXBTZUSD"]
    assert old == rows  # since cannot reach further back
    recent = _public(client, "OHLC", pair="XBTUSD", interval=60, since=current - 3 * 3600)["XXBTZUSD"]
    assert [r[0] for r in recent] == [current - 2 * 3600, current - 3600, current]
    truth = _truth(client, "prices", pair="XBTUSD", interval=60, since=current - 3600)["prices"]["XBTUSD"]
    assert [c[-1] for c in truth["candles"]] == [True, False]  # the truth flags the unfinished candle
    assert truth["candles"][0][:8] == rows[-2]


def test_ohlc_and_trades_agree(client: TestClient) -> None:
    rows = _public(client, "OHLC", pair="ETHUSD", interval=60)["XETHZUSD"]
    start, o, h, low, close, _vwap, volume, count = rows[-3]
    trades: list[list[Any]] = []
    since = (start - 1) * 10**9
    while True:
        page = _public(client, "Trades", pair="ETHUSD", since=since, count=1000)
        batch = page["XETHZUSD"]
        assert len(batch) <= 1000
        trades += batch
        if not batch or Decimal(batch[-1][2]) >= start + 3600:
            break
        assert int(page["last"]) > since
        since = int(page["last"])
    inside = [t for t in trades if start <= Decimal(t[2]) < start + 3600]
    prices = [Decimal(t[0]) for t in inside]
    assert len(inside) == count
    assert (prices[0], max(prices), min(prices), prices[-1]) == (Decimal(o), Decimal(h), Decimal(low),
                                                                  Decimal(close))
    assert sum(Decimal(t[1]) for t in inside) == Decimal(volume)
    ids = [t[6] for t in trades]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_every_fill_lies_within_its_minute_candle(client: TestClient) -> None:
    fills = _truth(client, "trades")["trades"]
    pairs = {p["key"]: name for name, p in _truth(client, "prices", interval=1440,
                                                    since=int(NOW) - 86_400)["prices"].items()}
    checked = 0
    for record in list(fills.values())[:60]:
        minute = int(record["time"]) // 60 * 60
        candle = _truth(client, "prices", pair=pairs[record["pair"]], interval=1, since=minute,
                        until=minute + 59)["prices"][pairs[record["pair"]]]["candles"]
        [row] = [c for c in candle if c[0] == minute]
        assert Decimal(row[3]) <= Decimal(record["price"]) <= Decimal(row[2]), (record, row)
        checked += 1
    assert checked == 60


def test_trade_balance_values_the_balances_at_the_path(client: TestClient, app: Starlette) -> None:
    from tests.simulator.conftest import make_kraken

    kraken = make_kraken(app)
    balances = kraken.result("Balance")
    eb = Decimal(kraken.result("TradeBalance", asset="ZUSD")["eb"])
    hour = int(NOW) // 3600 * 3600
    usd_pairs = {"XXBT": "XBTUSD", "XETH": "ETHUSD", "ETH2": "ETHUSD", "ETH2.S": "ETHUSD", "DOT": "DOTUSD",
                 "DOT.S": "DOTUSD", "USDT": "USDTZUSD", "SOL": "SOLUSD", "ZEUR": "EURUSD"}
    fixed = {"ZUSD": Decimal(1), "USD.HOLD": Decimal(1), "KFEE": Decimal("0.01")}
    low = high = Decimal(0)
    for asset, amount in balances.items():
        if asset in fixed:
            low += Decimal(amount) * fixed[asset]
            high += Decimal(amount) * fixed[asset]
            continue
        pair = usd_pairs[asset]
        [candle] = _truth(client, "prices", pair=pair, interval=60, since=hour)["prices"][pair]["candles"]
        low += Decimal(amount) * Decimal(candle[3])
        high += Decimal(amount) * Decimal(candle[2])
    assert low - Decimal("0.01") <= eb <= high + Decimal("0.01")
    assert high > low  # the check is not vacuous: crypto holdings move with the candle


def test_public_calls_are_limited_per_address() -> None:
    app = create_app(SimConfig(seed=7, ledger_entries=200, public_rate_limit=3, public_decay_per_second=0.001,
                               clock=ManualClock(NOW)))
    client = TestClient(app)
    errors = [loads(client.get("/0/public/AssetPairs").text)["error"] for _ in range(4)]
    assert errors == [[], [], [], ["EGeneral:Too many requests"]]
    assert loads(client.get("/0/public/Time").text)["error"] == []  # the clock is not market data
    app.state.sim.clock.advance(1_000)
    assert loads(client.get("/0/public/AssetPairs").text)["error"] == []


def test_market_faults_skew_one_asset_in_trade_balance_and_one_pair_candle() -> None:
    from tests.simulator.conftest import make_kraken

    spec = {"seed": 3, "trade_balance_skew": 10, "candle_skew": 10}
    faulty = create_app(SimConfig(seed=7, ledger_entries=2_000, rate_limits=False, clock=ManualClock(NOW)))
    honest = create_app(SimConfig(seed=7, ledger_entries=2_000, rate_limits=False, clock=ManualClock(NOW)))
    client = TestClient(faulty)
    named = loads(client.post("/_sim/faults", json=spec).text)
    asset, pair = named["trade_balance_skewed"]["asset"], named["candle_skewed"]["pair"]

    rows = _public(client, "OHLC", pair=pair, interval=60)
    [served] = [r for r in next(v for k, v in rows.items() if k != "last") if r[0] <= NOW < r[0] + 3600]
    [true] = _truth(client, "prices", pair=pair, interval=60, since=served[0])["prices"][pair]["candles"]
    assert Decimal(served[4]) > Decimal(true[4]) * Decimal("1.09")  # close about 10 % high
    older = _public(client, "OHLC", pair=pair, interval=60)
    assert older[next(k for k in older if k != "last")][-3][4] == _truth(
        client, "prices", pair=pair, interval=60, since=served[0] - 2 * 3600)["prices"][pair]["candles"][0][4]

    kraken, plain = make_kraken(faulty), make_kraken(honest)
    extra = Decimal(kraken.result("TradeBalance")["eb"]) - Decimal(plain.result("TradeBalance")["eb"])
    # the skewed asset's price is wrong for every code it prices (ETH prices ETH2 and ETH2.S)
    priced_by = {"XXBT": ("XXBT",), "XETH": ("XETH", "ETH2", "ETH2.S"), "DOT": ("DOT", "DOT.S"),
                 "USDT": ("USDT",), "SOL": ("SOL",), "ZEUR": ("ZEUR",)}[asset]
    held = kraken.result("Balance")
    amount = sum((Decimal(held[code]) for code in priced_by if code in held), Decimal(0))
    usd_pair = {"XXBT": "XBTUSD", "XETH": "ETHUSD", "DOT": "DOTUSD", "USDT": "USDTZUSD", "SOL": "SOLUSD",
                "ZEUR": "EURUSD"}[asset]
    [hour] = _truth(client, "prices", pair=usd_pair, interval=60, since=int(NOW) // 3600 * 3600)["prices"][
        usd_pair]["candles"]
    low, high = amount * Decimal(hour[3]) / 10, amount * Decimal(hour[2]) / 10
    assert low - Decimal("0.01") <= extra <= high + Decimal("0.01") and extra > 0
    # in every denomination: Kraken's price of the asset (eb in USD over eb in the asset) is the skewed one
    implied = Decimal(kraken.result("TradeBalance", asset="ZUSD")["eb"]) / Decimal(
        kraken.result("TradeBalance", asset=asset)["eb"])
    honest_price = Decimal(plain.result("TradeBalance", asset="ZUSD")["eb"]) / Decimal(
        plain.result("TradeBalance", asset=asset)["eb"])
    assert implied / honest_price - 1 > Decimal("0.0999"), (implied, honest_price)


def test_eur_markets_follow_the_usd_paths() -> None:
    """EUR/USD is XBT/USD over XBT/EUR and ETH/EUR is ETH/USD over EUR/USD (no arbitrage at the path), and the
    EUR pairs are listed by AssetPairs under Kraken's names."""
    client = TestClient(create_app(SimConfig(seed=7, ledger_entries=500, rate_limits=False, clock=ManualClock(NOW))))
    pairs = _public(client, "AssetPairs")
    assert {k: (v["altname"], v["base"], v["quote"]) for k, v in pairs.items() if "EUR" in k} == {
        "XXBTZEUR": ("XBTEUR", "XXBT", "ZEUR"), "ZEURZUSD": ("EURUSD", "ZEUR", "ZUSD"),
        "XETHZEUR": ("ETHEUR", "XETH", "ZEUR")}
    since = int(NOW) // 3600 * 3600 - 48 * 3600

    def closes(pair: str) -> dict[int, Decimal]:
        body = _truth(client, "prices", pair=pair, interval=60, since=since)["prices"][pair]
        return {int(r[0]): Decimal(r[4]) for r in body["candles"]}

    xbtusd, xbteur, ethusd, eurusd, etheur = (closes(p) for p in ("XBTUSD", "XBTEUR", "ETHUSD", "EURUSD", "ETHEUR"))
    assert len(eurusd) >= 48
    for hour, rate in eurusd.items():  # each close is the path ± 0.15 % trade noise: three legs, 0.5 % apart at most
        assert abs(rate / (xbtusd[hour] / xbteur[hour]) - 1) < Decimal("0.005"), hour
        assert abs(etheur[hour] / (ethusd[hour] / rate) - 1) < Decimal("0.005"), hour


def test_weekly_and_15_day_candles_aggregate_the_days_of_the_daily_window(client: TestClient) -> None:
    daily = _public(client, "OHLC", pair="XBTUSD", interval=1440)["XXBTZUSD"]
    by_day = {int(r[0]): r for r in daily}
    for interval, days in ((10080, 7), (21600, 15)):
        rows = _public(client, "OHLC", pair="XBTUSD", interval=interval)["XXBTZUSD"]
        width = interval * 60
        assert [int(r[0]) % width for r in rows] == [0] * len(rows)  # on the unix epoch's grid (UNVERIFIED)
        assert int(rows[0][0]) >= int(daily[0][0]) and int(rows[-1][0]) <= NOW < int(rows[-1][0]) + width
        assert len(rows) == (int(rows[-1][0]) - int(rows[0][0])) // width + 1 < 720  # only the daily window's days
        for row in rows[:-1]:  # every complete one: its days' first open, highest high, lowest low, last close
            inside = [by_day[int(row[0]) + 86_400 * k] for k in range(days)]
            assert row[1] == inside[0][1] and row[4] == inside[-1][4], row
            assert Decimal(row[2]) == max(Decimal(d[2]) for d in inside)
            assert Decimal(row[3]) == min(Decimal(d[3]) for d in inside)
            assert Decimal(row[6]) == sum((Decimal(d[6]) for d in inside), Decimal(0))
            assert int(row[7]) == sum(int(d[7]) for d in inside)
