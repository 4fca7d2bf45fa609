"""The first-contact deadline in working time: exactly `minutes` of working time after the start, never
earlier, across nights, weekends, days the window excludes and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from routing.hours import DAYS, WorkingHours, due_at, minute_of, working_time

pytestmark = pytest.mark.unit

KOLKATA = ZoneInfo("Asia/Kolkata")
ZONES = [ZoneInfo(name) for name in ("Asia/Kolkata", "Europe/London", "America/New_York", "Australia/Adelaide")]
MON_SAT = WorkingHours.parse("09:00", "19:00", list(DAYS[:6]))


def local(text: str, zone: ZoneInfo = KOLKATA) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        ("2026-11-25 10:00", 15, "2026-11-25 10:15"),  # inside the window (a Wednesday)
        ("2026-11-25 18:55", 15, "2026-11-26 09:10"),  # across a night
        ("2026-11-25 23:30", 15, "2026-11-26 09:15"),  # assigned at night
        ("2026-11-26 06:00", 15, "2026-11-26 09:15"),  # before opening
        ("2026-11-28 18:50", 15, "2026-11-30 09:05"),  # Saturday evening: Sunday is not a working day
        ("2026-11-29 12:00", 15, "2026-11-30 09:15"),  # Sunday
        ("2026-11-25 10:00", 600, "2026-11-26 10:00"),  # a whole working day
        ("2026-11-25 19:00", 1, "2026-11-26 09:01"),  # the window's end is outside it
    ],
)
def test_examples(start: str, minutes: int, expected: str) -> None:
    assert due_at(local(start), minutes, MON_SAT, KOLKATA) == local(expected)


def test_all_day_every_day_is_plain_minutes_and_24_00_is_midnight() -> None:
    always = WorkingHours.parse("00:00", "24:00", list(DAYS))
    start = local("2026-11-25 23:58")
    assert due_at(start, 15, always, KOLKATA) == start + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("start", "end", "days", "problem"),
    [
        ("19:00", "09:00", ["mon"], "after start"),
        ("09:00", "09:00", ["mon"], "after start"),
        ("9:00", "19:00", ["mon"], "HH:MM"),
        ("09:60", "19:00", ["mon"], "00:00 to 24:00"),
        ("09:00", "24:01", ["mon"], "00:00 to 24:00"),
        ("09:00", "19:00", [], "days"),
        ("09:00", "19:00", ["monday"], "days"),
    ],
)
def test_bad_windows_are_refused(start: str, end: str, days: list[str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        WorkingHours.parse(start, end, days)


def test_minute_of() -> None:
    assert (minute_of("00:00"), minute_of("09:30"), minute_of("24:00")) == (0, 570, 1440)


windows = st.tuples(
    st.integers(min_value=0, max_value=24 * 60 - 1), st.integers(min_value=1, max_value=24 * 60)
).filter(lambda pair: pair[0] < pair[1])
day_sets = st.sets(st.sampled_from(DAYS), min_size=1, max_size=7)
instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)


@settings(max_examples=300, deadline=None)
@given(
    window=windows,
    days=day_sets,
    start=instants,
    minutes=st.integers(min_value=1, max_value=3 * 24 * 60),
    zone=st.sampled_from(ZONES),
)
@example(  # found by a make test run: a start a microsecond past the minute, due a microsecond into next week's window
    window=(35, 365),
    days={"tue"},
    start=datetime(2025, 4, 1, 0, 0, 0, 1, tzinfo=UTC),
    minutes=365,
    zone=ZoneInfo("Asia/Kolkata"),
)
def test_the_deadline_is_exactly_the_working_minutes_and_falls_inside_the_window(
    window: tuple[int, int], days: set[str], start: datetime, minutes: int, zone: ZoneInfo
) -> None:
    hours = WorkingHours(window[0], window[1], frozenset(DAYS.index(day) for day in days))
    due = due_at(start, minutes, hours, zone)
    assert due >= start + timedelta(minutes=minutes)  # working time never runs faster than the clock
    assert working_time(start, due, hours, zone) == timedelta(minutes=minutes)
    # The deadline is inside a working window (or at its end): the instant before it is still working time (a
    # microsecond, not a second: a start a microsecond past the minute ends a microsecond into a window).
    tick = timedelta(microseconds=1)
    assert working_time(due - tick, due, hours, zone) == tick
    local_day = (due - tick).astimezone(zone)
    assert DAYS[local_day.weekday()] in days


@settings(max_examples=100, deadline=None)
@given(start=instants, minutes=st.integers(min_value=1, max_value=600), days=day_sets)
def test_a_start_on_an_excluded_day_waits_for_the_next_working_day(
    start: datetime, minutes: int, days: set[str]
) -> None:
    hours = WorkingHours(9 * 60, 19 * 60, frozenset(DAYS.index(day) for day in days))
    due = due_at(start, minutes, hours, KOLKATA)
    if DAYS[start.astimezone(KOLKATA).weekday()] not in days:
        assert due.astimezone(KOLKATA).date() > start.astimezone(KOLKATA).date()
