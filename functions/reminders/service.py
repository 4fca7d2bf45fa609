"""Reminders: one record per thing reminded of, one Cloud Task per reminder, checked again when it runs.

A record `reminders/{id}` (server-only) holds what is reminded of (a visit, a task falling due, a lead's
follow-up), the time it is for, when it fires and the id of its Cloud Task. Task ids come from the record,
the time reminded of and a generation that grows whenever that time changes: a retry reuses the name (Cloud
Tasks refuses it, nothing doubles), a reschedule gets a new name (Cloud Tasks refuses names deleted within
about an hour, so an old name is never reused). When a task runs it re-reads the record and the subject and
sends nothing for a cancelled or moved visit, a task already done or a follow-up that changed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core import clients, clock, notify, tenancy
from core.ids import sha256_hex
from core.org_settings import OrgSettings
from leads import store
from reminders import queue as task_queue

log = logging.getLogger("justo")

COLLECTION = "reminders"
VISIT_SLOTS: tuple[tuple[str, timedelta], ...] = (("day", timedelta(days=1)), ("hour", timedelta(hours=1)))


@dataclass(frozen=True)
class Plan:
    """A reminder that should exist: what of, for what time, fired when."""

    org_id: str
    subject_type: str  # visit, task, lead
    subject_id: str
    slot: str  # day, hour (visits), due (tasks), follow-up (leads)
    for_at: datetime
    fire_at: datetime
    lead_id: str | None

    @property
    def reminder_id(self) -> str:
        """The record id: stable per thing reminded of and slot."""
        return reminder_id(self.org_id, self.subject_type, self.subject_id, self.slot)


def reminder_id(org_id: str, subject_type: str, subject_id: str, slot: str) -> str:
    """The record id of one reminder slot of a subject."""
    return sha256_hex("reminder", org_id, subject_type, subject_id, slot)[:40]


def task_name(record_id: str, for_at: datetime, generation: int) -> str:
    """The Cloud Tasks id: hashed (Cloud Tasks wants evenly spread names) from the record, time and generation."""
    return "r" + sha256_hex(record_id, for_at.isoformat(), str(generation))[:40]


def slots_of(subject_type: str) -> tuple[str, ...]:
    """Every slot a subject type may have."""
    return {"visit": tuple(s for s, _ in VISIT_SLOTS), "task": ("due",), "lead": ("follow-up",)}[subject_type]


# ---- what should be reminded of (pure) --------------------------------------------------------------


def visit_plans(org_id: str, visit_id: str, visit: dict[str, Any] | None, now: datetime) -> list[Plan]:
    """A day and an hour before a scheduled visit; slots already past are dropped, except that a visit less
    than an hour away is reminded of at once."""
    if not visit or visit.get("status") != "scheduled" or not isinstance(visit.get("scheduledAt"), datetime):
        return []
    at: datetime = visit["scheduledAt"]
    if at <= now:
        return []
    plans = []
    for index, (slot, before) in enumerate(VISIT_SLOTS):
        fire = at - before
        last = index == len(VISIT_SLOTS) - 1
        if fire < now and not last:
            continue
        plans.append(Plan(org_id, "visit", visit_id, slot, at, max(fire, now), visit.get("leadId")))
    return plans


def task_plans(org_id: str, task_id: str, task: dict[str, Any] | None, now: datetime) -> list[Plan]:
    """When an open task with an assignee falls due (at once when it is already due and was just set)."""
    if not task or task.get("status", "open") != "open" or not task.get("assigneeId"):
        return []
    due = task.get("dueAt")
    if not isinstance(due, datetime):
        return []
    return [Plan(org_id, "task", task_id, "due", due, max(due, now), task.get("leadId"))]


def lead_plans(org_id: str, lead_id: str, lead: dict[str, Any] | None, now: datetime) -> list[Plan]:
    """When a live, assigned lead's `nextFollowUpAt` falls due."""
    if not lead or lead.get("archived") or not lead.get("assigneeId"):
        return []
    due = lead.get("nextFollowUpAt")
    if not isinstance(due, datetime) or due < now - timedelta(minutes=5):
        return []
    return [Plan(org_id, "lead", lead_id, "follow-up", due, max(due, now), lead_id)]


PLANNERS = {"visit": visit_plans, "task": task_plans, "lead": lead_plans}


