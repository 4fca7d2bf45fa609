"""`routing.engine.reassign`, the SLA side's one call: exactly once per deadline, never for a contacted or
archived lead, to someone other than the current assignee, then the managers' queue after maxReassignments."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core import tenancy
from routing import engine
from tests.routing.support import open_count, routed_lead, set_routing, stored
from tests.support.factory import add_person, make_org

pytestmark = pytest.mark.service


def _team(agents: int = 3) -> list[str]:
    make_org()
    return [add_person("org1", "agent", "north").uid for _ in range(agents)]


def test_reassign_moves_to_another_member_once_per_deadline_then_to_the_managers_queue(db: Any, clock: Any) -> None:
    agents = _team(3)
    set_routing(maxReassignments=2)
    lead = routed_lead("9000000001")
    first = lead["assigneeId"]
    assert first in agents and lead["slaDueAt"] == clock.now() + timedelta(minutes=15)
    assert [e["reason"] for e in lead["assignmentHistory"]] == ["round-robin"]

    clock.at = lead["slaDueAt"]
    second = engine.reassign("org1", lead["id"], due_at=lead["slaDueAt"])
    after = stored(lead["id"])
    assert second in agents and second != first and after["assigneeId"] == second
    assert after["slaReassignments"] == 1 and after["slaDueAt"] == clock.now() + timedelta(minutes=15)
    assert [e["reason"] for e in after["assignmentHistory"]] == ["round-robin", "sla"]
    assert after["assignedAt"] == clock.now() and after["version"] == lead["version"] + 1
    assert open_count(first) == 0 and open_count(second) == 1

    # A redelivered task for the old deadline does nothing.
    assert engine.reassign("org1", lead["id"], due_at=lead["slaDueAt"]) is None
    assert stored(lead["id"]) == after

    clock.at = after["slaDueAt"]
    third = engine.reassign("org1", lead["id"], due_at=after["slaDueAt"])
    assert third not in (None, second)
    again = stored(lead["id"])
    assert again["slaReassignments"] == 2

    clock.at = again["slaDueAt"]
    assert engine.reassign("org1", lead["id"], due_at=again["slaDueAt"]) is None
    queued = stored(lead["id"])
    assert queued["assigneeId"] is None and queued["queue"] == "managers" and queued["slaDueAt"] is None
    assert queued["teamId"] == "north" and queued["queuedAt"] == clock.now()
    assert queued["assignmentHistory"][-1] == {"assigneeId": None, "at": clock.now(), "reason": "sla"}
    assert sum(open_count(uid) for uid in agents) == 0
    assert engine.reassign("org1", lead["id"], due_at=again["slaDueAt"]) is None


@pytest.mark.parametrize(
    "change",
    [
        {"firstContactAt": "contacted"},
        {"archived": True},
        {"slaDueAt": "moved"},
    ],
    ids=["contacted", "archived", "deadline-moved"],
)
def test_reassign_leaves_a_lead_that_is_no_longer_due_alone(db: Any, clock: Any, change: dict[str, Any]) -> None:
    _team(2)
    set_routing()
    lead = routed_lead("9000000002")
    due = lead["slaDueAt"]
    fields = {
        key: (clock.now() if value == "contacted" else due + timedelta(minutes=5) if value == "moved" else value)
        for key, value in change.items()
    }
    tenancy.org_ref("org1").collection("leads").document(lead["id"]).update(fields)
    before = stored(lead["id"])
    clock.at = due
    assert engine.reassign("org1", lead["id"], due_at=due) is None
    assert stored(lead["id"]) == before


def test_reassign_with_nobody_else_eligible_goes_to_the_managers_queue(db: Any, clock: Any) -> None:
    agents = _team(2)
    set_routing()
    lead = routed_lead("9000000003")
    other = next(uid for uid in agents if uid != lead["assigneeId"])
    tenancy.member_ref("org1", other).update({"availability": {"status": "off-duty", "until": None}})
    clock.at = lead["slaDueAt"]
    assert engine.reassign("org1", lead["id"], due_at=lead["slaDueAt"]) is None
    after = stored(lead["id"])
    assert after["queue"] == "managers" and after["assigneeId"] is None and after.get("slaReassignments", 0) == 0


def test_an_unknown_lead_is_nothing_due(db: Any, clock: Any) -> None:
    _team(1)
    assert engine.reassign("org1", "nope", due_at=clock.now()) is None
