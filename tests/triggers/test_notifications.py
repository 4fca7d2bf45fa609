"""Pushes from Firestore triggers, on the Firestore emulator: who hears of what, and never twice per event."""

from __future__ import annotations

from typing import Any

import pytest

from core import outbox
from tests.support.outbox import feed
from triggers.notifications import handle_lead, handle_task

pytestmark = pytest.mark.service


LEAD = {"name": "Ravi Buyer", "stage": "new", "assigneeId": "agent-a", "teamId": "north", "version": 1}


def _kinds(uid: str) -> list[tuple[str, str]]:
    return [(e["kind"], e["body"]) for e in feed(uid)]


def test_a_lead_assigned_to_you_by_someone_else_is_pushed_once(db: Any, tasks_queue: Any) -> None:
    created = LEAD | {"createdBy": "admin"}
    assert handle_lead("ev1", "org1", "lead1", None, created) == 1
    assert handle_lead("ev1", "org1", "lead1", None, created) == 0  # redelivered event
    assert _kinds("agent-a") == [("lead-assigned", "Ravi Buyer")]
    (entry,) = feed("agent-a")
    assert entry["data"] == {"orgId": "org1", "leadId": "lead1"} and entry["refs"] == ["lead1"]
    pushed = [m for m in outbox.recent(to="agent-a") if m["channel"] == "push"]
    assert len(pushed) == 1 and pushed[0]["refs"] == ["lead1"]
    reassigned = created | {"assigneeId": "agent-b", "updatedBy": "manager", "version": 2}
    assert handle_lead("ev2", "org1", "lead1", created, reassigned) == 1
    assert _kinds("agent-b") == [("lead-assigned", "Ravi Buyer")]


def test_assigning_a_lead_to_yourself_pushes_nothing(db: Any, tasks_queue: Any) -> None:
    assert handle_lead("ev1", "org1", "lead1", None, LEAD | {"createdBy": "agent-a"}) == 0
    assert feed("agent-a") == []


def test_your_lead_changed_by_someone_else_is_pushed_with_the_fields(db: Any, tasks_queue: Any) -> None:
    before = LEAD | {"updatedBy": "agent-a"}
    after = before | {"stage": "negotiation", "tags": ["hot"], "updatedBy": "manager", "version": 2, "updatedAt": 2}
    assert handle_lead("ev3", "org1", "lead1", before, after) == 1
    (entry,) = feed("agent-a")
    assert entry["kind"] == "lead-updated" and entry["body"] == "Ravi Buyer: stage, tags changed"
    assert entry["data"]["fields"] == "stage,tags"
    own = after | {"stage": "booked", "updatedBy": "agent-a", "version": 3}
    assert handle_lead("ev4", "org1", "lead1", after, own) == 0  # your own change
    quiet = own | {"updatedBy": "manager", "version": 4, "searchTokens": ["r"]}
    assert handle_lead("ev5", "org1", "lead1", own, quiet) == 0  # nothing that matters changed


def test_a_task_assigned_to_you_is_pushed_once_and_not_when_you_made_it(db: Any, tasks_queue: Any) -> None:
    task = {"title": "Send brochure", "assigneeId": "agent-a", "teamId": "north", "status": "open", "leadId": "lead1"}
    assert handle_task("ev6", "org1", "t1", None, task | {"createdBy": "manager"}) == 1
    assert handle_task("ev6", "org1", "t1", None, task | {"createdBy": "manager"}) == 0
    (entry,) = feed("agent-a")
    assert entry["kind"] == "task-assigned" and entry["body"] == "Send brochure"
    assert entry["refs"] == ["lead1", "t1"] and entry["data"]["taskId"] == "t1"
    assert handle_task("ev7", "org1", "t2", None, task | {"createdBy": "agent-a"}) == 0
    moved = task | {"assigneeId": "agent-b", "updatedBy": "manager"}
    assert handle_task("ev8", "org1", "t1", task, moved) == 1
    assert _kinds("agent-b") == [("task-assigned", "Send brochure")]
    edited = moved | {"title": "Send brochure today"}
    assert handle_task("ev9", "org1", "t1", moved, edited) == 0
