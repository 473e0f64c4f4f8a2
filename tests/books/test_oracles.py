"""Independent peers agree with the lot engine on the same transactions.

The transactions come from the simulator's ground truth (`/_sim/truth/ledgers` over HTTP on loopback, turned
into acquisitions and disposals by `sim_events`, never from our tables) and from hand-made lists. rp2 (PyPI)
computes `fifo`, `lifo` and `hifo`; BittyTax (PyPI) computes the UK rules. Both run offline with the values
the test gives them.

Rules for comparing (the only differences there are):
- rp2 gives one gain per disposal and lot; summed per disposal and rounded to the cent, it equals ours.
- BittyTax rounds proceeds, cost and fees of each disposal row to the penny before taking the gain; ours is
  rounded the same way before comparing. BittyTax, like HMRC, treats a day's disposals as one, so rows are
  compared per (day, asset, rule).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal, FloatOperation, getcontext
from pathlib import Path

import pytest

from kraken_etl.books.lots import compute
from kraken_etl.books.lots_model import Event, Kind
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.books.rp2_oracle import rp2_gains
from tests.books.sim_events import sim_events
from tests.e2e.sync_support import RATE_SCALE, truths

CENT = Decimal("0.01")
HERE = Path(__file__).resolve().parent
SEEDS = (11, 4242)


@pytest.fixture(scope="module", params=SEEDS, ids=lambda s: f"seed{s}")
def sim_truth_events(request: pytest.FixtureRequest) -> Iterator[list[Event]]:
    sim: RunningSimulator = serve_in_thread(SimConfig(seed=request.param, ledger_entries=2500, tier="pro",
                                                      rate_scale=RATE_SCALE))
    try:
        ledger = truths(sim)["ledgers"]["ledger"]
    finally:
        sim.stop()
    yield sim_events(ledger)


def _ours_per_disposal(events: list[Event], method: str) -> dict[tuple[str, ...], Decimal]:
    books = compute(events, method)
    assert books.shortfalls == []
    gains: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    for d in books.disposals:
        gains[d.disposal_entries] += d.gain
    return {k: v.quantize(CENT) for k, v in gains.items()}


@pytest.mark.parametrize("method", ["fifo", "lifo", "hifo"])
def test_rp2_agrees_on_the_simulator_truth(sim_truth_events: list[Event], method: str, tmp_path: Path) -> None:
    ours = _ours_per_disposal(sim_truth_events, method)
    theirs = {k: v.quantize(CENT) for k, v in rp2_gains(sim_truth_events, method, tmp_path).items()}
    assert len(ours) > 200  # the simulated account has hundreds of disposals
    assert set(ours) == set(theirs)
    differing = {k: (ours[k], theirs[k]) for k in ours if ours[k] != theirs[k]}
    assert differing == {}


def test_rp2_leaves_the_decimal_context_of_the_tests_after_it_as_it_found_it(
        sim_truth_events: list[Event], tmp_path: Path) -> None:
    """Importing rp2 sets the thread's decimal context (precision, a trap on floats): the oracle keeps that to
    its own run, so a test's outcome never depends on whether an rp2 test ran before it in the process."""
    before = getcontext().copy()
    rp2_gains(sim_truth_events, "fifo", tmp_path)
    after = getcontext()
    assert (after.prec, after.traps[FloatOperation]) == (before.prec, before.traps[FloatOperation])


def test_the_methods_really_differ_on_the_simulator_truth(sim_truth_events: list[Event]) -> None:
    """Agreement would prove little if every method gave the same answer."""
    totals = {m: sum(_ours_per_disposal(sim_truth_events, m).values()) for m in ("fifo", "lifo", "hifo", "uk")}
    assert len(set(totals.values())) == 4


# --- BittyTax -----------------------------------------------------------------------------------------------

HEADER = ["Type", "Buy Quantity", "Buy Asset", "Buy Value", "Sell Quantity", "Sell Asset", "Sell Value",
          "Fee Quantity", "Fee Asset", "Fee Value", "Wallet", "Timestamp", "Note"]


def bittytax_rows(events: list[Event], workdir: Path) -> list[dict[str, str]]:
    """BittyTax (UK individual) over `events`, in a child process whose HOME is `workdir`."""
    records = workdir / "records.csv"
    with records.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for e in sorted(events, key=lambda e: (e.at, e.seq)):
            stamp = e.at.isoformat()
            money = format(e.value, "f")
            if e.kind is Kind.ACQUIRE:
                out.writerow(["Trade", format(e.amount, "f"), e.asset, money, money, "GBP", money, "", "", "",
                              "Kraken", stamp, ""])
            else:
                out.writerow(["Trade", money, "GBP", money, format(e.amount, "f"), e.asset, money, "", "", "",
                              "Kraken", stamp, ""])
    proc = subprocess.run([sys.executable, str(HERE / "bittytax_script.py"), str(records)],
                          env={**os.environ, "HOME": str(workdir)}, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


RULES = {"Same Day": "same_day", "Bed & Breakfast": "thirty_day", "Section 104": "pool"}


def _compare_uk(events: list[Event], workdir: Path) -> tuple[dict, dict]:
    books = compute(events, "uk")
    assert books.shortfalls == []
    ours: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for d in books.disposals:
        key = (d.disposed_at.date().isoformat(), d.asset, d.rule)
        ours[key] += d.proceeds.quantize(CENT) - d.cost.quantize(CENT) - d.fees.quantize(CENT)
    theirs: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for row in bittytax_rows(events, workdir):
        theirs[(row["date"], row["asset"], RULES[row["type"]])] += Decimal(row["gain"])
    return dict(ours), dict(theirs)


def test_bittytax_agrees_on_the_simulator_truth(sim_truth_events: list[Event], tmp_path: Path) -> None:
    # BittyTax counts days in Europe/London; moments within an hour of midnight UTC could fall on another
    # London day, so the comparison uses the same day as ours: all moments are moved to noon of their UTC day.
    noon = [Event(e.kind, e.asset, e.at.replace(hour=12, minute=0, second=0, microsecond=0), e.amount, e.value,
                  entries=e.entries, seq=e.seq) for e in sim_truth_events if e.asset not in {"EUR", "USDT"}]
    ours, theirs = _compare_uk(noon, tmp_path)
    assert len(ours) > 100
    assert {r for _, _, r in ours} == {"same_day", "thirty_day", "pool"}
    assert ours == theirs
