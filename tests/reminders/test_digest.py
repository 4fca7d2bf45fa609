"""The daily digest: 08:00 in each organization's zone, exactly the member's visits and tasks of that day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core import tenancy
from reminders import digest
from tests.support.factory import add_person, make_org
from tests.support.outbox import feed, pushes_to
from tests.visits.data import at, make_lead, make_project

IST = ZoneInfo("Asia/Kolkata")


@pytest.mark.unit
@pytest.mark.parametrize(
    "run_at, zone, expected",
    [
        ("2026-11-26T02:30:00Z", "Asia/Kolkata", "2026-11-26"),  # 08:00 IST
        ("2026-11-26T02:44:59Z", "Asia/Kolkata", "2026-11-26"),
        ("2026-11-26T02:45:00Z", "Asia/Kolkata", None),
        ("2026-11-26T02:15:00Z", "Asia/Kolkata", None),
        ("2026-11-26T02:15:00Z", "Asia/Kathmandu", "2026-11-26"),  # +05:45
        ("2026-11-26T13:00:00Z", "America/New_York", "2026-11-26"),  # EST
        ("2026-07-01T12:00:00Z", "America/New_York", "2026-07-01"),  # EDT
    ],
)
def test_the_digest_runs_at_eight_local_time(run_at: str, zone: str, expected: str | None) -> None:
    day = digest.digest_day(at(run_at), ZoneInfo(zone))
    assert (day.isoformat() if day else None) == expected


@pytest.mark.unit
def test_an_empty_day_makes_no_digest() -> None:
    assert (
        digest.compose(
            uid="u",
            org_id="o",
            day=datetime(2026, 11, 26).date(),
            zone=IST,
            visits=[],
            tasks=[],
            lead_names={},
            project_names={},
        )
        is None
    )


@pytest.mark.service
def test_the_digest_holds_exactly_the_agents_visits_and_tasks_of_the_day(db: Any, clock: Any) -> None:
    make_org()
    agent = add_person("org1", "agent", "north")
    other = add_person("org1", "agent", "north")
    make_lead("org1", "lead1", assignee=agent.uid, team="north")
    make_project("org1")
    visits = tenancy.org_ref("org1").collection("visits")
    tasks = tenancy.org_ref("org1").collection("tasks")
    # 2026-11-26 in IST is [2026-11-25T18:30Z, 2026-11-26T18:30Z)
    base = {"leadId": "lead1", "projectId": "p1", "agentId": agent.uid, "teamId": "north", "status": "scheduled"}
    visits.document("today-late").set(base | {"scheduledAt": at("2026-11-26T12:00:00Z")})
    visits.document("today-early").set(base | {"scheduledAt": at("2026-11-25T19:00:00Z")})  # 00:30 IST
    visits.document("yesterday").set(base | {"scheduledAt": at("2026-11-25T18:00:00Z")})  # 23:30 IST the day before
    visits.document("tomorrow").set(base | {"scheduledAt": at("2026-11-26T18:30:00Z")})
    visits.document("cancelled").set(base | {"scheduledAt": at("2026-11-26T06:00:00Z"), "status": "cancelled"})
    visits.document("others").set(base | {"scheduledAt": at("2026-11-26T06:00:00Z"), "agentId": other.uid})
    task = {"assigneeId": agent.uid, "teamId": "north", "status": "open", "leadId": "lead1"}
    tasks.document("t-today").set(task | {"title": "Send brochure", "dueAt": at("2026-11-26T10:00:00Z")})
    tasks.document("t-done").set(task | {"title": "Done one", "dueAt": at("2026-11-26T10:00:00Z"), "status": "done"})
    tasks.document("t-next").set(task | {"title": "Later", "dueAt": at("2026-11-27T10:00:00Z")})
    run_at = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
    assert digest.run(run_at) == 2
    assert digest.run(run_at) == 0  # a retried run sends nothing twice
    assert digest.run(run_at + timedelta(minutes=15)) == 0
    (entry,) = feed(agent.uid)
    assert entry["kind"] == "daily-digest" and entry["title"] == "Today: 2 visits and 1 task"
    assert entry["data"]["visitIds"] == "today-early,today-late" and entry["data"]["taskIds"] == "t-today"
    assert entry["body"].splitlines() == [
        "00:30 visit: Ravi Buyer at Skyline Towers",
        "17:30 visit: Ravi Buyer at Skyline Towers",
        "15:30 task: Send brochure",
    ]
    assert [e["data"]["visitIds"] for e in feed(other.uid)] == ["others"]
    assert len(pushes_to(agent.uid)) == 1
