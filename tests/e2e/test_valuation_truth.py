"""Valuation against the simulator's truth: every `reporting.ledger` and `portfolio_daily` value equals one
computed here from `/_sim/truth/prices` and `/_sim/truth/ledgers`, without the product's code; the
`valuation` check is clean on a clean account and names the asset a TradeBalance or candle fault alters.

The rule computed independently (docs/sql-guide.md, "What is it worth?"): a moment is priced as its UTC hour,
at the close of that hour's candle of the asset's USD market (the history here is short, so every hour has
its hourly candle); USD and USD.HOLD are 1, KFEE 0.01; an entry is worth its net (amount - fee) times that price,
a day's holding its end-of-day balance times the close of the day's last hour. Comparison: both sides rounded to
the currency's unit (cents, half-even); a price is also compared exactly (the candle's close as served).
EUR is priced by the simulator's EUR/USD market.
An asset without a USD market in this oracle must be unpriced (NULL) in the product too.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from kraken_etl.core.money import loads
from kraken_etl.db.engine import make_engine
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import RATE_SCALE, REPO, run_sync, sim_env
from tests.oracle import USD_FIXED, USD_MARKET, cents, common_code, hour_of, seconds

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

NOW = datetime.now(UTC)
END = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
HISTORY_DAYS = 8  # within the 720-hour OHLC window: every entry's hour has its hourly candle


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    config = SimConfig(seed=41, ledger_entries=300, tier="pro", rate_scale=RATE_SCALE, end_time=END,
                       history_days=HISTORY_DAYS, export_queued_seconds=0.0, export_processing_seconds=0.0)
    running = serve_in_thread(config)
    yield running
    running.stop()


def _cli(env: dict[str, str], *args: str, codes: tuple[int, ...] = (0,)) -> str:
    proc = subprocess.run([sys.executable, "-m", "kraken_etl", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **env, "COLUMNS": "250", "NO_COLOR": "1"}, timeout=400, check=False)
    assert proc.returncode in codes, (args, proc.stdout[-2000:], proc.stderr[-3000:])
    return proc.stdout


def _get(sim: RunningSimulator, path: str, **params: Any) -> Any:
    with httpx.Client(base_url=sim.rest_url, timeout=120) as http:
        response = http.get(path, params=params)
        response.raise_for_status()
        return loads(response.content)


def _hourly_closes(sim: RunningSimulator, since: int) -> dict[str, dict[int, Decimal]]:
    """altname -> {hour start: close} of every complete hourly candle of the truth's path from `since`."""
    prices = _get(sim, "/_sim/truth/prices", interval=60, since=since)["prices"]
    return {pair: {int(c[0]): Decimal(str(c[4])) for c in body["candles"] if c[8]} for pair, body in prices.items()}


# EUR: Kraken's EUR markets where the simulator lists one (the first route docs/prices.md names), else the USD
# price through EUR/USD read the other way (a bridge through USD: the USD price divided by EUR/USD's close)
EUR_MARKET = {"XXBT": "XBTEUR", "XBT.M": "XBTEUR", "XETH": "ETHEUR", "ETH2": "ETHEUR", "ETH2.S": "ETHEUR"}


def _price(code: str, hour: int, closes: dict[str, dict[int, Decimal]], currency: str = "USD") -> Decimal | None:
    if currency == "EUR":
        if code == "ZEUR":
            return Decimal(1)
        if code in EUR_MARKET:
            return closes[EUR_MARKET[code]][hour]
        usd = _price(code, hour, closes)
        return None if usd is None else usd / closes["EURUSD"][hour]
    if code in USD_FIXED:
        return USD_FIXED[code]
    market = USD_MARKET.get(code)
    return None if market is None else closes[market][hour]


def _same(got: tuple, want: tuple) -> bool:
    """(price, value in cents): the value to the cent; the price exactly, or for a price through an inverted
    pair (1 / close, which PostgreSQL and Python round at different digits) within 1e-15 of it."""
    (got_price, got_value), (price, value) = got, want
    if got_value != value or (got_price is None) != (price is None):
        return False
    return got_price == price or abs(got_price - price) <= abs(price) * Decimal("1e-15")