def subject_ref(org_id: str, subject_type: str, subject_id: str) -> Any:
    """The document a reminder is about: a visit, a task or a lead."""
    if subject_type == "lead":
        return store.ref(org_id, subject_id)
    return tenancy.org_ref(org_id).collection({"visit": "visits", "task": "tasks"}[subject_type]).document(subject_id)


# ---- keeping Cloud Tasks in step ------------------------------------------------------------------


def records() -> Any:
    """The reminder records collection."""
    return clients.db().collection(COLLECTION)


def reconcile(org_id: str, subject_type: str, subject_id: str, subject: dict[str, Any] | None) -> None:
    """Make the subject's tasks match its current state: enqueue new ones, delete replaced or dropped ones.

    Idempotent: run it again (a retried trigger, the API and a trigger both) and nothing changes."""
    now = clock.now()
    wanted = {plan.slot: plan for plan in PLANNERS[subject_type](org_id, subject_id, subject, now)}
    for slot in slots_of(subject_type):
        ref = records().document(reminder_id(org_id, subject_type, subject_id, slot))
        snapshot = ref.get()
        record = snapshot.to_dict() if snapshot.exists else None
        _apply(ref, record, wanted.get(slot), now)


def _apply(ref: Any, record: dict[str, Any] | None, plan: Plan | None, now: datetime) -> None:
    live = record is not None and record.get("state") in {"pending", "enqueued"}
    if plan is None:
        if record is not None and live:
            task_queue.queue().delete(record["taskId"])
            ref.update({"state": "cancelled", "pendingFireAt": None, "updatedAt": now})
        return
    if record is not None and record.get("forAt") == plan.for_at and record.get("state") != "cancelled":
        return  # already planned (or sent) for this very time
    if record is not None and live:
        task_queue.queue().delete(record["taskId"])
    generation = int(record.get("generation", 0)) + 1 if record else 1
    name = task_name(ref.id, plan.for_at, generation)
    document = {
        "orgId": plan.org_id,
        "subjectType": plan.subject_type,
        "subjectId": plan.subject_id,
        "slot": plan.slot,
        "leadId": plan.lead_id,
        "forAt": plan.for_at,
        "fireAt": plan.fire_at,
        "generation": generation,
        "taskId": name,
        "state": "pending",
        "pendingFireAt": plan.fire_at,
        "updatedAt": now,
    }
    ref.set(document)
    _enqueue_if_in_window(ref, document, now)


def _enqueue_if_in_window(ref: Any, record: dict[str, Any], now: datetime, *, update_time: Any = None) -> bool:
    """Enqueue a pending reminder whose time is within the queue's horizon; mark it enqueued."""
    target = task_queue.queue()
    fire_at: datetime = record["fireAt"]
    if fire_at > now + target.horizon:
        return False
    payload = {"orgId": record["orgId"], "reminderId": ref.id, "taskId": record["taskId"]}
    target.enqueue(record["taskId"], payload, max(fire_at, now))
    changes = {"state": "enqueued", "pendingFireAt": None, "updatedAt": now}
    if update_time is None:
        ref.update(changes)
    else:
        from google.api_core.exceptions import FailedPrecondition

        try:
            ref.update(changes, option=clients.db().write_option(last_update_time=update_time))
        except FailedPrecondition:  # replanned meanwhile: that reconcile owns it now
            return False
    return True


def sweep(*, limit: int = 500) -> int:
    """Enqueue pending reminders that entered the queue's horizon (daily in production); how many."""
    now = clock.now()
    horizon = now + task_queue.queue().horizon
    query = records().where(filter=clients.where("pendingFireAt", "<=", horizon)).order_by("pendingFireAt")
    count = 0
    for snapshot in query.limit(limit).stream():
        record = snapshot.to_dict() or {}
        if record.get("state") == "pending" and _enqueue_if_in_window(
            snapshot.reference, record, now, update_time=snapshot.update_time
        ):
            count += 1
    return count


# ---- when a task runs -----------------------------------------------------------------------------


