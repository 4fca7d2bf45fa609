"""At-least-once delivery: the same Firestore trigger event and the same Cloud Task delivered twice,
one after the other and at the same moment, through the real decorated functions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import clients, tenancy
from core.caller import caller_from_claims
from tests.support.factory import add_person, make_org
from tests.support.outbox import feed
from tests.visits.data import at, make_lead, make_project

pytestmark = pytest.mark.service


def _together(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions at the same moment on their own threads; their results (or exceptions) in order."""
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = actions[index]()
        except Exception as error:  # noqa: BLE001  # a crash is a result to assert on, not a lost thread
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _lead_created_event(event_id: str, org_id: str, lead_id: str, lead: dict[str, str]) -> Any:
    """The CloudEvent Firestore sends for a created lead (protobuf DocumentEventData, as in production)."""
    from cloudevents.http import CloudEvent
    from google.events.cloud import firestore as events

    name = f"projects/demo-justo/databases/(default)/documents/orgs/{org_id}/leads/{lead_id}"
    now = datetime.now(UTC)
    document = events.Document(
        name=name,
        fields={key: events.Value(string_value=value) for key, value in lead.items()},
        create_time=now,
        update_time=now,
    )
    attributes = {
        "id": event_id,
        "source": "//firestore.googleapis.com/projects/demo-justo/databases/(default)",
        "type": "google.cloud.firestore.document.v1.written",
        "specversion": "1.0",
        "datacontenttype": "application/protobuf",
        "time": now.isoformat().replace("+00:00", "Z"),
        "location": "asia-south1",
        "project": "demo-justo",
        "namespace": "(default)",
        "database": "(default)",
        "document": f"orgs/{org_id}/leads/{lead_id}",
        "subject": f"documents/orgs/{org_id}/leads/{lead_id}",
    }
    return CloudEvent(attributes, events.DocumentEventData.serialize(events.DocumentEventData(value=document)))


def _activity(org_id: str, lead_id: str) -> list[dict[str, Any]]:
    entries = tenancy.org_ref(org_id).collection("leads").document(lead_id).collection("activity").stream()
    return [s.to_dict() or {} for s in entries]


def test_a_lead_event_delivered_twice_in_a_row_writes_one_history_entry(db: Any) -> None:
    from triggers.activity import leadactivity

    clients.firebase_app()
    lead = {"name": "Twice Told", "source": "website", "createdBy": "u1", "stage": "new"}
    event = _lead_created_event("evt-replayed-1", "org1", "l1", lead)
    leadactivity(event)
    leadactivity(_lead_created_event("evt-replayed-1", "org1", "l1", lead))  # redelivered
    entries = _activity("org1", "l1")
    assert [(e["type"], e["actorId"]) for e in entries] == [("created", "u1")]


def test_a_lead_event_delivered_twice_at_once_writes_one_history_entry(db: Any) -> None:
    from triggers.activity import leadactivity

    clients.firebase_app()
    lead = {"name": "Double Sent", "source": "walk-in", "createdBy": "u2", "stage": "new"}
    results = _together(*[lambda: leadactivity(_lead_created_event("evt-concurrent-1", "org1", "l2", lead))] * 2)
    assert results == [None, None]  # neither delivery crashed (a crash would be retried again by Eventarc)
    assert [e["type"] for e in _activity("org1", "l2")] == ["created"]
    # A different event about the same lead is new history, not a duplicate.
    leadactivity(_lead_created_event("evt-other", "org1", "l2", lead))
    assert len(_activity("org1", "l2")) == 2


def _task_request(payload: dict[str, Any]) -> Any:
    """POST the task to the real task-queue function as Cloud Tasks does (body {"data": payload})."""
    from flask import Flask, request

    from triggers.reminders import remind

    app = Flask("tasks")
    with app.test_request_context(
        "/", method="POST", data=json.dumps({"data": payload}), content_type="application/json"
    ):
        response: Any = remind(request)  # type: ignore[arg-type, call-arg]  # a flask request, as functions-framework passes
    return int(response.status_code)


def test_a_reminder_task_delivered_twice_at_once_pushes_once(
    db: Any, clock: Any, mailer: Any, tasks_queue: Any
) -> None:
    from visits import service as visits
    from visits.models import VisitCreate

    make_org()
    agent = add_person("org1", "agent", "north")
    make_lead("org1", "lead1", assignee=agent.uid, team="north")
    make_project("org1")
    caller = caller_from_claims({"orgId": "org1", "uid": agent.uid, "role": "agent", "teamId": "north"}, fresh=True)
    when = at("2026-11-27T05:00:00Z")
    visits.create_visit(
        caller=caller, data=VisitCreate.model_validate({"leadId": "lead1", "projectId": "p1", "scheduledAt": when})
    )
    payload = next(p for p, due in tasks_queue.tasks.values() if due == when - timedelta(hours=1))
    clock.at = when - timedelta(hours=1)
    statuses = _together(lambda: _task_request(payload), lambda: _task_request(payload))
    assert statuses == [200, 200], statuses  # both acknowledged: Cloud Tasks must not retry either
    assert _task_request(payload) == 200  # and a third, late delivery
    pushes = [entry for entry in feed(agent.uid) if entry["kind"] == "visit-reminder"]
    assert len(pushes) == 1 and pushes[0]["title"] == "Site visit soon"
