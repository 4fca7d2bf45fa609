"""The one source of "now", replaceable in tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current time."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved: for tests."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        """The time this clock was set to."""
        return self.at


_clock: Clock = SystemClock()


def now() -> datetime:
    """The current UTC time of the installed clock."""
    return _clock.now()


def install(clock: Clock) -> Clock:
    """Replace the clock (tests); returns the previous one."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def rfc3339(value: datetime) -> str:
    """An aware datetime as an RFC 3339 UTC string with milliseconds."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
