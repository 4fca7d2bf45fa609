"""Pushes from Firestore triggers (lead or task assigned to you, your lead changed by someone else) and the
reminders of tasks falling due and leads' follow-ups, kept in step with those documents.

Every push's dedupe key comes from the event id, so a redelivered event sends nothing twice; reminders are
reconciled from the document as it is now, so events arriving out of order do no harm."""

from __future__ import annotations

from typing import Any

from firebase_functions import firestore_fn

from core import notify
from core.deploy import DATA_EVENTS, PUSH_EVENTS, document_trigger
from leads.store import ROUTING_FIELDS

# Fields whose change alone is no news to the lead's owner (the routing and SLA bookkeeping among them: the
# owner's own first contact, a new deadline).
QUIET_LEAD_FIELDS = frozenset(
    {"updatedAt", "updatedBy", "version", "searchTokens", "lastActivityAt", "lastContactedAt", "createdAt"}
) | frozenset(ROUTING_FIELDS)


# Phones are stored raw or masked by the organization's setting; the leadmasking trigger rewrites one form into
# the other without anyone changing the number.
PHONE_FIELDS = frozenset({"primaryPhone", "alternatePhone"})


def _refs(*ids: Any) -> tuple[str, ...]:
    return tuple(str(i) for i in ids if i)


def _masked_display(phone: dict[str, Any]) -> str | None:
    if phone.get("masked"):
        return str(phone["masked"])
    if phone.get("e164") and phone.get("countryCode"):
        from leads.phones import mask

        return mask(str(phone["e164"]), str(phone["countryCode"]))
    return None


def same_phone(before: Any, after: Any) -> bool:
    """True when two stored phones are one number: the same form twice, or its raw and masked forms (a masking
    toggle is no news to the agent; a new number is)."""
    if before == after:
        return True
    if not isinstance(before, dict) or not isinstance(after, dict):
        return False
    if before.get("e164") and after.get("e164"):
        return bool(before["e164"] == after["e164"])
    display = _masked_display(before)
    return (
        display is not None
        and display == _masked_display(after)
        and before.get("countryCode") == after.get("countryCode")
    )


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The fields of a lead write that are news to its owner, sorted."""
    return sorted(
        key
        for key in set(before) | set(after)
        if key not in QUIET_LEAD_FIELDS
        and before.get(key) != after.get(key)
        and not (key in PHONE_FIELDS and same_phone(before.get(key), after.get(key)))
    )


def lead_pushes(
    org_id: str, lead_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[notify.Push]:
    """Lead assigned to you (by someone else); your lead updated by someone else."""
    from routing.sla_tasks import sla_move

    if after is None or after.get("archived"):
        return []
    assignee = after.get("assigneeId")
    actor = after.get("updatedBy") if before is not None else after.get("createdBy")
    if not assignee:
        return []
    name = str(after.get("name") or "A lead")
    data = {"orgId": org_id, "leadId": lead_id}
    if before is None or before.get("assigneeId") != assignee:
        if actor == assignee or sla_move(before, after):
            return []  # your own lead; or an SLA re-route, whose pushes the `leadsla` task sends
        return [notify.Push(assignee, "lead-assigned", "New lead assigned to you", name, data, _refs(lead_id))]
    changed = changed_fields(before, after)
    if not changed or not actor or actor == assignee:
        return []
    shown = ", ".join(changed[:4]) + ("…" if len(changed) > 4 else "")
    body = f"{name}: {shown} changed"
    return [
        notify.Push(
            assignee,
            "lead-updated",
            "Your lead was updated",
            body,
            data | {"fields": ",".join(changed)},
            _refs(lead_id),
        )
    ]


def task_pushes(
    org_id: str, task_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> list[notify.Push]:
    """Task assigned to you by someone else (on creation or reassignment)."""
    if after is None or after.get("status", "open") != "open":
        return []
    assignee = after.get("assigneeId")
    if not assignee or (before is not None and before.get("assigneeId") == assignee):
        return []
    actor = after.get("updatedBy") if before is not None else after.get("createdBy")
    if actor == assignee:
        return []
    data = {"orgId": org_id, "taskId": task_id} | ({"leadId": str(after["leadId"])} if after.get("leadId") else {})
    title = str(after.get("title") or "A task")
    return [
        notify.Push(assignee, "task-assigned", "Task assigned to you", title, data, _refs(after.get("leadId"), task_id))
    ]


def _changed(before: dict[str, Any] | None, after: dict[str, Any] | None, fields: tuple[str, ...]) -> bool:
    return any((before or {}).get(f) != (after or {}).get(f) for f in fields) or (before is None) != (after is None)


def _current(org_id: str, subject_type: str, doc_id: str) -> dict[str, Any] | None:
    from reminders import service as reminders

    snapshot = reminders.subject_ref(org_id, subject_type, doc_id).get()
    return {"id": snapshot.id, **(snapshot.to_dict() or {})} if snapshot.exists else None


def handle_lead(
    event_id: str, org_id: str, lead_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> int:
    """Pushes for a lead write and its follow-up reminder; how many pushes were sent."""
    from reminders import service as reminders

    sent = sum(notify.send(p, dedupe_key=f"{event_id}:{p.kind}") for p in lead_pushes(org_id, lead_id, before, after))
    if _changed(before, after, ("nextFollowUpAt", "assigneeId", "archived")):
        reminders.reconcile(org_id, "lead", lead_id, _current(org_id, "lead", lead_id))
    return sent


def handle_task(
    event_id: str, org_id: str, task_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> int:
    """Pushes for a task write and its due reminder; how many pushes were sent."""
    from reminders import service as reminders

    sent = sum(notify.send(p, dedupe_key=f"{event_id}:{p.kind}") for p in task_pushes(org_id, task_id, before, after))
    if _changed(before, after, ("dueAt", "status", "assigneeId")):
        reminders.reconcile(org_id, "task", task_id, _current(org_id, "task", task_id))
    return sent


def handle_visit(org_id: str, visit_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Keep a visit's reminders in step (the API did it already; this catches a crash between commit and enqueue)."""
    from reminders import service as reminders

    if _changed(before, after, ("scheduledAt", "status")):
        reminders.reconcile(org_id, "visit", visit_id, _current(org_id, "visit", visit_id))


def _data(snapshot: Any) -> dict[str, Any] | None:
    return snapshot.to_dict() if snapshot is not None and snapshot.exists else None


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/leads/{leadId}", max_age=PUSH_EVENTS)
def notifyonlead(event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]]) -> None:
    """Lead written: assignment and update pushes, follow-up reminder."""
    handle_lead(
        event.id, event.params["orgId"], event.params["leadId"], _data(event.data.before), _data(event.data.after)
    )


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/tasks/{taskId}", max_age=PUSH_EVENTS)
def notifyontask(event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]]) -> None:
    """Task written: assignment push, due reminder."""
    handle_task(
        event.id, event.params["orgId"], event.params["taskId"], _data(event.data.before), _data(event.data.after)
    )


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/visits/{visitId}", max_age=DATA_EVENTS)
def remindonvisit(event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]]) -> None:
    """Visit written: its reminders follow its time and status."""
    handle_visit(event.params["orgId"], event.params["visitId"], _data(event.data.before), _data(event.data.after))
