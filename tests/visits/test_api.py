"""Site visits through the real `visits` handler: state machine, visibility, double booking, stage moves,
invitations (parsed from the rendered MIME), reminders and check-in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core import tenancy
from devtools.inproc import call
from reminders.service import records
from tests.support.factory import Person, add_person, make_org
from tests.support.ports import CapturingMailer
from tests.support.race import race
from tests.visits.data import at, make_lead, make_project

pytestmark = pytest.mark.http

WHEN = "2026-11-27T05:00:00Z"  # 10:30 in Asia/Kolkata; the test clock is 2026-11-25 06:00 UTC


def _setup() -> tuple[Person, Person, Person, Person]:
    admin = make_org()
    manager = add_person("org1", "manager", "north")
    agent = add_person("org1", "agent", "north")
    other = add_person("org1", "agent", "south")
    make_lead("org1", "lead1", assignee=agent.uid, team="north")
    make_lead("org1", "lead2", assignee=other.uid, team="south")
    make_project("org1")
    return admin, manager, agent, other


def _schedule(person: Person, **body: Any) -> Any:
    payload = {"leadId": "lead1", "projectId": "p1", "scheduledAt": WHEN} | body
    return call("POST", "/visits", token=person.token(), json_body=payload)


def _event(calendar: Any) -> Any:
    return calendar.walk("VEVENT")[0]


def test_agent_schedules_a_visit_lead_moves_stage_gets_invitation_and_agent_gets_two_reminders(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    _, _, agent, _ = _setup()
    response = _schedule(agent, notes="Bring brochure")
    assert response.status == 201, response.body
    visit = response.body
    assert visit["status"] == "scheduled" and visit["agentId"] == agent.uid and visit["teamId"] == "north"
    assert at(visit["scheduledAt"]) == at(WHEN) and visit["sequence"] == 0 and visit["version"] == 1
    stored = tenancy.org_ref("org1").collection("visits").document(visit["id"]).get().to_dict()
    assert stored["leadId"] == "lead1" and stored["notes"] == "Bring brochure"
    lead = tenancy.org_ref("org1").collection("leads").document("lead1").get().to_dict()
    assert lead["stage"] == "site-visit-scheduled" and lead["version"] == 2 and lead["updatedBy"] == agent.uid
    # the invitation: to the lead, in the org's time zone, a valid calendar with a stable UID
    (email,) = mailer.sent
    assert email.to == "buyer@example.net" and "Skyline Towers" in email.subject
    assert "Friday 27 November 2026, 10:30 IST" in email.subject
    assert email.refs == ("lead1", visit["id"])
    (calendar,) = mailer.calendars()
    event = _event(calendar)
    assert str(calendar["method"]) == "REQUEST" and int(event["sequence"]) == 0
    assert event.decoded("dtstart") == at(WHEN) and str(event.decoded("dtstart").tzinfo) == "Asia/Kolkata"
    assert str(event["uid"]) == f"org1.{visit['id']}@visits.justo-lead.app"
    # a day before and an hour before, as Cloud Tasks
    fire_times = sorted(when for _, when in tasks_queue.tasks.values())
    assert fire_times == [at(WHEN) - timedelta(days=1), at(WHEN) - timedelta(hours=1)]
    activity = list(tenancy.org_ref("org1").collection("leads").document("lead1").collection("activity").stream())
    assert [a.get("type") for a in activity] == ["visit-scheduled"]


def test_bad_input_past_time_invisible_lead_and_unreachable_agent_are_refused(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    admin, manager, agent, other = _setup()
    missing = call("POST", "/visits", token=agent.token(), json_body={"scheduledAt": WHEN})
    assert missing.status == 400 and "leadId" in missing.error["fields"]
    naive = _schedule(agent, scheduledAt="2026-11-27T05:00:00")
    assert naive.status == 400 and "scheduledAt" in naive.error["fields"]
    past = _schedule(agent, scheduledAt="2026-11-25T05:00:00Z")
    assert past.status == 400 and past.error["fields"] == {"scheduledAt": "must be in the future"}
    assert _schedule(agent, leadId="lead2").status == 403  # another agent's lead
    assert _schedule(agent, leadId="nope").status == 404
    assert _schedule(agent, agentId=other.uid).status == 403  # an agent books only itself
    assert _schedule(manager, leadId="lead2", agentId=other.uid).status == 403  # lead of another team
    assert _schedule(manager, agentId=other.uid).status == 403  # agent of another team
    unknown = _schedule(agent, projectId="nope")
    assert unknown.status == 400 and unknown.error["fields"] == {"projectId": "no such project"}
    assert _schedule(admin, agentId="ghost").status == 400
    assert list(tenancy.org_ref("org1").collection("visits").stream()) == [] and mailer.sent == []


def test_double_booking_is_refused_unless_allowed(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    _, manager, agent, _ = _setup()
    first = _schedule(agent)
    assert first.status == 201
    clash = _schedule(manager, agentId=agent.uid, scheduledAt="2026-11-27T05:45:00Z")
    assert clash.status == 409 and clash.error["conflictsWith"] == first.body["id"]
    assert _schedule(agent, scheduledAt="2026-11-27T06:00:00Z").status == 201  # an hour later is free
    allowed = _schedule(manager, agentId=agent.uid, scheduledAt="2026-11-27T05:30:00Z", allowDoubleBooking=True)
    assert allowed.status == 201


def test_two_bookings_of_one_agent_racing_for_one_hour_one_wins_and_the_other_is_told_which(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    _, manager, agent, _ = _setup()
    make_lead("org1", "lead3", assignee=agent.uid, team="north")
    answers = race(
        lambda: _schedule(agent),
        lambda: _schedule(manager, leadId="lead3", agentId=agent.uid, scheduledAt="2026-11-27T05:30:00Z"),
    )
    assert sorted(a.status for a in answers) == [201, 409], [a.body for a in answers]
    won, lost = sorted(answers, key=lambda a: a.status)
    stored = [s.id for s in tenancy.org_ref("org1").collection("visits").stream()]
    assert stored == [won.body["id"]] and lost.error["conflictsWith"] == won.body["id"]
    # a reschedule into the booked hour racing a new booking there: again exactly one gets the hour
    other = _schedule(agent, scheduledAt="2026-11-27T09:00:00Z").body
    answers = race(
        lambda: call(
            "PATCH", f"/visits/{other['id']}", token=agent.token(), json_body={"scheduledAt": "2026-11-27T07:00:00Z"}
        ),
        lambda: _schedule(manager, leadId="lead3", agentId=agent.uid, scheduledAt="2026-11-27T07:20:00Z"),
    )
    assert sorted(a.status for a in answers) in ([200, 409], [201, 409]), [a.body for a in answers]
    near = [
        s.id
        for s in tenancy.org_ref("org1").collection("visits").stream()
        if at("2026-11-27T06:00:00Z") < s.get("scheduledAt") < at("2026-11-27T08:30:00Z")
    ]
    assert len(near) == 1


def test_bookings_of_different_agents_at_one_time_all_go_through(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    admin, manager, agent, other = _setup()
    answers = race(
        lambda: _schedule(agent),
        lambda: _schedule(other, leadId="lead2"),
        lambda: _schedule(admin, leadId="lead2", agentId=manager.uid),
    )
    assert [a.status for a in answers] == [201, 201, 201], [a.body for a in answers]
    assert len(list(tenancy.org_ref("org1").collection("visits").stream())) == 3


def test_reschedule_then_cancel_keeps_uid_raises_sequence_and_replaces_then_deletes_reminders(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    _, _, agent, _ = _setup()
    visit = _schedule(agent).body
    first_tasks = set(tasks_queue.tasks)
    moved = call(
        "PATCH",
        f"/visits/{visit['id']}",
        token=agent.token(),
        json_body={"scheduledAt": "2026-11-28T09:00:00Z"},
        headers={"If-Match": '"1"'},
    )
    assert moved.status == 200, moved.body
    assert moved.body["sequence"] == 1 and moved.body["version"] == 2
    assert not first_tasks & set(tasks_queue.tasks) and len(tasks_queue.tasks) == 2
    assert sorted(w for _, w in tasks_queue.tasks.values())[-1] == at("2026-11-28T08:00:00Z")
    cancelled = call(
        "PATCH",
        f"/visits/{visit['id']}",
        token=agent.token(),
        json_body={"status": "cancelled", "cancelReason": "Buyer travelling"},
    )
    assert cancelled.status == 200 and cancelled.body["status"] == "cancelled" and cancelled.body["sequence"] == 2
    assert cancelled.body["cancelReason"] == "Buyer travelling"
    assert tasks_queue.tasks == {}
    states = {r.get("state") for r in records().stream()}
    assert states == {"cancelled"}
    invite, update, cancel = mailer.calendars()
    uids = {str(_event(c)["uid"]) for c in (invite, update, cancel)}
    assert len(uids) == 1
    assert [int(_event(c)["sequence"]) for c in (invite, update, cancel)] == [0, 1, 2]
    assert [str(c["method"]) for c in (invite, update, cancel)] == ["REQUEST", "REQUEST", "CANCEL"]
    assert _event(update).decoded("dtstart") == at("2026-11-28T09:00:00Z")
    assert (
        _event(cancel).decoded("dtstart") == at("2026-11-28T09:00:00Z") and str(_event(cancel)["status"]) == "CANCELLED"
    )
    assert "moved to Saturday 28 November 2026, 14:30 IST" in mailer.sent[1].subject
    assert "cancelled" in mailer.sent[2].subject and "Buyer travelling" in mailer.sent[2].text
    # cancelled is final
    for body in ({"scheduledAt": "2026-11-29T09:00:00Z"}, {"status": "completed"}, {"notes": "x"}):
        again = call("PATCH", f"/visits/{visit['id']}", token=agent.token(), json_body=body)
        assert again.status == 409 and again.error["code"] == "FAILED_PRECONDITION"


def test_complete_with_follow_up_moves_the_lead_and_is_final(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    _, _, agent, _ = _setup()
    visit = _schedule(agent).body
    early = call("PATCH", f"/visits/{visit['id']}", token=agent.token(), json_body={"status": "completed"})
    assert early.status == 409
    clock.at = at(WHEN) + timedelta(minutes=50)
    done = call(
        "PATCH",
        f"/visits/{visit['id']}",
        token=agent.token(),
        json_body={"status": "completed", "followUpNotes": "Liked the 3BHK; call Monday"},
    )
    assert done.status == 200 and done.body["status"] == "completed"
    assert done.body["followUpNotes"] == "Liked the 3BHK; call Monday" and done.body["completedAt"]
    lead = tenancy.org_ref("org1").collection("leads").document("lead1").get().to_dict()
    assert lead["stage"] == "site-visit-done" and lead["version"] == 3
    assert (
        call(
            "PATCH",
            f"/visits/{visit['id']}",
            token=agent.token(),
            json_body={"status": "cancelled", "cancelReason": "x"},
        ).status
        == 409
    )
    moved = call(
        "PATCH", f"/visits/{visit['id']}", token=agent.token(), json_body={"scheduledAt": "2026-12-01T05:00:00Z"}
    )
    assert moved.status == 409
    notes = call("PATCH", f"/visits/{visit['id']}", token=agent.token(), json_body={"followUpNotes": "Call Tuesday"})
    assert notes.status == 200 and notes.body["followUpNotes"] == "Call Tuesday"
    assert len(mailer.sent) == 1  # completion emails nobody


def test_stale_if_match_is_412_and_stage_moves_follow_the_setting(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    _, _, agent, _ = _setup()
    tenancy.org_ref("org1").update({"settings.visitStageMoves": False})
    tenancy.cache.clear()
    make_lead("org1", "lead3", assignee=agent.uid, team="north", stage="booked")
    visit = _schedule(agent).body
    lead = tenancy.org_ref("org1").collection("leads").document("lead1").get().to_dict()
    assert lead["stage"] == "contacted" and lead["version"] == 1
    stale = call(
        "PATCH", f"/visits/{visit['id']}", token=agent.token(), json_body={"notes": "x"}, headers={"If-Match": "7"}
    )
    assert stale.status == 412 and stale.error["currentVersion"] == 1
    tenancy.org_ref("org1").update({"settings.visitStageMoves": True})
    tenancy.cache.clear()
    assert _schedule(agent, leadId="lead3", scheduledAt="2026-11-29T05:00:00Z").status == 201
    booked = tenancy.org_ref("org1").collection("leads").document("lead3").get().to_dict()
    assert booked["stage"] == "booked"  # never moved backwards


def test_checkin_by_the_agent_near_the_time_measures_distance(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    _, manager, agent, _ = _setup()
    visit = _schedule(agent).body
    near = {"lat": 12.9726, "lng": 77.5946, "accuracyM": 12}  # about 111 m north of the project
    assert (
        call("POST", f"/visits/{visit['id']}/checkin", token=agent.token(), json_body=near).status == 409
    )  # too early
    clock.at = at(WHEN) - timedelta(minutes=20)
    assert call("POST", f"/visits/{visit['id']}/checkin", token=manager.token(), json_body=near).status == 403
    bad = call(
        "POST", f"/visits/{visit['id']}/checkin", token=agent.token(), json_body={"lat": 95, "lng": 0, "accuracyM": 1}
    )
    assert bad.status == 400 and "lat" in bad.error["fields"]
    ok = call("POST", f"/visits/{visit['id']}/checkin", token=agent.token(), json_body=near)
    assert ok.status == 201, ok.body
    assert ok.body["withinRadius"] is True and 105 < ok.body["distanceM"] < 118 and ok.body["accuracyM"] == 12
    far = call(
        "POST",
        f"/visits/{visit['id']}/checkin",
        token=agent.token(),
        json_body={"lat": 13.0, "lng": 77.6, "accuracyM": 8},
    )
    assert far.status == 201 and far.body["withinRadius"] is False and far.body["distanceM"] > 3000
    stored = tenancy.org_ref("org1").collection("visits").document(visit["id"]).get().to_dict()
    assert stored["checkin"]["lat"] == 13.0 and stored["checkin"]["withinRadius"] is False
    call("PATCH", f"/visits/{visit['id']}", token=agent.token(), json_body={"status": "cancelled", "cancelReason": "x"})
    assert call("POST", f"/visits/{visit['id']}/checkin", token=agent.token(), json_body=near).status == 409


def test_lists_follow_visibility_and_filter_by_range_agent_and_status(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    admin, manager, agent, other = _setup()
    a1 = _schedule(agent).body
    a2 = _schedule(agent, scheduledAt="2026-11-30T05:00:00Z").body
    o1 = _schedule(other, leadId="lead2", projectId=None).body
    assert [v["id"] for v in call("GET", "/visits", token=agent.token()).body["items"]] == [a1["id"], a2["id"]]
    assert [v["id"] for v in call("GET", "/visits", token=other.token()).body["items"]] == [o1["id"]]
    assert {v["id"] for v in call("GET", "/visits", token=manager.token()).body["items"]} == {a1["id"], a2["id"]}
    assert len(call("GET", "/visits", token=admin.token()).body["items"]) == 3
    ranged = call("GET", "/visits?from=2026-11-28T00:00:00Z&to=2026-12-01T00:00:00Z", token=admin.token())
    assert [v["id"] for v in ranged.body["items"]] == [a2["id"]]
    by_agent = call("GET", f"/visits?agentId={other.uid}", token=admin.token())
    assert [v["id"] for v in by_agent.body["items"]] == [o1["id"]]
    assert call("GET", f"/visits?agentId={other.uid}", token=agent.token()).status == 403
    paged = call("GET", "/visits?limit=2", token=admin.token())
    assert len(paged.body["items"]) == 2 and paged.body["nextCursor"]
    rest = call("GET", f"/visits?limit=2&cursor={paged.body['nextCursor']}", token=admin.token())
    assert [v["id"] for v in rest.body["items"]] == [a2["id"]] and rest.body["nextCursor"] is None
    assert call("GET", f"/visits/{o1['id']}", token=agent.token()).status == 403
    assert call("GET", "/visits?from=tomorrow", token=agent.token()).status == 400


def test_a_retried_schedule_with_the_same_key_creates_one_visit_and_one_email(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    _, _, agent, _ = _setup()
    tenancy.org_ref("org1").collection("leads").document("lead1").collection("private").document("contact").set(
        {"emails": ["raw.buyer@example.net"]}
    )
    body = {"leadId": "lead1", "scheduledAt": WHEN}
    headers = {"Idempotency-Key": "k1"}
    first = call("POST", "/visits", token=agent.token(), json_body=body, headers=headers)
    again = call("POST", "/visits", token=agent.token(), json_body=body, headers=headers)
    assert first.status == again.status == 201 and first.body["id"] == again.body["id"]
    assert len(list(tenancy.org_ref("org1").collection("visits").stream())) == 1
    assert [e.to for e in mailer.sent] == ["raw.buyer@example.net"]


@pytest.mark.parametrize(
    ("reason", "stored"),
    [({}, None), ({"cancelReason": None}, None), ({"cancelReason": ""}, None), ({"cancelReason": "  "}, None),
     ({"cancelReason": "Buyer ill"}, "Buyer ill")],
)  # fmt: skip
def test_a_visit_cancels_with_or_without_a_reason(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any, reason: dict[str, Any], stored: str | None
) -> None:
    """API.md: cancelReason? - a reason is welcome, never required."""
    _, _, agent, _ = _setup()
    visit = _schedule(agent).body
    cancelled = call("PATCH", f"/visits/{visit['id']}", token=agent.token(), json_body={"status": "cancelled"} | reason)
    assert cancelled.status == 200, cancelled.body
    assert cancelled.body["status"] == "cancelled" and cancelled.body["cancelReason"] == stored
    document = tenancy.org_ref("org1").collection("visits").document(visit["id"]).get().to_dict()
    assert document["status"] == "cancelled" and document["cancelReason"] == stored
    assert [str(c["method"]) for c in mailer.calendars()] == ["REQUEST", "CANCEL"]  # the lead still hears of it
    assert tasks_queue.tasks == {}


def test_a_reason_belongs_to_a_cancellation_only(
    db: Any, clock: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    _, _, agent, _ = _setup()
    visit = _schedule(agent).body
    notes = call("PATCH", f"/visits/{visit['id']}", token=agent.token(), json_body={"cancelReason": "x", "notes": "y"})
    assert notes.status == 400 and notes.error["fields"] == {"cancelReason": "only with status cancelled"}
    emptied = call(
        "PATCH", f"/visits/{visit['id']}", token=agent.token(), json_body={"cancelReason": None, "notes": "y"}
    )
    assert emptied.status == 200 and emptied.body["notes"] == "y" and emptied.body["status"] == "scheduled"
