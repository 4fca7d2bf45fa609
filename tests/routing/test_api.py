"""/org/routing, availability and leave through the real handlers, and what routing then does with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import tenancy
from devtools.inproc import call
from tests.routing.support import stored
from tests.support.leads import create, make_team
from tests.support.outbox import pushes_to

pytestmark = pytest.mark.http

ALL_WEEK = {"start": "00:00", "end": "24:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_routing_config_defaults_validation_versions_and_audit(db: Any) -> None:
    team = make_team()
    for person in (team.manager, team.agent1, team.rm):
        assert call("GET", "/org/routing", token=person.token()).status == 403
        assert call("PATCH", "/org/routing", token=person.token(), json_body={"maxReassignments": 1}).status == 403
    got = call("GET", "/org/routing", token=team.admin.token())
    assert got.status == 200
    assert got.body == {
        "rules": [],
        "firstContactMinutes": 15,
        "maxReassignments": 2,
        "workingHours": {"start": "09:00", "end": "19:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat"]},
        "version": 1,
        "updatedAt": None,
    }
    rule = {"name": "Pune 3BHK", "match": {"cities": ["Pune"]}, "assignTo": {"teamId": "south"}}
    bad = {
        "rules.0.assignTo.teamId": {"rules": [{**rule, "assignTo": {"teamId": "nowhere"}}]},
        "rules.0.assignTo.memberIds.1": {"rules": [{**rule, "assignTo": {"memberIds": [team.agent1.uid, "ghost"]}}]},
        "rules.0.assignTo.memberIds.0": {"rules": [{**rule, "assignTo": {"memberIds": ["org2-agent1"]}}]},
        "rules.0": {"rules": [{**rule, "weights": {team.agent1.uid: 2}}]},  # weights without weighted
        "rules.0.assignTo": {"rules": [{**rule, "assignTo": {}}]},
        "rules": {"rules": [rule, rule]},  # names repeat
        "workingHours": {"workingHours": {"start": "19:00", "end": "09:00", "days": ["mon"]}},
        "workingHours.days.0": {"workingHours": {"start": "09:00", "end": "19:00", "days": ["funday"]}},
        "firstContactMinutes": {"firstContactMinutes": -1},
        "maxReassignments": {"maxReassignments": None},
    }
    for field, body in bad.items():
        answer = call("PATCH", "/org/routing", token=team.admin.token(), json_body=body)
        assert answer.status == 400, (field, answer.body)
        assert any(name.startswith(field) for name in answer.error.get("fields", {})), f"{field}: {answer.body}"
    weighted = {**rule, "name": "weighted", "method": "weighted", "weights": {team.agent1.uid: 3}}
    weighted["assignTo"] = {"memberIds": [team.agent1.uid, team.agent2.uid]}
    changed = call(
        "PATCH",
        "/org/routing",
        token=team.admin.token(),
        headers={"If-Match": "1"},
        json_body={"rules": [rule, weighted], "firstContactMinutes": 0, "workingHours": ALL_WEEK},
    )
    assert changed.status == 200, changed.body
    assert changed.body["version"] == 2 and changed.body["firstContactMinutes"] == 0
    assert changed.body["rules"][0] == {
        "name": "Pune 3BHK",
        "match": {"cities": ["Pune"]},
        "assignTo": {"teamId": "south"},
        "method": "round-robin",
        "weights": None,
    }
    assert changed.body["maxReassignments"] == 2  # untouched
    stale = call("PATCH", "/org/routing", token=team.admin.token(), headers={"If-Match": "1"}, json_body={})
    assert stale.status == 412
    assert call("GET", "/org/routing", token=team.admin.token()).body == changed.body
    entries = [s.to_dict() for s in tenancy.org_ref("org1").collection("audit").stream()]
    assert any(e.get("action") == "routing.changed" and e.get("actorId") == team.admin.uid for e in entries)


def test_availability_is_ones_own_or_within_reach(db: Any, clock: Any) -> None:
    team = make_team()
    later = iso(clock.now() + timedelta(hours=2))
    own = call(
        "PUT", "/members/me/availability", token=team.agent1.token(), json_body={"status": "away", "until": later}
    )
    assert own.status == 200 and own.body["status"] == "away" and own.body["updatedBy"] == team.agent1.uid
    member = tenancy.member_ref("org1", team.agent1.uid).get().to_dict() or {}
    assert member["availability"]["status"] == "away"
    uid = team.agent2.uid
    assert (
        call("PUT", f"/members/{uid}/availability", token=team.agent1.token(), json_body={"status": "away"}).status
        == 403
    )
    assert (
        call(
            "PUT", f"/members/{team.south.uid}/availability", token=team.manager.token(), json_body={"status": "away"}
        ).status
        == 403
    )
    by_manager = call(
        "PUT", f"/members/{uid}/availability", token=team.manager.token(), json_body={"status": "off-duty"}
    )
    assert by_manager.status == 200 and by_manager.body["updatedBy"] == team.manager.uid
    by_admin = call(
        "PUT", f"/members/{team.south.uid}/availability", token=team.admin.token(), json_body={"status": "away"}
    )
    assert by_admin.status == 200
    shown = call("GET", f"/members/{uid}", token=team.admin.token()).body
    assert shown["availability"]["status"] == "off-duty"
    for body, field in (
        ({"status": "away", "until": iso(clock.now() - timedelta(minutes=1))}, "until"),
        ({"status": "available", "until": later}, "until"),
        ({"status": "asleep"}, "status"),
    ):
        answer = call("PUT", "/members/me/availability", token=team.agent1.token(), json_body=body)
        assert answer.status == 400 and field in answer.error["fields"], answer.body
    assert (
        call("PUT", "/members/ghost/availability", token=team.admin.token(), json_body={"status": "away"}).status == 404
    )


def test_leave_and_cap_are_admin_only_and_shown(db: Any, clock: Any) -> None:
    team = make_team()
    start, end = clock.now() + timedelta(days=1), clock.now() + timedelta(days=3)
    body = {"leave": [{"from": iso(start), "to": iso(end)}], "maxOpenLeads": 2}
    assert call("PATCH", f"/members/{team.agent1.uid}", token=team.manager.token(), json_body=body).status == 403
    changed = call("PATCH", f"/members/{team.agent1.uid}", token=team.admin.token(), json_body=body)
    assert changed.status == 200, changed.body
    assert changed.body["maxOpenLeads"] == 2 and changed.body["leave"][0]["from"].startswith(iso(start)[:19])
    backwards = {"leave": [{"from": iso(end), "to": iso(start)}]}
    answer = call("PATCH", f"/members/{team.agent1.uid}", token=team.admin.token(), json_body=backwards)
    assert answer.status == 400 and any(f.startswith("leave.0") for f in answer.error["fields"]), answer.body
    cleared = call("PATCH", f"/members/{team.agent1.uid}", token=team.admin.token(), json_body={"maxOpenLeads": None})
    assert cleared.status == 200 and cleared.body["maxOpenLeads"] is None


def test_off_duty_on_leave_and_capped_members_get_nothing_then_the_queue_drains_in_arrival_order(
    db: Any, clock: Any
) -> None:
    team = make_team()
    admin = team.admin.token()
    call("PATCH", "/org/routing", token=admin, json_body={"workingHours": ALL_WEEK})
    on_leave = {"leave": [{"from": iso(clock.now() - timedelta(hours=1)), "to": iso(clock.now() + timedelta(days=1))}]}
    assert call("PATCH", f"/members/{team.agent2.uid}", token=admin, json_body=on_leave).status == 200
    assert call("PATCH", f"/members/{team.agent1.uid}", token=admin, json_body={"maxOpenLeads": 1}).status == 200
    first = create(team.manager, "9000000001").body
    assert first["assigneeId"] == team.agent1.uid
    assert stored(first["id"])["slaDueAt"] is not None
    call("PUT", "/members/me/availability", token=team.agent1.token(), json_body={"status": "off-duty"})
    queued = []
    for number in ("9000000002", "9000000003"):
        clock.at += timedelta(seconds=1)
        reply = create(team.manager, number)
        assert reply.status == 201 and reply.body["assigneeId"] is None, reply.body
        queued.append(reply.body["id"])
    lead = stored(queued[0])
    assert lead["queue"] == "team" and lead["teamId"] == "north" and lead["slaDueAt"] is None
    assert lead["assignmentHistory"][0]["reason"] == "queue"
    assert any(p["data"].get("leadId") == queued[0] for p in pushes_to(team.manager.uid))
    # Back on duty but at its cap: still queued. Closing its lead frees it: the oldest queued lead goes first.
    call("PUT", "/members/me/availability", token=team.agent1.token(), json_body={"status": "available"})
    assert stored(queued[0])["queue"] == "team"
    closed = call("PATCH", f"/leads/{first['id']}", token=team.manager.token(), json_body={"stage": "lost"})
    assert closed.status == 200
    taken = stored(queued[0])
    assert taken["assigneeId"] == team.agent1.uid and taken["queue"] is None and taken["slaDueAt"] is not None
    assert [e["reason"] for e in taken["assignmentHistory"]] == ["queue", "queue"]
    assert stored(queued[1])["queue"] == "team"
    # The leave ends (an admin clears it): the other agent takes the last one.
    assert call("PATCH", f"/members/{team.agent2.uid}", token=admin, json_body={"leave": []}).status == 200
    assert stored(queued[1])["assigneeId"] == team.agent2.uid


def test_manual_assign_writes_history_and_a_new_deadline(db: Any, clock: Any) -> None:
    team = make_team()
    call("PATCH", "/org/routing", token=team.admin.token(), json_body={"workingHours": ALL_WEEK})
    lead = create(team.manager, "9000000009").body
    other = team.agent2.uid if lead["assigneeId"] == team.agent1.uid else team.agent1.uid
    clock.at += timedelta(minutes=3)
    moved = call("POST", f"/leads/{lead['id']}/assign", token=team.manager.token(), json_body={"assigneeId": other})
    assert moved.status == 200
    after = stored(lead["id"])
    assert after["assignmentHistory"][-1] == {
        "assigneeId": other,
        "at": clock.now(),
        "reason": "manual",
        "by": team.manager.uid,
    }
    assert after["slaDueAt"] == clock.now() + timedelta(minutes=15) and after["assignedAt"] == clock.now()
    clock.at += timedelta(minutes=1)
    bulk = call(
        "POST",
        "/leads/bulk-assign",
        token=team.admin.token(),
        json_body={"leadIds": [lead["id"]], "toAssigneeId": team.south.uid},
    )
    assert bulk.body == {"moved": 1}
    again = stored(lead["id"])
    assert again["assigneeId"] == team.south.uid and again["slaDueAt"] == clock.now() + timedelta(minutes=15)
    assert [e["reason"] for e in again["assignmentHistory"]] == ["round-robin", "manual", "manual"]
