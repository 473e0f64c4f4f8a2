from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

from kraken_etl.core.callcounter import TIERS
from kraken_etl.kraken.clock import SystemClock
from kraken_etl.kraken.nonce import FileNonceSource, MemoryNonceSource, key_id
from kraken_etl.kraken.ratelimit import SharedCounter, counter_for
from tests.kraken.conftest import FakeClock


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
