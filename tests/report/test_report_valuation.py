"""The report's valuation: portfolio chart, holdings with price, value and total, and the roll-forward, opened in
headless chromium offline, every figure equal to a computation by hand from the fixture's candles."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kraken_etl.db.engine import make_engine
from kraken_etl.report import write_report
from tests.db.valuation_fixture import Market, btc_daily, btc_hourly, build_market, dot_btc, entry, eur_usd
from tests.report.browser import open_offline
from tests.report.test_report import READ_PAGE

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture()
def market(db_url: str) -> Iterator[tuple[Engine, Market]]:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            from datetime import UTC, datetime, timedelta
            day0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=20)
            entry(conn, "main", "LH", day0 + timedelta(days=2), HOSTILE, "1")  # hostile code: shown as text
            built = build_market(conn)
        yield engine, built
    finally:
        engine.dispose()


def _d(text: str) -> Decimal:
    return Decimal(text)


def test_report_shows_portfolio_value_holdings_total_and_roll_forward(market: tuple[Engine, Market],
                                                                      tmp_path: Path) -> None:
    engine, m = market
    out = tmp_path / "report.html"
    info = write_report(engine, out, account="main", date_from=m.at(1).date(), date_to=m.at(8).date())
    page = open_offline(out, READ_PAGE)
    assert page.requests == [out.resolve().as_uri()] and page.failed == []
    result = page.result
    chart = result["charts"]["portfolio"]
    assert chart["svgs"] == 1 and chart["paths"] >= 1 and "value (USD)" in chart["labels"]
    assert info.charts >= 1

    holdings = {r["asset"]: r for r in result["tables"]["valuation"]}
    priced = {  # end of day 8, by hand
        "BTC": Decimal("0.749") * btc_daily(8),
        "USD": Decimal(-30010),
        "DOT": Decimal("99.5") * dot_btc(8) * btc_daily(8),
        "KFEE": Decimal(480) * Decimal("0.01"),
        "EUR": Decimal(198) * eur_usd(8),
    }
    for asset, value in priced.items():
        assert _d(holdings[asset]["value (USD)"]) == value, asset
    for unpriced in ("LUNA", "NOPE", HOSTILE):  # LUNA is LUNC by then; the others have no identity
        assert holdings[unpriced]["value (USD)"] == "" and holdings[unpriced]["price (USD)"] == ""
    total = holdings["total"]
    assert _d(total["value (USD)"]) == sum(priced.values()) and total["unpriced"] == "3"

    roll = {r["asset"]: r for r in result["tables"]["rollforward"]}
    btc = roll["BTC"]
    assert [_d(btc[k]) for k in ("opening", "deposits", "trades", "fees", "closing")] == \
        [Decimal(0), Decimal("0.25"), Decimal("0.5"), Decimal("-0.001"), Decimal("0.749")]
    assert _d(btc["trades_value (USD)"]) == Decimal("0.5") * btc_hourly(1, 10)
    assert _d(btc["fees_value (USD)"]) == Decimal("-0.001") * btc_hourly(1, 10)
    assert _d(btc["deposits_value (USD)"]) == Decimal("0.25") * btc_daily(4)
    closing = Decimal("0.749") * btc_daily(8)
    assert _d(btc["closing_value (USD)"]) == closing
    moved = sum(_d(btc[f"{k}_value (USD)"]) for k in ("deposits", "withdrawals", "trades", "income", "other", "fees"))
    assert _d(btc["revaluation (USD)"]) == closing - _d(btc["opening_value (USD)"]) - moved
    assert roll["DOT"]["income"] == "100" and _d(roll["DOT"]["fees"]) == Decimal("-0.5")
    assert roll["NOPE"]["closing_value (USD)"] == "" and roll["NOPE"]["unpriced"] == "1"
    assert HOSTILE in roll and HOSTILE in out.read_text(encoding="utf-8").replace("&lt;", "<").replace("&gt;", ">")
    assert HOSTILE not in out.read_text(encoding="utf-8")  # escaped in the file: text, never markup
