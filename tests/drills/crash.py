"""Crash drills: kill -9 a real `kraken-etl` process at seeded random moments, rerun, check the invariants.

Used by the fast variant in `make test` (tests/drills/test_crash_drills.py: a few moments each) and by the
full drills (`make drills`, bench/drills/crash_drills.py: 20+ moments each, figures as JSON).

Invariants after every kill (before the rerun):
- no row doubled (natural keys) and none half-written: every stream's bookmark is never ahead of the data
  (every truth record at or before the bookmark is in the database);
- order amend rows exist only alongside an `order_amends` sync_run row;
- an export backfill never asks Kraken for a second AddExport for the same planned range.
After the final clean run: the database equals the simulator's truth, and the command exits 0.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from kraken_etl.core.parsing import unix_seconds
from kraken_etl.simulator import RunningSimulator
from tests.drills.invariants import after_kill, amends_have_a_run, duplicates, ledger_ids, reset_database
from tests.e2e.sync_support import truths

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Kill:
    """One kill moment and what the drill saw."""

    delay: float
    killed: bool  # False when the process finished before the moment came
    code: int | None
    problems: list[str] = field(default_factory=list)


@dataclass
class DrillReport:
    command: str
    kills: list[Kill] = field(default_factory=list)
    final_code: int | None = None
    final_problems: list[str] = field(default_factory=list)
    rows_compared: int = 0
    add_exports: int = 0

    @property
    def ok(self) -> bool:
        return self.final_code == 0 and not self.final_problems and all(not k.problems for k in self.kills)

    def summary(self) -> dict[str, Any]:
        return {"command": self.command, "moments": len(self.kills), "killed": sum(k.killed for k in self.kills),
                "delays": [round(k.delay, 2) for k in self.kills], "final_code": self.final_code,
                "problems": [p for k in self.kills for p in k.problems] + self.final_problems,
                "rows_compared": self.rows_compared, "add_exports": self.add_exports}


def cli_env(sim: RunningSimulator, db_url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": db_url, "KRAKEN_ETL_HOME": str(home), "KRAKEN_API_URL": sim.rest_url,
                "KRAKEN_API_KEY": sim.api_key, "KRAKEN_API_SECRET": sim.api_secret,
                "KRAKEN_TIER": sim.ctx.config.tier, "KRAKEN_ACCOUNT": "main",
                "KRAKEN_RATE_SCALE": str(sim.ctx.config.rate_scale), "COLUMNS": "200", "NO_COLOR": "1"})
    return env


def run_killed(args: Sequence[str], env: dict[str, str], delay: float, timeout: float = 300) -> tuple[bool, int]:
    """Start `kraken-etl args`, SIGKILL it after `delay` seconds unless it ended first; (killed, exit code)."""
    proc = subprocess.Popen([sys.executable, "-m", "kraken_etl", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        code = proc.wait(timeout=delay)
        return False, code
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        return True, proc.wait(timeout=timeout)


def run_clean(args: Sequence[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def timed_clean_run(args: Sequence[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    done = run_clean(args, env)
    if done.returncode != 0:
        raise AssertionError(done.stderr[-2000:])
    return time.monotonic() - started


def moments(seed: int, count: int, span: float) -> list[float]:
    """`count` seeded kill delays over (0.05, 0.9) x `span` (a clean run's duration): start-up, the middle,
    near the end. Timings on a shared machine vary, so a moment may come after the run ended (`killed`
    False); the figures count real kills."""
    rng = random.Random(seed)
    return sorted(rng.uniform(0.05, 0.9) * span for _ in range(count))


# -- the three drills ---------------------------------------------------------------------------------------


def drill_sync(sim: RunningSimulator, db_url: str, scratch_url: str, engine: Engine, work: Path, *, seed: int,
               count: int, reset: bool = False) -> DrillReport:
    """kill -9 `sync` at `count` seeded moments of a clean run's duration (measured on `scratch_url`).

    `reset=False`: the kills accumulate on one database (each run resumes the last), then one clean run.
    `reset=True`: each moment starts from an empty database and is followed by its own clean rerun, which
    must equal the truth.
    """
    from tests.pipeline.truth import compare_all

    span = timed_clean_run(["sync"], cli_env(sim, scratch_url, work / "scratch"))
    env = cli_env(sim, db_url, work / "home")
    report = DrillReport("sync" + (" (fresh account per kill)" if reset else ""))
    truth = truths(sim)
    for delay in moments(seed, count, span):
        if reset:
            reset_database(engine)
        killed, code = run_killed(["sync"], env, delay)
        kill = Kill(delay, killed, code, after_kill(engine, sim))
        if reset:
            rerun = run_clean(["sync"], env)
            kill.problems += ([f"rerun exit {rerun.returncode}: {rerun.stderr[-300:]}"] if rerun.returncode else [])
            kill.problems += compare_all(engine, "main", truth)[:5]
        report.kills.append(kill)
    final = run_clean(["sync"], env)
    report.final_code = final.returncode
    report.final_problems = compare_all(engine, "main", truth) + duplicates(engine)
    report.rows_compared = sum(len(truth[k][r]) for k, r in (("ledgers", "ledger"), ("trades", "trades"),
                                                             ("closed_orders", "closed")))
    return report


def drill_amends(sim: RunningSimulator, db_url: str, scratch_url: str, engine: Engine, work: Path, *, seed: int,
                 count: int) -> DrillReport:
    """kill -9 `sync --stream order_amends` (closed orders already synced) at seeded moments."""
    scratch_env = cli_env(sim, scratch_url, work / "scratch")
    env = cli_env(sim, db_url, work / "home")
    for target in (scratch_env, env):
        done = run_clean(["sync", "--stream", "closed_orders"], target)
        if done.returncode != 0:
            raise AssertionError(done.stderr[-2000:])
    span = timed_clean_run(["sync", "--stream", "order_amends"], scratch_env)
    report = DrillReport("sync --stream order_amends")
    for delay in moments(seed, count, span):
        killed, code = run_killed(["sync", "--stream", "order_amends"], env, delay)
        report.kills.append(Kill(delay, killed, code, duplicates(engine) + amends_have_a_run(engine)))
    final = run_clean(["sync", "--stream", "order_amends"], env)
    report.final_code = final.returncode
    report.final_problems = duplicates(engine) + amends_have_a_run(engine)
    with engine.connect() as conn:
        report.rows_compared = int(conn.execute(text("SELECT count(*) FROM kraken.order_amend")).scalar_one())
    return report


def backfill_args(sim: RunningSimulator) -> list[str]:
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=sim.ctx.config.history_days + 30)
    last_day = end - timedelta(days=1)  # --to is inclusive: the range ends at `end` (today's midnight)
    return ["backfill", "--from", start.date().isoformat(), "--to", last_day.date().isoformat(), "--via", "export",
            "--stream", "ledgers", "--chunk-days", "0"]


def drill_backfill(sim: RunningSimulator, db_url: str, scratch_url: str, engine: Engine, work: Path, *,
                   seed: int, count: int) -> DrillReport:
    """kill -9 `backfill --via export` at seeded moments; one AddExport in all, the range's ledgers exact."""
    args = backfill_args(sim)
    span = timed_clean_run(args, cli_env(sim, scratch_url, work / "scratch"))
    env = cli_env(sim, db_url, work / "home")
    before = sim.ctx.exports.counter
    report = DrillReport("backfill --via export")
    for delay in moments(seed, count, span):
        killed, code = run_killed(args, env, delay)
        report.kills.append(Kill(delay, killed, code, duplicates(engine)))
    final = run_clean(args, env)
    report.final_code = final.returncode
    report.add_exports = sim.ctx.exports.counter - before
    # --to is inclusive: the truth's entries before the next day's start (whole seconds, compared as Decimals)
    end = Decimal(int((datetime.fromisoformat(args[4]).replace(tzinfo=UTC) + timedelta(days=1)).timestamp()))
    ledger = {k: v for k, v in truths(sim)["ledgers"]["ledger"].items() if unix_seconds(v["time"]) < end}
    missing = set(ledger) - ledger_ids(engine)
    extra = ledger_ids(engine) - set(ledger)
    report.final_problems = duplicates(engine) + ([f"{len(missing)} ledgers missing"] if missing else []) + (
        [f"{len(extra)} unexpected ledgers"] if extra else []) + (
        [f"{report.add_exports} AddExport calls for one planned range"] if report.add_exports != 1 else [])
    report.rows_compared = len(ledger)
    return report


def write_large_export(path: Path, rows: int) -> None:
    header = '"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance"\n'
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(header)
        for i in range(rows):
            second = i % 86_400
            handle.write(f'"LX{i:08d}","RX{i:08d}","2024-0{1 + i // 86_400 % 9}-01 {second // 3600:02d}:'
                         f'{second // 60 % 60:02d}:{second % 60:02d}","deposit","","currency","ZEUR",'
                         f"{i % 997}.{i % 10000:04d},0.0000,{i}.0000\n")


def drill_import(db_url: str, scratch_url: str, engine: Engine, work: Path, *, seed: int, count: int,
                 rows: int, reset: bool = False) -> DrillReport:
    """kill -9 `import` of a `rows`-row file at seeded moments; the rerun loads every row exactly once.

    `reset=True` empties the database before each kill, so every moment interrupts a first import."""
    export = work / "large_ledgers.csv"
    write_large_export(export, rows)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "DATABASE_URL"))}
    base["KRAKEN_ACCOUNT"] = "main"
    scratch_env = {**base, "DATABASE_URL": scratch_url, "KRAKEN_ETL_HOME": str(work / "scratch")}
    env = {**base, "DATABASE_URL": db_url, "KRAKEN_ETL_HOME": str(work / "home")}
    args = ["import", str(export), "--account", "main"]
    span = timed_clean_run(args, scratch_env)
    report = DrillReport("import" + (" (fresh account per kill)" if reset else ""))
    for delay in moments(seed, count, span):
        if reset:
            reset_database(engine)
        killed, code = run_killed(args, env, delay)
        problems = duplicates(engine)
        with engine.connect() as conn:
            have = conn.execute(text("SELECT count(*) FROM kraken.ledger_entry")).scalar_one()
        if have not in (0, rows):  # one transaction per file: all or nothing
            problems.append(f"partial import: {have} of {rows} rows after the kill")
        report.kills.append(Kill(delay, killed, code, problems))
    final = run_clean(args, env)
    report.final_code = final.returncode
    with engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM kraken.ledger_entry")).scalar_one()
        quarantined = conn.execute(text("SELECT count(*) FROM kraken.quarantine")).scalar_one()
    report.final_problems = duplicates(engine) + ([f"{have} rows instead of {rows}"] if have != rows else []) + (
        [f"{quarantined} quarantined"] if quarantined else [])
    report.rows_compared = rows
    return report
