from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from kraken_etl.core.callcounter import TIERS
from kraken_etl.core.clock import SystemClock
from kraken_etl.kraken.nonce import FileNonceSource, MemoryNonceSource, key_id
from kraken_etl.kraken.ratelimit import SharedCounter, counter_for
from tests.kraken.conftest import FakeClock
from tests.oracle import refused_calls


def test_memory_nonces_increase_even_when_the_clock_stands_still() -> None:
    clock = FakeClock()
    source = MemoryNonceSource(clock)
    got = []
    for _ in range(5):
        with source.hold() as n:
            got.append(n)
    assert got == sorted(set(got)) and got[0] == int(clock.now() * 1000)


def _draw(path: str, count: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    source = FileNonceSource(Path(path), "k", SystemClock())
    seen = []
    for _ in range(count):
        with source.hold() as n:
            seen.append(n)
    out.put(seen)


def test_file_nonces_are_unique_and_increasing_across_threads_and_processes(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_draw, args=(str(tmp_path), 200, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    source = FileNonceSource(tmp_path, "k", SystemClock())
    mine: list[int] = []
    lock = threading.Lock()

    def draw() -> None:
        for _ in range(100):
            with source.hold() as n:
                with lock:
                    mine.append(n)

    threads = [threading.Thread(target=draw) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = [queue.get(timeout=30) for _ in procs]
    for p in procs:
        p.join()
    every = mine + [n for r in results for n in r]
    assert len(every) == len(set(every)) == 900
    for r in results:
        assert r == sorted(r)


def test_file_nonce_survives_a_clock_going_backwards(tmp_path: Path) -> None:
    ahead = FakeClock(2_000_000_000)
    with FileNonceSource(tmp_path, "k", ahead).hold() as first:
        pass
    with FileNonceSource(tmp_path, "k", FakeClock(1_000_000_000)).hold() as second:
        pass
    assert second == first + 1


def test_key_id_does_not_reveal_the_key() -> None:
    assert "secret" not in key_id("secret-key") and len(key_id("x")) == 24


def test_shared_counter_serialises_workers_of_one_key() -> None:
    clock = FakeClock()
    counter = SharedCounter(TIERS["pro"], margin=0)
    waits: list[float] = []

    def work() -> None:
        for _ in range(10):
            waits.append(counter.acquire(2, clock))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 80 units; 20 at once, the rest at 1/s: at least 60 s of (fake) time must have passed
    assert clock.now() - 1_790_000_000.0 >= 60 - 1e-6
    assert counter.level(clock) <= 20


def test_counter_registry_is_per_key() -> None:
    tier = TIERS["starter"]
    assert counter_for("a", tier) is counter_for("a", tier)
    assert counter_for("a", tier) is not counter_for("b", tier)


def test_penalise_fills_the_counter() -> None:
    clock = FakeClock()
    counter = SharedCounter(TIERS["starter"], margin=0)
    counter.penalise(clock)
    assert counter.acquire(1, clock) == pytest_approx(1 / 0.33)


def pytest_approx(x: float) -> object:
    import pytest

    return pytest.approx(x, rel=1e-6)


# -- the counter shared by processes through its state file -------------------------------------------


def test_two_processes_models_of_one_key_share_the_state_file(tmp_path: Path) -> None:
    """Two `SharedCounter`s on one state file stand for two processes: the second waits for the first."""
    clock = FakeClock()
    state = tmp_path / "k.state"
    first = SharedCounter(TIERS["pro"], margin=0, state_file=state)
    second = SharedCounter(TIERS["pro"], margin=0, state_file=state)
    assert sum(first.acquire(2, clock) for _ in range(10)) == 0  # 20 units: the pro tier's burst
    assert second.acquire(2, clock) == pytest_approx(2.0)  # 2 units at 1/s
    assert first.level(clock) == pytest_approx(20.0)


def test_without_a_state_file_models_do_not_see_each_other() -> None:
    clock = FakeClock()
    first, second = SharedCounter(TIERS["pro"], margin=0), SharedCounter(TIERS["pro"], margin=0)
    for _ in range(10):
        first.acquire(2, clock)
    assert second.acquire(2, clock) == 0


def test_penalise_reaches_the_other_processes(tmp_path: Path) -> None:
    clock = FakeClock()
    state = tmp_path / "k.state"
    SharedCounter(TIERS["starter"], margin=0, state_file=state).penalise(clock)
    assert SharedCounter(TIERS["starter"], margin=0, state_file=state).acquire(1, clock) == pytest_approx(1 / 0.33)


@pytest.mark.parametrize("damaged", ["not a counter", "nan nan", "3 inf", "\xff\xfe"])
def test_a_damaged_state_file_is_taken_as_a_full_counter(tmp_path: Path, damaged: str) -> None:
    clock = FakeClock()
    state = tmp_path / "k.state"
    state.write_text(damaged, encoding="latin-1")
    assert SharedCounter(TIERS["pro"], margin=0, state_file=state).acquire(1, clock) == pytest_approx(1.0)
    assert state.read_text().split()[1] == repr(clock.now())


def test_the_registry_keeps_file_backed_and_in_memory_counters_apart(tmp_path: Path) -> None:
    tier = TIERS["starter"]
    on_file = counter_for("a", tier, tmp_path)
    assert on_file is counter_for("a", tier, tmp_path)
    assert on_file is not counter_for("a", tier)
    assert on_file.state_file == tmp_path / "a.state"


FAST = TIERS["pro"].scaled(40)  # limit 20, decays 40/s


class _LastReading(SystemClock):
    """The system clock, remembering its last reading: after `acquire`, the time the counter's state was
    written, inside the lock (so the readings of all processes are in the order the calls were granted)."""

    last = 0.0

    def now(self) -> float:
        self.last = super().now()
        return self.last


def _spend(directory: str, calls: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    clock = _LastReading()
    counter = SharedCounter(FAST, state_file=Path(directory) / "k.state")
    stamps = []
    for _ in range(calls):
        counter.acquire(2, clock)
        stamps.append(clock.last)
    out.put(stamps)


def test_processes_on_one_key_never_overflow_the_counter_together(tmp_path: Path) -> None:
    """Three real processes spend 2 units 15 times each (90 units against a burst of 20): replayed in time
    order against Kraken's model of the counter, no call would have been refused."""
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_spend, args=(str(tmp_path), 15, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    stamps = sorted(stamp for _ in procs for stamp in queue.get(timeout=60))
    for p in procs:
        p.join()
    # Judged by the oracle's own replay of Kraken's counter, not by the CallCounter the client and the
    # simulator both use.
    refused = refused_calls(stamps, cost=2, limit=20, decay_per_second=1.0 * 40)  # Pro as documented, sped up 40 times
    assert len(stamps) == 45
    assert refused == []
    assert stamps[-1] - stamps[0] >= (90 - 20) / 40 * 0.95  # the other processes' calls were waited for


def test_a_state_written_in_the_future_still_decays(tmp_path: Path) -> None:
    """The clock was stepped back an hour after a full counter was saved: the wait is one cool-down, not an
    hour."""
    clock = FakeClock()
    state = tmp_path / "k.state"
    state.write_text(f"20.0 {clock.now() + 3600!r}")
    assert SharedCounter(TIERS["pro"], margin=0, state_file=state).acquire(2, clock) == pytest_approx(2.0)
