"""Helpers for the sync end-to-end tests: a simulator on loopback, the CLI as a real process, truth."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from kraken_etl.core.money import loads
from kraken_etl.core.parsing import unix_seconds
from kraken_etl.simulator import RunningSimulator

REPO = Path(__file__).resolve().parents[2]
RATE_SCALE = 200.0  # the simulator's and the client's counter decay x200 (pro: 200 units/s)
KINDS = ("ledgers", "trades", "closed_orders", "order_amends", "balances")


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str
    seconds: float


def run_sync(env: dict[str, str], *args: str, timeout: float = 240) -> CliRun:
    """`python -m kraken_etl sync …` as a separate process (real HTTP, real PostgreSQL)."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "kraken_etl", "sync", *args],
        cwd=REPO, env={**os.environ, **env, "COLUMNS": "200", "NO_COLOR": "1"},
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def sim_env(sim: RunningSimulator, db_url: str, home: Path, *, key: str | None = None,
            secret: str | None = None) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url,
        "KRAKEN_ETL_HOME": str(home),
        "KRAKEN_API_URL": sim.rest_url,
        "KRAKEN_API_KEY": key or sim.api_key,
        "KRAKEN_API_SECRET": secret or sim.api_secret,
        "KRAKEN_TIER": sim.ctx.config.tier,
        "KRAKEN_ACCOUNT": "main",
        "KRAKEN_RATE_SCALE": str(RATE_SCALE),
    }


def truths(sim: RunningSimulator) -> dict[str, dict[str, Any]]:
    with httpx.Client(base_url=sim.rest_url, timeout=60) as http:
        return {kind: loads(http.get(f"/_sim/truth/{kind}").content) for kind in KINDS}


def advance(sim: RunningSimulator, entries: int) -> dict[str, Any]:
    with httpx.Client(base_url=sim.rest_url, timeout=60) as http:
        return loads(http.post("/_sim/advance", json={"ledger_entries": entries}).content)  # type: ignore[no-any-return]


def set_faults(sim: RunningSimulator, spec: str) -> None:
    with httpx.Client(base_url=sim.rest_url, timeout=60) as http:
        http.post("/_sim/faults", json={"spec": spec}).raise_for_status()


def rate_limit_violations(sim: RunningSimulator) -> int:
    """`EAPI:Rate limit exceeded` answers the simulator's counter gave (storms not included)."""
    return sum(len(state.violations) + (state.locked_until > 0) for state in sim.ctx.auth.keys.values())


def truth_until(t: dict[str, dict[str, Any]], cutoff: float) -> dict[str, dict[str, Any]]:
    """The truth as of a bookmark: records after `cutoff` (unix s) removed (balances untouched)."""
    limit = unix_seconds(str(int(cutoff)))
    ledger = {k: v for k, v in t["ledgers"]["ledger"].items() if unix_seconds(v["time"]) <= limit}
    trades = {k: v for k, v in t["trades"]["trades"].items() if unix_seconds(v["time"]) <= limit}
    closed = {k: v for k, v in t["closed_orders"]["closed"].items() if unix_seconds(v["closetm"]) <= limit}
    amends = {k: v for k, v in t["order_amends"]["amends"].items() if k in closed}
    return {"ledgers": {"ledger": ledger}, "trades": {"trades": trades}, "closed_orders": {"closed": closed},
            "order_amends": {"amends": amends}, "balances": t["balances"]}


