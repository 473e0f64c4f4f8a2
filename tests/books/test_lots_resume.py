"""Resuming the lot engine from a checkpoint gives, from there on, exactly the rows of a run from the beginning.

Seeded ledgers of trades (several a day, so same-day and 30-day matches happen), rewards, deposits and
withdrawals; then new entries appear (appended, and inserted in the past). For each method: the run over the
new ledger from the beginning equals the rows of the old run before each asset's checkpoint plus the resumed
run's rows after it (every field, in order), and the resumed run's checkpoints equal the full run's."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from kraken_etl.books.event_lines import LedgerLine
from kraken_etl.books.lots import compute
from kraken_etl.books.lots_checkpoint import decode, encode, resume_target
from kraken_etl.books.lots_model import Books, Checkpoint, Method
from kraken_etl.books.treatments_events import ledger_to_events

PRICES = {"BTC": 40000, "ETH": 2500}
START = datetime(2024, 1, 1, tzinfo=UTC)


def ledger(seed: int, n: int, start: datetime = START, prefix: str = "") -> list[LedgerLine]:
    rng = random.Random(seed)
    at, lines, held = start, [], dict.fromkeys(PRICES, D(0))
    for i in range(n):
        at += timedelta(hours=rng.randint(1, 30))
        asset = rng.choice(list(PRICES))
        price = D(PRICES[asset] * rng.randint(80, 120)) / 100
        quantity = D(rng.randint(1, 300)) / 100
        roll, ids = rng.random(), f"{prefix}{i}"
        if roll < 0.05:
            lines.append(LedgerLine(f"D{ids}", f"D{ids}", at, "deposit", "", asset, quantity, D(0), price))
            held[asset] += quantity
        elif roll < 0.1:
            lines.append(LedgerLine(f"R{ids}", f"R{ids}", at, "staking", "", asset, quantity / 10, D(0), price))
            held[asset] += quantity / 10
        elif roll < 0.13 and held[asset] > quantity:
            lines.append(LedgerLine(f"W{ids}", f"W{ids}", at, "withdrawal", "", asset, -quantity, D(0), price))
            held[asset] -= quantity
        else:
            sign = 1 if roll < 0.6 or held[asset] < quantity else -1
            usd = (quantity * price).quantize(D("0.01"))
            lines.append(LedgerLine(f"U{ids}", f"T{ids}", at, "trade", "", "USD", -sign * usd, usd / 400, D(1)))
            lines.append(LedgerLine(f"A{ids}", f"T{ids}", at, "trade", "", asset, sign * quantity, D(0), price))
            held[asset] += sign * quantity
    return lines


def rows(books: Books, asset: str, since: datetime | None) -> dict[str, list[Any]]:
    def keep(at: datetime) -> bool:
        return since is None or at >= since
    return {
        "disposals": [d for d in books.disposals if d.asset == asset and keep(d.disposed_at)],
        "income": [i for i in books.income if i.asset == asset and keep(i.at)],
        "holdings": [h for h in books.holdings if h.asset == asset and keep(h.at)],
        "shortfalls": [s for s in books.shortfalls if s.asset == asset and keep(s.at)],
        "transfers": [t for t in books.transfers if t.asset == asset and keep(t.at)],
    }


def full(lines: list[LedgerLine], method: Method) -> Books:
    return compute(ledger_to_events(lines, currency="USD").events, method, checkpoints=True)


def resumed(old: Books, lines: list[LedgerLine], changed: dict[str, datetime], method: Method) -> tuple[Books, dict]:
    """Resume each changed asset from the latest checkpoint of the old run at or before its target (a
    checkpoint's state is stored as JSON: encoded and decoded here as well)."""
    start: dict[str, Checkpoint] = {}
    for asset, earliest in changed.items():
        target = resume_target(method, earliest)
        usable = [c for c in old.checkpoints if c.asset == asset and c.at <= target]
        if usable:
            c = usable[-1]
            start[asset] = Checkpoint(asset, c.at, decode(method, encode(method, c.state)))
        else:
            start[asset] = Checkpoint(asset, target, decode(method, encode(method, _empty(method))))
    since = {asset: c.at for asset, c in start.items()}
    events = ledger_to_events(lines, currency="USD", since=since).events
    return compute(events, method, resume=start, checkpoints=True), since


def _empty(method: Method) -> dict[str, Any]:
    return {"pool": None, "pool_last": None, "draws": []} if method is Method.UK else {"lots": [], "last": None,
                                                                                       "count": 0}


@pytest.mark.parametrize("method", list(Method))
@pytest.mark.parametrize("case", ["appended", "inserted_in_the_past", "nothing_new"])
def test_a_resumed_run_equals_a_run_from_the_beginning(method: Method, case: str) -> None:
    old_lines = ledger(11, 700)
    if case == "appended":
        new = ledger(12, 40, old_lines[-1].at - timedelta(days=2), prefix="n")
    elif case == "inserted_in_the_past":
        new = ledger(13, 15, old_lines[300].at, prefix="p")
    else:
        new = []
    lines = sorted(old_lines + new, key=lambda line: (line.at, line.ledger_id))
    old, whole = full(old_lines, method), full(lines, method)
    changed: dict[str, datetime] = {}
    for line in new:
        if line.asset != "USD":
            changed[line.asset] = min(changed.get(line.asset, line.at), line.at)
    part, since = resumed(old, lines, changed, method)
    assert (case == "nothing_new") == (not since)
    for asset in PRICES:
        if asset not in since:
            assert rows(whole, asset, None) == rows(old, asset, None)
            continue
        assert since[asset] < min(line.at for line in new if line.asset == asset)
        before, dropped = rows(old, asset, None), rows(old, asset, since[asset])
        after, want = rows(part, asset, since[asset]), rows(whole, asset, None)
        for key in want:  # the old run's rows before the checkpoint, then the resumed run's
            head = before[key][:len(before[key]) - len(dropped[key])]
            assert head + after[key] == want[key], (asset, key)
        mine = [c for c in part.checkpoints if c.asset == asset]
        theirs = [c for c in whole.checkpoints if c.asset == asset and c.at > since[asset]]
        assert [(c.at, c.state) for c in mine] == [(c.at, c.state) for c in theirs]
    if method is Method.UK and case != "nothing_new":
        rules = {d.rule for d in whole.disposals}
        assert {"same_day", "thirty_day", "pool"} <= rules


def test_a_checkpoint_that_does_not_fit_the_events_is_refused() -> None:
    lines = ledger(11, 300)
    whole = full(lines, Method.UK)
    crossing = [c for c in whole.checkpoints if c.state["draws"]]
    assert crossing
    c = crossing[0]
    events = [e for e in ledger_to_events(lines, currency="USD").events if e.asset == c.asset and e.kind.value
              != "acquire"]
    with pytest.raises(ValueError, match="checkpoint"):
        compute(events, Method.UK, resume={c.asset: c})