def deliver(payload: dict[str, Any]) -> str:
    """Run one reminder task: re-read the record and the subject; push only if both still stand.

    Returns what happened (sent, stale, early, duplicate) for the log; retries send nothing new."""
    record_id, name = str(payload.get("reminderId", "")), str(payload.get("taskId", ""))
    if not record_id or not name:
        return "stale"
    ref = records().document(record_id)
    snapshot = ref.get()
    record = snapshot.to_dict() if snapshot.exists else None
    if record is None or record.get("taskId") != name or record.get("state") == "cancelled":
        return "stale"
    now = clock.now()
    if record["fireAt"] > now + timedelta(seconds=30):
        raise EarlyReminder("reminder task ran before its time")  # Cloud Tasks retries it later
    org_id, subject_type, subject_id = record["orgId"], record["subjectType"], record["subjectId"]
    subject_snapshot = subject_ref(org_id, subject_type, subject_id).get()
    subject = subject_snapshot.to_dict() if subject_snapshot.exists else None
    current = {p.slot: p for p in _current_plans(org_id, subject_type, subject_id, subject, now)}
    plan = current.get(record["slot"])
    if plan is None or plan.for_at != record["forAt"]:
        return "stale"
    assert subject is not None
    push = _push(org_id, subject_type, subject_id, record["slot"], subject)
    if push is None:
        return "stale"
    sent = notify.send(push, dedupe_key=f"reminder:{name}")
    ref.update({"state": "sent", "sentAt": now, "updatedAt": now})
    return "sent" if sent else "duplicate"


class EarlyReminder(RuntimeError):
    """A task ran before its time (never in production; retried)."""


def _current_plans(
    org_id: str, subject_type: str, subject_id: str, subject: dict[str, Any] | None, now: datetime
) -> list[Plan]:
    """What the subject asks for now, ignoring that a slot's own fire time has just passed."""
    if subject_type == "visit":
        if not subject or subject.get("status") != "scheduled":
            return []
        at = subject.get("scheduledAt")
        if not isinstance(at, datetime) or at <= now:
            return []
        return [
            Plan(org_id, "visit", subject_id, slot, at, at - before, subject.get("leadId"))
            for slot, before in VISIT_SLOTS
        ]
    if subject_type == "lead":
        if not subject or subject.get("archived") or not subject.get("assigneeId"):
            return []
        due = subject.get("nextFollowUpAt")
        return (
            [Plan(org_id, "lead", subject_id, "follow-up", due, due, subject_id)] if isinstance(due, datetime) else []
        )
    return PLANNERS[subject_type](org_id, subject_id, subject, now)


def local_time(org_id: str, at: datetime) -> str:
    """A time as the organization reads it: `Sat 28 Nov, 10:30 IST`."""
    local = at.astimezone(OrgSettings.of(tenancy.load_org(org_id)).zone)
    return local.strftime("%a %d %b, %H:%M ") + (local.tzname() or "")


def _push(org_id: str, subject_type: str, subject_id: str, slot: str, subject: dict[str, Any]) -> notify.Push | None:
    """The push of a reminder, to whoever holds the subject now."""
    org = tenancy.org_ref(org_id)
    if subject_type == "visit":
        lead = store.get(org_id, str(subject.get("leadId")))
        project_name = ""
        if subject.get("projectId"):
            project_name = str(
                (org.collection("projects").document(subject["projectId"]).get().to_dict() or {}).get("name", "")
            )
        when = local_time(org_id, subject["scheduledAt"])
        title = "Site visit tomorrow" if slot == "day" else "Site visit soon"
        place = f" at {project_name}" if project_name else ""
        return notify.Push(
            uid=str(subject["agentId"]),
            kind="visit-reminder",
            title=title,
            body=f"{(lead.name if lead else '') or 'Lead'}{place}, {when}",
            data={"orgId": org_id, "visitId": subject_id, "leadId": str(subject.get("leadId", ""))},
            refs=(str(subject.get("leadId", "")), subject_id),
        )
    if subject_type == "task":
        refs = tuple(r for r in (subject.get("leadId"), subject_id) if r)
        return notify.Push(
            uid=str(subject["assigneeId"]),
            kind="task-due",
            title="Task due",
            body=str(subject.get("title", "A task is due")),
            data={"orgId": org_id, "taskId": subject_id}
            | ({"leadId": subject["leadId"]} if subject.get("leadId") else {}),
            refs=refs,
        )
    return notify.Push(
        uid=str(subject["assigneeId"]),
        kind="follow-up-due",
        title="Follow-up due",
        body=f"Follow up with {subject.get('name', 'your lead')}",
        data={"orgId": org_id, "leadId": subject_id},
        refs=(subject_id,),
    )
