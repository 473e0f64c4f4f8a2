"""Where a stream starts, where a sub-window ends, and how long the rest takes at the tier's pace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kraken_etl.core.callcounter import TIERS, pace_seconds
from kraken_etl.core.windows import Window, start_point, sub_window_cut, to_kraken_params, window_from

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LAG = timedelta(minutes=15)


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


@pytest.mark.parametrize(
    ("bookmark", "since", "stored", "start", "reason"),
    [
        (T0, T0 - timedelta(days=9), T0 + timedelta(days=1), T0 - LAG, "bookmark"),  # the bookmark always wins
        (None, T0 - timedelta(days=9), T0 + timedelta(days=1), T0 - timedelta(days=9), "since"),
        (None, None, T0 + timedelta(days=1), T0 + timedelta(days=1) - LAG, "stored data"),
        (None, None, None, None, "epoch"),
    ],
)
def test_start_point_precedence(bookmark: datetime | None, since: datetime | None, stored: datetime | None,
                                start: datetime | None, reason: str) -> None:
    point = start_point(bookmark, since, stored, LAG)
    assert (point.start, point.reason) == (start, reason)


def test_a_start_after_now_is_refused() -> None:
    with pytest.raises(ValueError, match="check the clock"):
        window_from(start_point(None, None, T0 + timedelta(hours=1), LAG), T0)


def test_cut_is_the_whole_second_before_the_probed_row() -> None:
    window = Window(T0, T0 + timedelta(days=1))
    cut = sub_window_cut(window, Decimal(unix(T0) + 5000) + Decimal("0.4321"))
    assert cut == T0 + timedelta(seconds=5000)  # Kraken returns time <= cut: strictly older than the probe


def test_a_probe_on_a_whole_second_still_cuts_before_it() -> None:
    # ties: rows at exactly 5000.0000 may sit on both sides of the probed offset; the cut leaves all of them
    window = Window(T0, T0 + timedelta(days=1))
    assert sub_window_cut(window, Decimal(unix(T0) + 5000)) == T0 + timedelta(seconds=4999)


def test_more_rows_in_one_second_than_the_bound_take_that_second_whole() -> None:
    window = Window(T0, T0 + timedelta(days=1))
    cut = sub_window_cut(window, Decimal(unix(T0)) + Decimal("0.5"))  # the oldest rows all in the first second
    assert cut == T0 + timedelta(seconds=1) and cut > window.start


def test_consecutive_sub_windows_cover_every_second_once_or_twice_never_zero_times() -> None:
    window = Window(T0 + timedelta(seconds=0.25), T0 + timedelta(seconds=100))
    cut = sub_window_cut(window, Decimal(unix(T0) + 40) + Decimal("0.7"))
    older, newer = to_kraken_params(Window(window.start, cut)), to_kraken_params(Window(cut, window.end))
    # Kraken: start exclusive, end inclusive; the newer window starts at or before the older one's end
    assert newer["start"] <= older["end"] < newer["end"]
    assert older["end"] - newer["start"] <= 1


def test_a_cut_never_passes_the_window_end() -> None:
    window = Window(T0, T0 + timedelta(seconds=10))
    assert sub_window_cut(window, Decimal(unix(T0) + 50)) == window.end


def test_pace_counts_the_burst_left_then_the_decay() -> None:
    starter = TIERS["starter"]  # 15, -0.33/s
    assert pace_seconds(starter, 100, 2) == pytest.approx(200 / 0.33)  # a full counter: all at the decay rate
    assert pace_seconds(starter, 100, 2, level=0.0) == pytest.approx((200 - 15) / 0.33)
    assert pace_seconds(starter, 5, 2, level=0.0) == 0.0
