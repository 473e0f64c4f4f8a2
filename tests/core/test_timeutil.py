from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kraken_etl.core.timeutil import (
    from_unix,
    from_unix_ns,
    parse_export_time,
    parse_rfc3339,
    to_unix,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1688464484.1787", datetime(2023, 7, 4, 9, 54, 44, 178700, tzinfo=UTC)),
        (Decimal("1680777419.8115911"), datetime(2023, 4, 6, 10, 36, 59, 811591, tzinfo=UTC)),
        (1688669448, datetime(2023, 7, 6, 18, 50, 48, tzinfo=UTC)),
        ("0", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_from_unix(raw: str | Decimal | int, expected: datetime) -> None:
    assert from_unix(raw) == expected


def test_from_unix_refuses_float() -> None:
    with pytest.raises(ValueError):
        from_unix(1688464484.1787)  # type: ignore[arg-type]


def test_round_trip_is_exact_to_the_microsecond() -> None:
    moment = from_unix("1688464484.178712")
    assert to_unix(moment) == Decimal("1688464484.178712")


def test_nanoseconds() -> None:
    assert from_unix_ns(1724158070287557853) == datetime(2024, 8, 20, 12, 47, 50, 287557, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-19 19:43:31.6798", datetime(2024, 3, 19, 19, 43, 31, 679800, tzinfo=UTC)),
        ("2025-02-14 22:18:09", datetime(2025, 2, 14, 22, 18, 9, tzinfo=UTC)),
    ],
)
def test_export_times(text: str, expected: datetime) -> None:
    assert parse_export_time(text) == expected


def test_rfc3339() -> None:
    assert parse_rfc3339("2023-09-22T10:33:05.709950Z") == datetime(
        2023, 9, 22, 10, 33, 5, 709950, tzinfo=UTC
    )


def test_naive_datetime_refused() -> None:
    with pytest.raises(ValueError):
        to_unix(datetime(2024, 1, 1))
