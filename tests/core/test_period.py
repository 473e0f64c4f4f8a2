"""One date-range convention for every command: `--from` and `--to` inclusive, printed back exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kraken_etl.core.period import Period, PeriodError, resolve_period

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def test_a_day_given_as_to_runs_through_the_end_of_that_day() -> None:
    period = resolve_period("2024-01-01", "2024-01-31", now=NOW)
    assert (period.start, period.end) == (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
    assert period.describe() == "2024-01-01T00:00:00Z ≤ t < 2024-02-01T00:00:00Z"
    assert (period.first_day, period.last_day) == (date(2024, 1, 1), date(2024, 1, 31))


def test_one_day_is_a_whole_day() -> None:
    assert resolve_period("2024-03-05", "2024-03-05", now=NOW).describe() == (
        "2024-03-05T00:00:00Z ≤ t < 2024-03-06T00:00:00Z")


def test_a_moment_given_as_to_is_included_as_written() -> None:
    period = resolve_period("2024-01-01T06:00:00Z", "2024-01-01T12:00:00+00:00", now=NOW)
    assert period.describe() == "2024-01-01T06:00:00Z ≤ t < 2024-01-01T12:00:00.000001Z"
    assert period.last_day == date(2024, 1, 1)


def test_naive_moments_are_utc() -> None:
    assert resolve_period("2024-01-01T01:00", "2024-01-02", now=NOW).start == datetime(2024, 1, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("date_from", "date_to", "option", "words"), [
    ("2030-01-01", "2030-02-01", "--from", "starts in the future"),
    ("2024-02-01", "2024-01-01", "--to", "ends before it starts"),
    ("2024-01-02T00:00:00Z", "2024-01-01T23:59:59Z", "--to", "ends before it starts"),
    ("yesterday", "2024-01-01", "--from", "is not a date"),
    ("2024-01-01", "2024-13-01", "--to", "is not a date"),
])
def test_unusable_ranges_name_the_option(date_from: str, date_to: str, option: str, words: str) -> None:
    with pytest.raises(PeriodError, match=words) as caught:
        resolve_period(date_from, date_to, now=NOW)
    assert caught.value.option == option


def test_a_range_that_ends_in_the_future_is_accepted() -> None:
    assert resolve_period("2026-12-01", "2026-12-31", now=NOW).end == datetime(2027, 1, 1, tzinfo=UTC)


def test_resolved_moments_pass_through_unchanged() -> None:
    period = Period(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
    assert resolve_period(period.start, period.end, now=NOW) == period
    assert Period.of_days(date(2024, 1, 1), date(2024, 1, 31)) == period
