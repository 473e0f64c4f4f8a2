from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kraken_etl.core.assets import is_known_asset, normalize_asset
from kraken_etl.core.windows import (
    Window,
    kraken_bounds,
    plan_backfill,
    plan_incremental,
    signpost,
    to_kraken_params,
)


@pytest.mark.parametrize(
    ("code", "normal"),
    [("XXBT", "BTC"), ("XBT", "BTC"), ("ZUSD", "USD"), ("ZEUR", "EUR"), ("XETH", "ETH"), ("XXDG", "DOGE"),
     ("XBT.M", "BTC.M"), ("ETH2.S", "ETH2.S"), ("DOT.S", "DOT.S"), ("USD.HOLD", "USD.HOLD"),
     ("EUR.HOLD", "EUR.HOLD"), ("USDT", "USDT"), ("XTZ", "XTZ"), ("KFEE", "KFEE"), ("BTC", "BTC"),
     ("USDT.F", "USDT.F"), ("XMLN", "MLN")],
)
def test_normalize_asset(code: str, normal: str) -> None:
    assert normalize_asset(code) == normal


@pytest.mark.parametrize(("code", "known"), [("XXBT", True), ("ETH2.S", True), ("USD.HOLD", True),
                                             ("NEWCOIN", False), ("NEWCOIN.S", False)])
def test_known_assets(code: str, known: bool) -> None:
    assert is_known_asset(code) is known


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_signpost_truncates() -> None:
    assert signpost(T0 + timedelta(seconds=5.7)) == T0 + timedelta(seconds=5)


def test_plan_incremental() -> None:
    assert plan_incremental(None, T0, timedelta(minutes=5)) == Window(None, T0)
    w = plan_incremental(T0 - timedelta(hours=1), T0, timedelta(minutes=5))
    assert w == Window(T0 - timedelta(minutes=65), T0)
    with pytest.raises(ValueError):
        plan_incremental(T0 + timedelta(hours=1), T0, timedelta(minutes=5))


def test_plan_backfill_covers_the_range_without_gaps() -> None:
    windows = plan_backfill(T0, T0 + timedelta(days=10), timedelta(days=3))
    assert [w.start for w in windows] == [T0 + timedelta(days=d) for d in (0, 3, 6, 9)]
    assert windows[-1].end == T0 + timedelta(days=10)
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))


@pytest.mark.parametrize(
    ("start", "end", "params"),
    [
        # whole seconds: start=S is inclusive for us, so Kraken's exclusive start is S-1
        (T0, T0 + timedelta(seconds=10), {"start": 1767225599, "end": 1767225610}),
        # fractional: ceil
        (T0 + timedelta(seconds=0.5), T0 + timedelta(seconds=9.5), {"start": 1767225600, "end": 1767225610}),
        (None, T0, {"end": 1767225600}),
    ],
)
def test_to_kraken_params(start: datetime | None, end: datetime, params: dict[str, int]) -> None:
    assert to_kraken_params(Window(start, end)) == params


def test_kraken_bounds_cover_the_window() -> None:
    w = Window(T0 + timedelta(seconds=0.25), T0 + timedelta(seconds=3.75))
    low, high = kraken_bounds(w)
    assert low is not None and low < Decimal("1767225600.25") and high >= Decimal("1767225603.75")


def test_windows_reject_naive_and_empty() -> None:
    with pytest.raises(ValueError):
        Window(None, datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        Window(T0, T0)
