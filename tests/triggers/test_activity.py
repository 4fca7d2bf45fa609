"""The lead history triggers' logic on the Firestore emulator: entries, masking, idempotency, no noise."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from core import tenancy
from triggers import activity

pytestmark = pytest.mark.service

AT = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def lead(**fields: Any) -> dict[str, Any]:
    base = {
        "name": "Ravi",
        "stage": "new",
        "source": "website",
        "assigneeId": "a1",
        "teamId": "north",
        "primaryPhone": {
            "countryCode": "+91",
            "number": "9876543210",
            "e164": "+919876543210",
            "masked": "+91 98XXXXXX10",
        },
        "createdBy": "a1",
        "updatedBy": "a1",
        "updatedAt": AT,
        "version": 1,
    }
    return base | fields


def entries(org: str = "org1", lead_id: str = "l1") -> list[dict[str, Any]]:
    ref = tenancy.org_ref(org).collection("leads").document(lead_id).collection("activity")
    return [s.to_dict() or {} for s in ref.stream()]


def test_created_entry_is_written_once_even_when_the_event_is_replayed(db: Any) -> None:
    assert activity.on_lead_written(org_id="org1", lead_id="l1", event_id="ev-1", before=None, after=lead()) == 1
    assert activity.on_lead_written(org_id="org1", lead_id="l1", event_id="ev-1", before=None, after=lead()) == 0
    [entry] = entries()
    assert entry["type"] == "created" and entry["actorId"] == "a1" and entry["leadId"] == "l1"


def test_stage_assignee_and_field_changes_make_one_entry_each_with_masked_phones(db: Any) -> None:
    before = lead()
    after = lead(
        stage="contacted",
        assigneeId="a2",
        name="Ravi Kumar",
        primaryPhone={
            "countryCode": "+91",
            "number": "9123456789",
            "e164": "+919123456789",
            "masked": "+91 91XXXXXX89",
        },
        updatedBy="m1",
        version=2,
    )
    assert activity.on_lead_written(org_id="org1", lead_id="l1", event_id="ev-2", before=before, after=after) == 3
    by_type = {entry["type"]: entry for entry in entries()}
    assert set(by_type) == {"stage_changed", "assigned", "updated"}
    assert by_type["stage_changed"]["changes"] == {"stage": {"before": "new", "after": "contacted"}}
    assert by_type["assigned"]["changes"]["assigneeId"] == {"before": "a1", "after": "a2"}
    assert by_type["updated"]["changes"]["primaryPhone"] == {"before": "+91 98XXXXXX10", "after": "+91 91XXXXXX89"}
    assert "9123456789" not in str(entries()) and by_type["updated"]["actorId"] == "m1"
    assert activity.on_lead_written(org_id="org1", lead_id="l1", event_id="ev-2", before=before, after=after) == 0
    assert len(entries()) == 3


def test_notes_and_tasks_add_entries_to_their_lead(db: Any) -> None:
    note = {"text": "called", "authorId": "a1", "createdAt": AT, "leadId": "l1"}
    assert activity.on_note_created(org_id="org1", lead_id="l1", note_id="n1", event_id="ev-3", note=note) == 1
    assert activity.on_note_created(org_id="org1", lead_id="l1", note_id="n1", event_id="ev-3", note=note) == 0
    assert (
        activity.on_note_created(
            org_id="org1", lead_id="l1", note_id="n2", event_id="ev-4", note=note | {"movedFrom": "l9"}
        )
        == 0
    )
    task = {
        "title": "Call back",
        "leadId": "l1",
        "status": "open",
        "createdBy": "a1",
        "updatedBy": "a1",
        "updatedAt": AT,
    }
    assert activity.on_task_written(org_id="org1", task_id="t1", event_id="ev-5", before=None, after=task) == 1
    done = task | {"status": "done", "updatedBy": "a2"}
    assert activity.on_task_written(org_id="org1", task_id="t1", event_id="ev-6", before=task, after=done) == 1
    assert (
        activity.on_task_written(org_id="org1", task_id="t1", event_id="ev-7", before=done, after=done | {"title": "x"})
        == 0
    )
    assert (
        activity.on_task_written(
            org_id="org1", task_id="t2", event_id="ev-8", before=None, after=task | {"leadId": None}
        )
        == 0
    )
    types = sorted(entry["type"] for entry in entries())
    assert types == ["note_added", "task_completed", "task_created"]
    assert {entry["ref"]["kind"] for entry in entries()} == {"note", "task"}
