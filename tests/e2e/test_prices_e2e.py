"""`kraken-etl prices sync|import` end to end: real processes, real HTTP to the simulator, real PostgreSQL.

Expected values come from the simulator's truth (`/_sim/truth/*`, `/_sim/stats`), never from product code.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
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

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
# The history starts about 800 days back: the daily OHLC window (720 candles) misses its first days, which sync
# must rebuild from public Trades.
USD_PAIR = {"XXBT": "XBTUSD", "XETH": "ETHUSD", "ETH2": "ETHUSD", "ETH2.S": "ETHUSD", "DOT": "DOTUSD",
            "DOT.S": "DOTUSD", "USDT": "USDTZUSD", "SOL": "SOLUSD", "ZEUR": "EURUSD"}


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    config = SimConfig(seed=31, ledger_entries=1_500, tier="pro", rate_scale=RATE_SCALE,
                       end_time=TODAY - timedelta(days=1), history_days=800)
    running = serve_in_thread(config)
    yield running
    running.stop()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **env, "COLUMNS": "200", "NO_COLOR": "1"}, timeout=600, check=False)


def _get(sim: RunningSimulator, path: str, **params: Any) -> Any:
    with httpx.Client(base_url=sim.rest_url, timeout=120) as http:
        response = http.get(path, params=params)
        response.raise_for_status()
        return loads(response.content)


def _public_calls(sim: RunningSimulator) -> int:
    return sum(_get(sim, "/_sim/stats")["public_calls"].values())


def _expected_minimum(sim: RunningSimulator) -> tuple[int, set[str]]:
    """2 list calls + 2 OHLC calls per needed pair + the Trades pages of the days OHLC cannot reach."""
    ledger = _get(sim, "/_sim/truth/ledgers")["ledger"].values()
    first: dict[str, Decimal] = {}
    for entry in ledger:
        pair = USD_PAIR.get(entry["asset"])
        if pair:
            first[pair] = min(first.get(pair, entry["time"]), entry["time"])
    now = datetime.now(UTC).timestamp()
    window_start = (int(now) // 86_400 - 719) * 86_400
    calls = 2 + 2 * len(first)
    for pair, t in first.items():
        day = int(t) // 86_400 * 86_400
        if day >= window_start:
            continue
        candles = _get(sim, "/_sim/truth/prices", pair=pair, interval=1440, since=day,
                       until=window_start - 1)["prices"][pair]["candles"]
        trades = sum(c[7] for c in candles if day <= c[0] < window_start)
        calls += trades // 1000 + 1
    return calls, set(first)


def test_prices_sync_fetches_the_minimum_then_only_new_candles(sim: RunningSimulator, db_env: str,
                                                               tmp_path: Path) -> None:
    env = sim_env(sim, db_env, tmp_path)
    assert run_sync(env).code == 0
    minimum, pairs = _expected_minimum(sim)
    before = _public_calls(sim)
    first = _cli(env, "prices", "sync")
    assert first.returncode == 0, first.stderr
    made = _public_calls(sim) - before
    print(first.stdout)  # the report of calls made vs the minimum, for a reader running with -s
    assert made == minimum, first.stdout
    assert f"{made} public calls (minimum {minimum})" in first.stdout
    assert "no route" not in first.stdout and "route EUR→USD: ZEURZUSD" in first.stdout  # Kraken's EUR/USD pair
    assert "route BTC→USD: XXBTZUSD" in first.stdout

    engine = make_engine(db_env)
    try:
        with engine.connect() as conn:
            stored = {r.pair: r for r in conn.execute(text(
                "SELECT a.altname AS pair, count(*) FILTER (WHERE NOT p.complete) AS open, "
                "count(*) FILTER (WHERE p.source = 'trades') AS rebuilt, min(p.start) AS first "
                "FROM kraken.price p JOIN kraken.asset_pair a ON a.pair = p.pair GROUP BY a.altname"))}
            daily = conn.execute(text(
                "SELECT extract(epoch FROM start)::bigint, open, high, low, close, volume, trades, source "
                "FROM kraken.price WHERE pair = 'XXBTZUSD' AND interval = 1440 AND complete ORDER BY start")).all()
            hourly_open = conn.execute(text(
                "SELECT extract(epoch FROM start)::bigint FROM kraken.price WHERE pair = 'XXBTZUSD' "
                "AND interval = 60 AND NOT complete")).scalars().all()
    finally:
        engine.dispose()
    assert set(stored) == pairs
    assert all(r.open == 2 for r in stored.values())  # one unfinished candle per interval
    assert all(r.rebuilt > 0 for r in stored.values()), {k: tuple(v) for k, v in stored.items()}
    assert hourly_open == [int(datetime.now(UTC).timestamp()) // 3600 * 3600]
    truth = {c[0]: c for c in _get(sim, "/_sim/truth/prices", pair="XBTUSD", interval=1440,
                                   since=daily[0][0])["prices"]["XBTUSD"]["candles"]}
    assert {r[7] for r in daily} == {"ohlc", "trades"}
    for start, o, h, low, c, volume, count, _source in daily:
        row = truth[start]
        assert (o, h, low, c, volume, count) == (Decimal(row[1]), Decimal(row[2]), Decimal(row[3]),
                                                 Decimal(row[4]), Decimal(row[6]), row[7]), start

    before = _public_calls(sim)
    second = _cli(env, "prices", "sync")
    assert second.returncode == 0, second.stderr
    assert _public_calls(sim) - before == 2 + 2 * len(pairs)  # only the new candles: one OHLC call each


def test_ohlcvt_import_then_reimport_changes_nothing(sim: RunningSimulator, db_env: str, tmp_path: Path) -> None:
    env = sim_env(sim, db_env, tmp_path)
    assert _cli(env, "prices", "sync", "--pair", "XBTUSD").returncode == 0  # stores Kraken's pair list
    since = int((TODAY - timedelta(days=200)).timestamp())
    with httpx.Client(base_url=sim.rest_url, timeout=120) as http:
        blob = http.get("/_sim/ohlcvt", params={"pair": "ETHUSD", "interval": "60,1440", "since": since,
                                                 "until": since + 10 * 86_400}).content
    archive = tmp_path / "Kraken_OHLCVT_Q.zip"
    archive.write_bytes(blob)
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        rows = sum(z.read(n).decode().count("\n") for n in z.namelist())
    bad = tmp_path / "ETHUSD_1440.csv"
    bad.write_text(f"{since},1,2,3,1.5,10,3\n{since + 86_400},100,110,90,105,7,2\nnot,a,row\n")

    first = _cli(env, "prices", "import", str(archive), str(bad))
    assert first.returncode == 0, first.stderr
    assert f"{rows + 3} rows: {rows} new candles, 1 already stored, 2 rejected (2 newly quarantined)" in first.stdout
    again = _cli(env, "prices", "import", str(archive), str(bad))
    assert f"{rows + 3} rows: 0 new candles, {rows + 1} already stored, 2 rejected (0 newly quarantined)" \
        in again.stdout
    engine = make_engine(db_env)
    try:
        with engine.connect() as conn:
            reasons = conn.execute(text("SELECT reason FROM kraken.quarantine WHERE stream = 'price_file' "
                                        "ORDER BY reason")).scalars().all()
            stored = conn.execute(text("SELECT count(*) FROM kraken.price WHERE pair = 'XETHZUSD' "
                                       "AND source = 'file'")).scalar_one()
    finally:
        engine.dispose()
    assert reasons == ["3 fields, expected 7 (time,open,high,low,close,volume,trades)",
                       "open/close outside low..high"]
    assert stored == rows
