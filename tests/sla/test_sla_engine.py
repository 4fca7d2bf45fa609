"""The first-response SLA end to end with the real routing engine on the Firestore emulator, a fake clock, the
in-memory task queue and every registered trigger run in process: a lead routed at 18:50 on a Friday, with
15 minutes of working time (09:00-19:00, Monday to Friday, in the organization's zone), is due at 09:05 on
Monday; its task is scheduled for that minute, does nothing when delivered early across the night and the
weekend, re-routes the lead at 09:05 to the other agent (pushes, `sla-missed` then `assigned`), and the next
deadline (09:20) is scheduled in its place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core import tenancy
from reminders import queue as task_queue
from routing import sla_tasks
from tests.routing.support import routed_lead, set_routing, stored
from tests.support.factory import add_person, make_org
from tests.support.outbox import feed
from tests.support.triggers import Triggers
from triggers.sla import StoredLeads

pytestmark = pytest.mark.service

WEEKDAYS = {"start": "09:00", "end": "19:00", "days": ["mon", "tue", "wed", "thu", "fri"]}


def _local(zone: ZoneInfo, text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


def test_the_deadline_runs_in_working_time_across_a_night_and_a_weekend(db: Any, clock: Any) -> None:
    from core.org_settings import OrgSettings

    make_org()
    manager = add_person("org1", "manager", "north")
    tenancy.org_ref("org1").collection("teams").document("north").update({"managerIds": [manager.uid]})
    agents = {add_person("org1", "agent", "north").uid, add_person("org1", "agent", "north").uid}
    set_routing(firstContactMinutes=15, maxReassignments=2, workingHours=WEEKDAYS)
    zone = OrgSettings.of(tenancy.load_org("org1", fresh=True) or {}).zone
    clock.at = _local(zone, "2026-11-27T18:50:00")  # a Friday, ten working minutes before closing
    memory = task_queue.MemoryQueue()
    task_queue.install(memory)
    triggers = Triggers()
    try:
        with triggers.running():
            lead = routed_lead("9000000101")
        first = lead["assigneeId"]
        assert first in agents
        due = _local(zone, "2026-11-30T09:05:00")  # Monday: 10 minutes on Friday, 5 on Monday
        assert lead["slaDueAt"] == due
        ((payload, at),) = [task for task in memory.tasks.values() if "dueAt" in task[0]]
        assert at == due and sla_tasks.read_task(payload) == sla_tasks.Deadline("org1", lead["id"], due)

        def run(at_time: datetime) -> str:
            clock.at = at_time

            def sleep(seconds: float) -> None:
                clock.at += timedelta(seconds=seconds)

            with triggers.running():
                return sla_tasks.run(payload, leads=StoredLeads(), queue=memory, sleep=sleep)

        for early in ("2026-11-27T19:30:00", "2026-11-28T11:00:00", "2026-11-29T23:59:00"):  # night, weekend
            assert run(_local(zone, early)) == "waiting"
            assert stored(lead["id"])["assigneeId"] == first
        assert run(due) == "reassigned"
        moved = stored(lead["id"])
        second = moved["assigneeId"]
        assert second in agents - {first} and moved["slaReassignments"] == 1
        assert moved["slaDueAt"] == _local(zone, "2026-11-30T09:20:00")
        following = sla_tasks.Deadline("org1", lead["id"], moved["slaDueAt"])
        assert memory.tasks[following.name] == (following.payload(), moved["slaDueAt"])
        ref = tenancy.org_ref("org1").collection("leads").document(lead["id"]).collection("activity")
        types = [e["type"] for e in sorted((s.to_dict() or {} for s in ref.stream()), key=lambda e: e["createdAt"])]
        assert types == ["created", "sla-missed", "assigned"]
        assert next(e["kind"] for e in feed(first)) == "sla-missed"
        assert [e["kind"] for e in feed(second)] == ["lead-assigned"]
        assert [e["kind"] for e in feed(manager.uid)] == ["sla-missed"]
        assert run(due + timedelta(seconds=30)) == "finished"  # redelivered: nothing new
        assert stored(lead["id"]) == moved and len(feed(second)) == 1
    finally:
        task_queue.install(None)
