"""Reminders on the Firestore emulator: Cloud Tasks kept in step with visits, tasks and follow-ups, and a task
that runs re-reads everything: nothing for a cancelled or moved visit, a done task or a changed follow-up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core import tenancy
from core.caller import caller_from_claims
from reminders import service
from tests.support.factory import add_person, make_org
from tests.support.outbox import feed, pushes_to
from tests.visits.data import at, make_lead, make_project
from triggers.notifications import handle_lead, handle_task, handle_visit
from visits import service as visits
from visits.models import VisitCreate, VisitUpdate


def _new(**fields: Any) -> VisitCreate:
    return VisitCreate.model_validate(fields)


def _change(**fields: Any) -> VisitUpdate:
    return VisitUpdate.model_validate(fields)


pytestmark = pytest.mark.service

WHEN = at("2026-11-27T05:00:00Z")  # clock: 2026-11-25 06:00 UTC


def _agent() -> Any:
    make_org()
    agent = add_person("org1", "agent", "north")
    make_lead("org1", "lead1", assignee=agent.uid, team="north")
    make_project("org1")
    return caller_from_claims({"orgId": "org1", "uid": agent.uid, "role": "agent", "teamId": "north"}, fresh=True)


def _run_due(queue: Any, clock: Any) -> list[str]:
    """Run every queued task whose time has come, as Cloud Tasks would (and drop it)."""
    outcomes = []
    for name, (payload, when) in sorted(queue.tasks.items(), key=lambda item: item[1][1]):
        if when <= clock.at:
            outcomes.append(service.deliver(payload))
            queue.tasks.pop(name)
    return outcomes


def _pushes(uid: str) -> list[dict[str, Any]]:
    return pushes_to(uid)


def test_the_reminder_an_hour_before_reaches_the_feed_and_the_outbox_once(
    db: Any, clock: Any, mailer: Any, tasks_queue: Any
) -> None:
    caller = _agent()
    visit = visits.create_visit(caller=caller, data=_new(lead_id="lead1", project_id="p1", scheduled_at=WHEN))
    clock.at = WHEN - timedelta(days=1)
    assert _run_due(tasks_queue, clock) == ["sent"]
    clock.at = WHEN - timedelta(hours=1)
    payloads = [p for p, _ in tasks_queue.tasks.values()]
    assert _run_due(tasks_queue, clock) == ["sent"]
    assert service.deliver(payloads[0]) == "duplicate"  # Cloud Tasks ran it again
    entries = feed(caller.uid)
    assert [e["title"] for e in entries] == ["Site visit soon", "Site visit tomorrow"]
    assert entries[0]["kind"] == "visit-reminder" and entries[0]["refs"] == ["lead1", visit["id"]]
    assert entries[0]["body"] == "Ravi Buyer at Skyline Towers, Fri 27 Nov, 10:30 IST"
    assert len(_pushes(caller.uid)) == 2


def test_a_retried_reminder_task_sends_nothing_new(db: Any, clock: Any, mailer: Any, tasks_queue: Any) -> None:
    caller = _agent()
    visits.create_visit(caller=caller, data=_new(lead_id="lead1", scheduled_at=WHEN))
    payload = next(p for p, w in tasks_queue.tasks.values() if w == WHEN - timedelta(hours=1))
    clock.at = WHEN - timedelta(hours=1)
    assert service.deliver(payload) == "sent"
    assert service.deliver(payload) == "duplicate"
    assert len(feed(caller.uid)) == 1 and len(_pushes(caller.uid)) == 1


def test_a_cancelled_visit_is_reminded_of_by_nobody_even_if_its_task_runs(
    db: Any, clock: Any, mailer: Any, tasks_queue: Any
) -> None:
    caller = _agent()
    visit = visits.create_visit(caller=caller, data=_new(lead_id="lead1", scheduled_at=WHEN))
    payloads = [p for p, _ in tasks_queue.tasks.values()]
    visits.update_visit(
        caller=caller,
        visit_id=visit["id"],
        data=_change(status="cancelled", cancel_reason="Buyer ill"),
        if_match=None,
    )
    assert tasks_queue.tasks == {}  # deleted
    clock.at = WHEN - timedelta(minutes=59)
    assert [service.deliver(p) for p in payloads] == ["stale", "stale"]  # ran anyway (deleted too late)
    assert feed(caller.uid) == [] and _pushes(caller.uid) == []


def test_a_moved_visit_is_reminded_of_at_its_new_time_only(db: Any, clock: Any, mailer: Any, tasks_queue: Any) -> None:
    caller = _agent()
    visit = visits.create_visit(caller=caller, data=_new(lead_id="lead1", scheduled_at=WHEN))
    old = dict(tasks_queue.tasks)
    later = WHEN + timedelta(days=2)
    visits.update_visit(caller=caller, visit_id=visit["id"], data=_change(scheduled_at=later), if_match=None)
    assert not set(old) & set(tasks_queue.tasks)
    assert sorted(w for _, w in tasks_queue.tasks.values()) == [later - timedelta(days=1), later - timedelta(hours=1)]
    clock.at = WHEN - timedelta(hours=1)
    assert [service.deliver(p) for p, _ in old.values()] == ["stale", "stale"]
    # moving back to the first time gets fresh task names (Cloud Tasks refuses recently used ones)
    visits.update_visit(caller=caller, visit_id=visit["id"], data=_change(scheduled_at=WHEN), if_match=None)
    assert len(tasks_queue.tasks) == 1 and not set(old) & set(tasks_queue.tasks)  # a day before has passed
    assert _run_due(tasks_queue, clock) == ["sent"]
    assert [e["title"] for e in feed(caller.uid)] == ["Site visit soon"]


def test_a_visit_within_the_hour_is_reminded_of_at_once(db: Any, clock: Any, mailer: Any, tasks_queue: Any) -> None:
    caller = _agent()
    visits.create_visit(caller=caller, data=_new(lead_id="lead1", scheduled_at=clock.at + timedelta(minutes=20)))
    assert [w for _, w in tasks_queue.tasks.values()] == [clock.at]
    assert _run_due(tasks_queue, clock) == ["sent"]


def test_reminders_beyond_the_30_day_window_wait_for_the_sweep(
    db: Any, clock: Any, mailer: Any, tasks_queue: Any
) -> None:
    caller = _agent()
    far = clock.at + timedelta(days=40)
    visits.create_visit(caller=caller, data=_new(lead_id="lead1", scheduled_at=far))
    assert tasks_queue.tasks == {}
    assert service.sweep() == 0
    clock.at = far - timedelta(days=29, hours=12)  # the day-before reminder entered the window
    assert service.sweep() == 1 and service.sweep() == 0
    clock.at = far - timedelta(days=28)
    assert service.sweep() == 1
    assert sorted(w for _, w in tasks_queue.tasks.values()) == [far - timedelta(days=1), far - timedelta(hours=1)]


def test_a_reminder_task_that_runs_early_is_retried_not_sent(
    db: Any, clock: Any, mailer: Any, tasks_queue: Any
) -> None:
    caller = _agent()
    visits.create_visit(caller=caller, data=_new(lead_id="lead1", scheduled_at=WHEN))
    payload = next(iter(tasks_queue.tasks.values()))[0]
    with pytest.raises(service.EarlyReminder):
        service.deliver(payload)
    assert feed(caller.uid) == []


def test_tasks_falling_due_are_reminded_unless_done(db: Any, clock: Any, tasks_queue: Any) -> None:
    make_org()
    agent = add_person("org1", "agent", "north")
    tasks = tenancy.org_ref("org1").collection("tasks")
    due = clock.at + timedelta(hours=3)
    open_task = {
        "title": "Send price sheet",
        "assigneeId": agent.uid,
        "teamId": "north",
        "dueAt": due,
        "status": "open",
        "createdBy": agent.uid,
    }
    tasks.document("t1").set(open_task)
    handle_task("e1", "org1", "t1", None, open_task)
    tasks.document("t2").set(open_task | {"title": "Call back"})
    handle_task("e2", "org1", "t2", None, open_task | {"title": "Call back"})
    assert len(tasks_queue.tasks) == 2
    done = open_task | {"title": "Call back", "status": "done"}
    tasks.document("t2").set(done)
    handle_task("e3", "org1", "t2", open_task, done)
    assert len(tasks_queue.tasks) == 1
    payloads = [p for p, _ in tasks_queue.tasks.values()]
    handle_task("e3", "org1", "t2", open_task, done)  # a redelivered event changes nothing
    assert [p for p, _ in tasks_queue.tasks.values()] == payloads
    clock.at = due
    assert _run_due(tasks_queue, clock) == ["sent"]
    assert [(e["kind"], e["body"]) for e in feed(agent.uid)] == [("task-due", "Send price sheet")]


def test_a_leads_follow_up_is_reminded_at_its_time_and_follows_changes(db: Any, clock: Any, tasks_queue: Any) -> None:
    make_org()
    agent = add_person("org1", "agent", "north")
    first = clock.at + timedelta(hours=5)
    lead = make_lead("org1", "lead1", assignee=agent.uid, team="north", nextFollowUpAt=first, createdBy=agent.uid)
    handle_lead("e1", "org1", "lead1", None, lead)
    (old_payload,) = [p for p, _ in tasks_queue.tasks.values()]
    second = first + timedelta(days=1)
    tenancy.org_ref("org1").collection("leads").document("lead1").update({"nextFollowUpAt": second})
    handle_lead("e2", "org1", "lead1", lead, lead | {"nextFollowUpAt": second})
    assert [w for _, w in tasks_queue.tasks.values()] == [second]
    clock.at = first
    assert service.deliver(old_payload) == "stale"
    clock.at = second
    assert _run_due(tasks_queue, clock) == ["sent"]
    assert [(e["kind"], e["body"]) for e in feed(agent.uid)] == [("follow-up-due", "Follow up with Ravi Buyer")]


def test_the_visit_trigger_plans_reminders_the_api_did_not_and_changes_nothing_on_replay(
    db: Any, clock: Any, tasks_queue: Any
) -> None:
    caller = _agent()
    visit = {"leadId": "lead1", "agentId": caller.uid, "teamId": "north", "status": "scheduled", "scheduledAt": WHEN}
    tenancy.org_ref("org1").collection("visits").document("v1").set(visit)  # committed; the API died before enqueueing
    handle_visit("org1", "v1", None, visit)
    planned = dict(tasks_queue.tasks)
    assert sorted(w for _, w in planned.values()) == [WHEN - timedelta(days=1), WHEN - timedelta(hours=1)]
    handle_visit("org1", "v1", None, visit)  # redelivered
    assert tasks_queue.tasks == planned
    notes_only = visit | {"notes": "gate 2"}
    handle_visit("org1", "v1", visit, notes_only)  # nothing that matters to reminders
    assert tasks_queue.tasks == planned
