"""The weekly report email on the emulator: Monday 09:05 in the organization's zone sends one per active manager
and admin, with the tables and the funnel chart inline; a second run, Sunday and 10:05 send none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench import reports_data
from core import clock, tenancy
from reports import service, weekly
from reports.models import ReportQuery
from tests.support.callers import make_caller
from tests.support.factory import Person, add_person, make_org
from tests.support.outbox import messages_to

pytestmark = pytest.mark.service

ORG = "wk"
MONDAY_0905_IST = datetime(2026, 11, 30, 3, 35, tzinfo=UTC)


@pytest.fixture
def people(db: Any) -> Iterator[dict[str, Person]]:
    """An admin, two managers, an agent and a deactivated manager, with two weeks of counted history."""
    previous = clock.install(clock.FixedClock(MONDAY_0905_IST))
    try:
        admin = make_org(ORG)
        built = {
            "admin": admin,
            "north": add_person(ORG, "manager", "north"),
            "south": add_person(ORG, "manager", "south"),
            "agent": add_person(ORG, "agent", "north"),
            "former": add_person(ORG, "manager", "north"),
        }
        tenancy.member_ref(ORG, built["former"].uid).update({"active": False})
        world = reports_data.generate(ORG, 40, days=14, end=MONDAY_0905_IST, seed=4)
        reports_data.write_records(world)
        reports_data.write_counters_in_bulk(world)
        yield built
    finally:
        clock.install(previous)


def test_monday_0905_sends_one_email_per_manager_and_admin_and_a_second_run_none(people: dict[str, Person]) -> None:
    assert weekly.run_all(MONDAY_0905_IST) == 3
    for key in ("admin", "north", "south"):
        [email] = messages_to(people[key].email)
        assert email["subject"] == "Weekly report: 2026-11-23 to 2026-11-29"
        [chart] = email["attachments"]
        assert chart["contentType"] == "image/png" and chart["contentId"] == "funnel" and chart["sizeBytes"] > 1000
    assert messages_to(people["agent"].email) == [] and messages_to(people["former"].email) == []
    assert "(team north)" in messages_to(people["north"].email)[0]["text"]
    week = ReportQuery.model_validate({"from": "2026-11-23", "to": "2026-11-29"})
    admin = make_caller("admin", uid=people["admin"].uid, team_id=None, org_id=ORG)
    new = service.funnel(caller=admin, query=week)["stages"][0]
    assert new["entered"] > 0
    assert f"new\t{new['entered']}\t{new['convertedToNext']}\t" in messages_to(people["admin"].email)[0]["text"]

    assert weekly.run_all(MONDAY_0905_IST + timedelta(minutes=20)) == 0  # the schedule fired twice in the hour
    assert len(messages_to(people["admin"].email)) == 1


@pytest.mark.parametrize("moved", [timedelta(days=-1), timedelta(hours=1), timedelta(hours=-1)])
def test_another_day_or_hour_sends_nothing(people: dict[str, Person], moved: timedelta) -> None:
    assert weekly.run_all(MONDAY_0905_IST + moved) == 0
    assert messages_to(people["admin"].email) == []
