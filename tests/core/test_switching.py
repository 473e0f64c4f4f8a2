"""Holds on the interpreter's switch interval stack: the smallest asked for applies, and the interpreter's
own value comes back when the last hold ends, in whichever order they end."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from kraken_etl.core.switching import hold_switch_interval, lowered_switch_interval


@pytest.fixture(autouse=True)
def _own_value() -> Iterator[float]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.004)
    yield 0.004
    sys.setswitchinterval(before)


@pytest.mark.parametrize("order", ["first_out_first", "last_out_first"])
def test_overlapping_holds_end_at_the_interpreters_value(order: str) -> None:
    listener = hold_switch_interval(0.0005)
    assert sys.getswitchinterval() == pytest.approx(0.0005)
    file_load = hold_switch_interval(0.001)  # a larger ask never raises the interval
    assert sys.getswitchinterval() == pytest.approx(0.0005)
    first, second = (listener, file_load) if order == "first_out_first" else (file_load, listener)
    first()
    assert sys.getswitchinterval() == pytest.approx(0.0005 if first is file_load else 0.001)
    second()
    assert sys.getswitchinterval() == pytest.approx(0.004)


def test_a_release_called_twice_releases_once_and_the_block_form_restores_on_error() -> None:
    release = hold_switch_interval(0.001)
    other = hold_switch_interval(0.002)
    release()
    release()  # a second call must not drop the other hold
    assert sys.getswitchinterval() == pytest.approx(0.002)
    other()
    with pytest.raises(RuntimeError), lowered_switch_interval(0.0005):
        assert sys.getswitchinterval() == pytest.approx(0.0005)
        raise RuntimeError("the job failed")
    assert sys.getswitchinterval() == pytest.approx(0.004)