def _expected_ledger(entries: dict[str, Any], closes: dict[str, dict[int, Decimal]],
                     currency: str = "USD") -> dict[str, tuple]:
    """ledger_id -> (price, value in cents) computed from the truth."""
    out = {}
    for ledger_id, e in entries.items():
        price = _price(e["asset"], hour_of(seconds(e["time"])), closes, currency)
        net = Decimal(str(e["amount"])) - Decimal(str(e["fee"]))
        out[ledger_id] = (price, None if price is None else cents(net * price))
    return out


def _expected_daily(entries: dict[str, Any], wallets: dict[str, str], closes: dict[str, dict[int, Decimal]],
                    last_day: int, currency: str = "USD") -> dict[tuple[int, str], tuple]:
    """(day start, asset code) -> (balance, price, value in cents) for each complete day from the first entry
    to `last_day` (exclusive): every net up to the day's end, plus each chain's opening (per code and wallet:
    REST records carry no wallet, the export's `wallet` column gives it), which is its first entry's running
    `balance` minus that entry's net, counted from that entry on (as docs/sql-guide.md's balances are)."""
    moves: dict[str, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for ledger_id, e in sorted(entries.items(), key=lambda kv: seconds(kv[1]["time"])):
        net = Decimal(str(e["amount"])) - Decimal(str(e["fee"]))
        chain = (e["asset"], wallets[ledger_id])
        if chain not in seen:  # the chain's opening: its running balance minus its first move, held from then on
            seen.add(chain)
            moves[e["asset"]].append((seconds(e["time"]), Decimal(str(e["balance"])) - net))
        moves[e["asset"]].append((seconds(e["time"]), net))
    first_day = min(int(t // 86_400) for m in moves.values() for t, _ in m) * 86_400
    out = {}
    for code, items in moves.items():
        for day in range(first_day, last_day, 86_400):
            balance = sum((n for t, n in items if t < day + 86_400), Decimal(0))
            if not any(t < day + 86_400 for t, _ in items):
                continue
            price = _price(code, day + 23 * 3600, closes, currency)
            out[(day, code)] = (balance, price, None if price is None else cents(balance * price))
    return out


def _product(db_url: str) -> tuple[dict[str, tuple], dict[tuple[int, str], list[tuple]], int]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ledger = {r.ledger_id: (r.asset_code, r.currency, r.price, r.value) for r in conn.execute(text(
                "SELECT ledger_id, asset_code, currency, price, value FROM reporting.ledger WHERE account = 'main'"))}
            daily: dict[tuple[int, str], list[tuple]] = defaultdict(list)
            for r in conn.execute(text(
                    "SELECT extract(epoch FROM day::timestamp)::bigint AS day, asset, balance, currency, price, value "
                    "FROM reporting.portfolio_daily WHERE account = 'main'")):
                daily[(r.day, r.asset)].append((r.balance, r.currency, r.price, r.value))
            today = int(conn.execute(text("SELECT extract(epoch FROM date_trunc('day', now(), 'UTC'))::bigint"))
                        .scalar_one())
    finally:
        engine.dispose()
    return ledger, daily, today


def _wallets(sim: RunningSimulator, folder: Path) -> dict[str, str]:
    """ledger id -> wallet, from an export of the whole history (read with csv, not the product's reader)."""
    path = _export_file(sim, folder, 0, int(datetime.now(UTC).timestamp()), "ledgers-all.zip")
    with zipfile.ZipFile(path) as z:
        rows = csv.DictReader(io.TextIOWrapper(z.open(z.namelist()[0]), encoding="utf-8"))
        return {r["txid"]: r["wallet"] for r in rows}


def _compare(sim: RunningSimulator, db_url: str, entries: dict[str, Any], wallets: dict[str, str],
             currency: str = "USD") -> int:
    """Every valued row of the product against the truth, in `currency`; returns how many values were
    compared."""
    first = min(hour_of(seconds(e["time"])) for e in entries.values()) - 86_400
    closes = _hourly_closes(sim, first)
    ledger, daily, today = _product(db_url)
    assert set(ledger) == set(entries)
    wrong = []
    for ledger_id, (price, value) in _expected_ledger(entries, closes, currency).items():
        code, got_currency, got_price, got_value = ledger[ledger_id]
        got = (got_price, None if got_value is None else cents(got_value))
        if got_currency != currency or not _same(got, (price, value)):
            wrong.append(f"ledger {ledger_id} {code}: product {got_currency} {got}, truth {(price, value)}")
    expected = _expected_daily(entries, wallets, closes, today, currency)
    # portfolio_daily is per canonical asset: the oracle's codes mapped the documented way (XXBT -> BTC, …)
    by_asset: dict[tuple[int, str], list[tuple]] = defaultdict(list)
    for (day, code), row in expected.items():
        by_asset[(day, common_code(code))].append(row)
    compared = len(ledger)
    for key, rows in by_asset.items():
        got_rows = daily.get(key, [])
        want = sorted((b, p, v) for b, p, v in rows if b != 0)
        have = sorted((b, p, None if v is None else cents(v)) for b, c, p, v in got_rows if b != 0 and c == currency)
        compared += len(want)
        if len(want) != len(have) or not all(
                w[0] == h[0] and _same((h[1], h[2]), (w[1], w[2])) for w, h in zip(want, have, strict=True)):
            wrong.append(f"portfolio_daily {datetime.fromtimestamp(key[0], UTC):%Y-%m-%d} {key[1]}: "
                         f"product {have}, truth {want}")
    extra = {k for k, rows in daily.items() if k[0] < today and any(r[0] != 0 for r in rows)} - set(by_asset)
    assert not extra, sorted(extra)[:5]
    assert not wrong, f"{len(wrong)} values differ from the truth:\n" + "\n".join(wrong[:20])
    return compared


def _export_file(sim: RunningSimulator, folder: Path, start: int, end: int, name: str) -> Path:
    """A Kraken ledgers export (CSV zip) of [start, end], as the simulator's RetrieveExport serves it."""
    book = sim.ctx.exports
    export_id = book.add({"report": "ledgers", "description": "mid", "format": "CSV", "starttm": str(start),
                          "endtm": str(end)}, now=datetime.now(UTC).timestamp(), stuck=False)
    path = folder / name
    path.write_bytes(Path(book.zip_path(book.jobs[export_id], corrupt=False)).read_bytes())
    return path


def test_every_value_equals_the_truth_after_a_mid_range_import_and_after_sync_in_usd_and_eur(
        sim: RunningSimulator, db_env: str, tmp_path: Path) -> None:
    env = sim_env(sim, db_env, tmp_path)
    entries = _get(sim, "/_sim/truth/ledgers")["ledger"]
    times = sorted(seconds(e["time"]) for e in entries.values())
    start, end = int(times[len(times) // 3]), int(times[2 * len(times) // 3])
    middle = {k: e for k, e in entries.items() if start <= seconds(e["time"]) <= end}
    assert 50 < len(middle) < len(entries)
    wallets = _wallets(sim, tmp_path)
    assert set(wallets) == set(entries)

    _cli(env, "import", str(_export_file(sim, tmp_path, start, end, "ledgers-mid.zip")), "--account", "main")
    _cli(env, "prices", "sync")
    _cli(env, "refresh")
    assert _compare(sim, db_env, middle, wallets) > len(middle)

    # then the whole history by sync (from its first day: the stored rows would otherwise be where it starts)
    assert run_sync(env, "--since", f"{datetime.fromtimestamp(int(times[0]), UTC):%Y-%m-%d}").code == 0
    _cli(env, "prices", "sync")
    _cli(env, "reconcile", codes=(0, 1))  # as the nightly flow: resolves the synced entries' wallets
    _cli(env, "refresh")
    assert _compare(sim, db_env, entries, wallets) > len(entries)

    # the same account reported in EUR: prices sync fetches the EUR markets (or bridges through USD)
    eur = {**env, "KRAKEN_REPORTING_CURRENCY": "EUR"}
    out = _cli(eur, "prices", "sync")
    assert "route BTC→EUR: XXBTZEUR" in out and "route DOT→EUR: DOTUSD then ZEURZUSD^-1" in out, out
    _cli(eur, "refresh")
    assert _compare(sim, db_env, entries, wallets, "EUR") > len(entries)
    engine = make_engine(db_env)
    try:
        with engine.connect() as conn:
            routes = {(r.asset, r.currency): (r.route, r.via) for r in conn.execute(text(
                "SELECT asset, currency, route, via FROM kraken.price_route"))}
            used = {r.price_route for r in conn.execute(text(
                "SELECT DISTINCT price_route FROM reporting.ledger WHERE account = 'main' AND asset = 'DOT'"))}
    finally:
        engine.dispose()
    assert routes[("BTC", "EUR")] == ("XXBTZEUR", None) and routes[("EUR", "EUR")] == ("par", None)
    assert routes[("DOT", "EUR")] == ("DOTUSD*ZEURZUSD^-1", "USD") and routes[("USD", "EUR")] == ("ZEURZUSD^-1", None)
    assert used == {"DOTUSD*ZEURZUSD^-1"}  # the valued rows went the recorded way


def _valuation_findings(db_url: str) -> list[tuple]:
    """The open `valuation` findings (kind, severity, asset, message), as the latest run left them."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "SELECT kind, severity, asset, message FROM kraken.reconciliation_finding "
                "WHERE check_name = 'valuation' AND status = 'open' "
                "ORDER BY kind, asset"))]
    finally:
        engine.dispose()


def _faults(sim: RunningSimulator, spec: dict[str, Any]) -> dict[str, Any]:
    with httpx.Client(base_url=sim.rest_url, timeout=60) as http:
        http.post("/_sim/faults", json=spec).raise_for_status()
        return loads(http.get("/_sim/faults").content)  # type: ignore[no-any-return]


def test_valuation_check_is_clean_then_names_the_asset_of_a_skewed_trade_balance_or_candle(
        sim: RunningSimulator, db_env: str, tmp_path: Path) -> None:
    env = sim_env(sim, db_env, tmp_path)
    assert run_sync(env).code == 0
    _cli(env, "prices", "sync")  # EUR is valued through the simulator's EUR/USD market, as any asset
    _cli(env, "reconcile", codes=(0, 1))
    assert _valuation_findings(db_env) == []

    try:
        for seed in range(40):  # a fault seed that skews a large holding (a small one may stay within tolerance)
            skewed = _faults(sim, {"trade_balance_skew": 5, "seed": seed})["trade_balance_skewed"]
            if skewed["asset"] in ("XXBT", "XETH"):
                break
        else:
            pytest.fail("no fault seed skews BTC or ETH")
        assert run_sync(env).code == 0  # a new balance snapshot: Kraken's (skewed) TradeBalance, in each asset
        _cli(env, "reconcile", codes=(0, 1))
        found = _valuation_findings(db_env)
        # Kraken's own price of the asset (eb in USD over eb in the asset) lies outside our honest candle
        assert [(k, s, a) for k, s, a, _m in found] == [
            ("value_mismatch", "break", common_code(skewed["asset"]))], found
        assert "Kraken's figure is the suspect" in found[0][3], found

        held = {common_code(code) for code in _get(sim, "/_sim/truth/balances")["balance"]}
        for seed in range(1, 40):  # a fault seed whose skewed pair prices a held asset through its USD market
            candle = _faults(sim, {"candle_skew": 5, "seed": seed})["candle_skewed"]
            base = next((code for code, market in USD_MARKET.items() if market == candle["pair"]), None)
            if base is not None and common_code(base) in held:
                break
        else:
            pytest.fail("no fault seed skews a held asset's USD market")
        assert run_sync(env).code == 0  # an honest TradeBalance, in the skewed candle's hour
        _cli(env, "prices", "sync")  # stores the skewed (still open) candle
        _cli(env, "reconcile", codes=(0, 1))
        found = _valuation_findings(db_env)
        # our value is above Kraken's (a 5 % high candle); the skewed candles contradict the hours before them
        assert [(k, s, a) for k, s, a, _m in found] == [("value_mismatch", "break", common_code(base))], found
        assert "(difference -" in found[0][3] and f"our candles of {common_code(base)}" in found[0][3], found
    finally:
        _faults(sim, {})
