"""Pure parts of visits: great-circle distance, the iCalendar file, reminder slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reminders.service import task_name, visit_plans
from visits import geo, invite

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def test_great_circle_distances() -> None:
    assert geo.distance_m(12.9716, 77.5946, 12.9716, 77.5946) == 0
    assert 111_150 < geo.distance_m(0, 0, 1, 0) < 111_250  # one degree of latitude
    assert 837_000 < geo.distance_m(12.9716, 77.5946, 19.0760, 72.8777) < 847_000  # Bengaluru-Mumbai
    assert 20_015_000 < geo.distance_m(0, 0, 0, 180) < 20_016_000  # half the equator


def test_the_calendar_file_parses_with_zone_uid_sequence_and_method() -> None:
    import icalendar

    start = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
    raw = invite.build_ics(
        org_id="o",
        visit_id="v1",
        start=start,
        sequence=3,
        method="CANCEL",
        time_zone="Asia/Kolkata",
        summary="Site visit",
        location="1 MG Road",
        organizer_email="agent@example.com",
        organizer_name="Anil",
        attendee_email="buyer@example.net",
        now=NOW,
    )
    calendar = icalendar.Calendar.from_ical(raw)
    event = calendar.walk("VEVENT")[0]
    assert str(calendar["method"]) == "CANCEL" and str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == invite.visit_uid("o", "v1") and event.decoded("sequence") == 3
    assert event.decoded("dtstart") == start and event.decoded("dtend") == start + timedelta(hours=1)
    assert b"DTSTART;TZID=Asia/Kolkata:20261127T103000" in raw and calendar.walk("VTIMEZONE")


def test_visit_slots_drop_the_past_and_fire_at_once_within_the_hour() -> None:
    visit = {"status": "scheduled", "scheduledAt": NOW + timedelta(days=2), "leadId": "l"}
    assert [p.slot for p in visit_plans("o", "v", visit, NOW)] == ["day", "hour"]
    soon = visit | {"scheduledAt": NOW + timedelta(hours=5)}
    assert [(p.slot, p.fire_at) for p in visit_plans("o", "v", soon, NOW)] == [("hour", NOW + timedelta(hours=4))]
    close = visit | {"scheduledAt": NOW + timedelta(minutes=10)}
    assert [(p.slot, p.fire_at) for p in visit_plans("o", "v", close, NOW)] == [("hour", NOW)]
    assert visit_plans("o", "v", visit | {"status": "cancelled"}, NOW) == []
    assert visit_plans("o", "v", visit | {"scheduledAt": NOW - timedelta(minutes=1)}, NOW) == []


def test_task_names_are_valid_cloud_tasks_ids_and_change_with_time_and_generation() -> None:
    import re

    first = task_name("rec", NOW, 1)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,500}", first)
    assert first == task_name("rec", NOW, 1)
    assert first != task_name("rec", NOW, 2) and first != task_name("rec", NOW + timedelta(minutes=1), 1)
