"""Working hours and the first-contact deadline: pure functions of UTC instants and the organization's zone.

An SLA clock runs only inside the working window of each working day, in the organization's time zone: a
lead assigned at 18:55 with 15 minutes and hours 09:00-19:00 is due at 09:10 on the next working day. The
window is [start, end) of local wall time on each day named in `days`; "24:00" ends a window at midnight.
Days whose window falls in a daylight-saving gap are taken as the zone resolves their wall times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Local wall-clock start and end minutes of the working window, on the given weekdays (0 = Monday)."""

    start_minute: int
    end_minute: int
    weekdays: frozenset[int]

    @classmethod
    def parse(cls, start: str, end: str, days: Sequence[str]) -> WorkingHours:
        """From "HH:MM" strings and day names ("mon" ... "sun"); ValueError naming what is wrong."""
        start_minute, end_minute = minute_of(start), minute_of(end)
        if end_minute <= start_minute:
            raise ValueError("end must be after start (no window across midnight)")
        unknown = [day for day in days if day not in DAYS]
        if unknown or not days:
            raise ValueError("days must name at least one of " + ", ".join(DAYS))
        return cls(start_minute, end_minute, frozenset(DAYS.index(day) for day in days))

    def window(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The day's working window as UTC instants, or None when the day is not a working day."""
        if day.weekday() not in self.weekdays:
            return None
        return _at(day, self.start_minute, zone), _at(day, self.end_minute, zone)


def minute_of(text: str) -> int:
    """Minutes after midnight of "HH:MM" (00:00 to 24:00); ValueError otherwise."""
    hours, sep, minutes = text.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError("times are HH:MM")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise ValueError("times run from 00:00 to 24:00")
    return value


def _at(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time on a day (minute 1440 is the next day's midnight)."""
    # Adding to an aware datetime moves its wall clock: this is the local wall time `minute` of the day.
    return (datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=minute)).astimezone(UTC)


def due_at(start: datetime, minutes: int, hours: WorkingHours, zone: ZoneInfo) -> datetime:
    """The instant when `minutes` of working time have passed since `start` (an aware datetime)."""
    remaining = timedelta(minutes=minutes)
    cursor = start.astimezone(UTC)
    day = cursor.astimezone(zone).date() - timedelta(days=1)  # a window of yesterday may still be open
    # Every week holds at least one working minute, so the deadline lies within minutes + 2 weeks.
    for _ in range(7 * (minutes + 2)):
        window = hours.window(day, zone)
        day += timedelta(days=1)
        if window is None or window[1] <= cursor:
            continue
        opens = max(window[0], cursor)
        if opens + remaining <= window[1]:
            return opens + remaining
        remaining -= window[1] - opens
        cursor = window[1]
    raise ValueError("no working window found")  # unreachable: a window opens every week


def working_time(start: datetime, end: datetime, hours: WorkingHours, zone: ZoneInfo) -> timedelta:
    """How much working time lies between two instants (zero when end is not after start)."""
    total = timedelta(0)
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        window = hours.window(day, zone)
        if window is not None:
            overlap = min(window[1], end) - max(window[0], start)
            total += max(overlap, timedelta(0))
        day += timedelta(days=1)
    return total
