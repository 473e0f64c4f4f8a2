"""ccxt's kraken against the simulator (ccxt runs in its own venv, as a subprocess)."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from kraken_etl.simulator import RunningSimulator
from tests.compat.ccxt_env import ensure_ccxt_python

pytestmark = pytest.mark.compat
SCRIPT = Path(__file__).with_name("ccxt_script.py")


@pytest.fixture(scope="module")
def ccxt_run(sim: RunningSimulator) -> dict[str, Any]:
    python = ensure_ccxt_python()
    done = subprocess.run([str(python), str(SCRIPT), sim.rest_url, sim.api_key, sim.api_secret],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def truth(sim: RunningSimulator, kind: str) -> Any:
    return httpx.get(f"{sim.rest_url}/_sim/truth/{kind}", timeout=30).json()


def test_fetch_ledger(sim: RunningSimulator, ccxt_run: dict[str, Any]) -> None:
    ledger = truth(sim, "ledgers")["ledger"]
    ids = list(ledger)
    got = ccxt_run["ledger"]
    assert sorted(e["id"] for e in got) == sorted(ids[:50])
    assert sorted(ccxt_run["ledger_page2"]) == sorted(ids[50:100])
    for entry in got:
        expected = {k: v for k, v in ledger[entry["id"]].items() if k not in ("wallet", "time")}
        info = {k: v for k, v in entry["info"].items() if k not in ("id", "time")}  # ccxt adds "id"
        assert info == expected
        # ccxt parses JSON numbers as floats: 7-decimal times lose their last digits
        assert abs(Decimal(str(entry["info"]["time"])) - Decimal(str(ledger[entry["id"]]["time"]))) < Decimal("1e-5")
        assert Decimal(str(entry["amount"])) == abs(Decimal(expected["amount"]))


def test_fetch_my_trades(sim: RunningSimulator, ccxt_run: dict[str, Any]) -> None:
    trades = truth(sim, "trades")["trades"]
    got = ccxt_run["trades"]
    assert sorted(t["id"] for t in got) == sorted(list(trades)[:50])
    for trade in got:
        assert trade["order"] == trades[trade["id"]]["ordertxid"]
        assert "/" in trade["symbol"]


def test_fetch_closed_orders(sim: RunningSimulator, ccxt_run: dict[str, Any]) -> None:
    closed = truth(sim, "closed_orders")["closed"]
    got = ccxt_run["orders"]
    assert sorted(o["id"] for o in got) == sorted(list(closed)[:50])
    for order in got:
        assert Decimal(str(order["filled"])) == Decimal(closed[order["id"]]["vol_exec"])
        assert order["status"] in ("closed", "canceled", "expired")


def test_fetch_balance(sim: RunningSimulator, ccxt_run: dict[str, Any]) -> None:
    balances = truth(sim, "balances")
    assert ccxt_run["balance_info"] == {"error": [], "result": balances["balance_ex"]}
    assert Decimal(str(ccxt_run["balance_total"]["BTC"])) == Decimal(balances["balance"]["XXBT"])
    assert Decimal(str(ccxt_run["balance_total"]["USD"])) == Decimal(balances["balance"]["ZUSD"])
