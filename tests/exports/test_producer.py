"""The producer of a file load's batches: a forked child, one item ahead, errors raised when due."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from kraken_etl.core.exportheader import ExportFileError
from kraken_etl.jobs.fileload import read_ahead
from kraken_etl.jobs.producer import produce


def _pids(n: int) -> Iterator[tuple[int, int]]:
    for i in range(n):
        yield i, os.getpid()


def test_items_come_in_order_from_another_process() -> None:
    items = list(produce(lambda: _pids(30), read_ahead, "process"))
    assert [i for i, _ in items] == list(range(30))
    assert {pid for _, pid in items} != {os.getpid()}, "computed in the child, not here"


@pytest.mark.parametrize("mode", ["thread", "inline"])
def test_the_other_modes_give_the_same_items_here(mode: str) -> None:
    items = list(produce(lambda: _pids(5), read_ahead, mode))
    assert [i for i, _ in items] == list(range(5)) and {pid for _, pid in items} == {os.getpid()}


def _failing() -> Iterator[int]:
    yield 1
    yield 2
    raise ExportFileError("malformed CSV near line 3: boom")


def test_an_error_in_the_child_is_raised_here_when_its_item_is_due() -> None:
    got = []
    with pytest.raises(ExportFileError, match="near line 3"):
        for item in produce(_failing, read_ahead, "process"):
            got.append(item)
    assert got == [1, 2]


def _forever() -> Iterator[int]:
    while True:
        yield os.getpid()


def test_stopping_early_ends_the_child() -> None:
    stream = produce(_forever, read_ahead, "process")
    child = next(stream)
    assert child != os.getpid() and os.path.exists(f"/proc/{child}")
    stream.close()  # the generator's finally: the child is terminated and reaped, not left running
    assert not os.path.exists(f"/proc/{child}")
