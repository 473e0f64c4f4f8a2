"""The read-ahead used by file loads: order, errors, early stop, the worker thread; and the relaxed GC."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from kraken_etl.core.tuning import relaxed_gc
from kraken_etl.jobs.producer import read_ahead


def test_yields_every_item_in_order() -> None:
    assert list(read_ahead(iter(range(50)))) == list(range(50))


def test_empty_input_yields_nothing() -> None:
    assert list(read_ahead(iter([]))) == []


def test_items_are_computed_on_another_thread() -> None:
    def produce() -> Iterator[int]:
        for _ in range(3):
            yield threading.get_ident()

    idents = list(read_ahead(produce()))
    assert threading.get_ident() not in idents


def test_an_error_surfaces_when_its_item_is_due() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("row 3 is bad")

    got = []
    with pytest.raises(ValueError, match="row 3 is bad"):
        for item in read_ahead(produce()):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_computes_at_most_one_item_ahead() -> None:
    pulled = []

    def produce() -> Iterator[int]:
        for number in range(100):
            pulled.append(number)
            yield number

    stream = read_ahead(produce())
    assert [next(stream), next(stream)] == [0, 1]
    stream.close()
    assert pulled == [0, 1, 2]


def test_relaxed_gc_raises_the_threshold_and_restores_it_after_nesting() -> None:
    before = gc.get_threshold()
    with relaxed_gc():
        inside = gc.get_threshold()
        with relaxed_gc():
            assert gc.get_threshold() == inside
        assert gc.get_threshold() == inside
    assert inside[0] >= 50_000
    assert inside[1:] == before[1:]
    assert gc.get_threshold() == before


def test_relaxed_gc_restores_the_threshold_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), relaxed_gc():
        raise RuntimeError("load failed")
    assert gc.get_threshold() == before


def test_the_switch_interval_is_lowered_while_reading_ahead_and_restored_after() -> None:
    import sys

    from kraken_etl.jobs.producer import SWITCH_INTERVAL

    before = sys.getswitchinterval()
    seen = [sys.getswitchinterval() for _ in read_ahead(iter(range(3)))]
    assert seen == [SWITCH_INTERVAL] * 3 and SWITCH_INTERVAL < before
    assert sys.getswitchinterval() == before


def test_produce_gives_every_item_in_order_computed_ahead() -> None:
    from kraken_etl.jobs.producer import produce

    def items() -> Iterator[tuple[int, str]]:
        for i in range(20):
            yield i, threading.current_thread().name

    got = list(produce(items))
    assert [i for i, _ in got] == list(range(20))
    assert {name for _, name in got} == {"kraken-etl-read-ahead_0"}  # computed in the worker, not here
