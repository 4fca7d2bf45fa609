"""Firestore triggers that write a lead's history (`orgs/{orgId}/leads/{leadId}/activity/{id}`).

Idempotent: every entry's id derives from the event id (a replayed event writes nothing new). No loops:
they write only to `activity`, which no trigger listens to, and never to the triggering document. The
handlers below are thin; the pure functions before them decide what an event means.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from firebase_functions import firestore_fn

from core import clock
from core.deploy import DATA_EVENTS, document_trigger
from leads import history, store

# Fields whose change is worth a line in the history; phones are shown masked, never raw.
TRACKED = (
    "salutation",
    "name",
    "primaryPhone",
    "alternatePhone",
    "emails",
    "location",
    "budget",
    "configurations",
    "source",
    "projectId",
    "tags",
    "doNotContact",
    "optIns",
    "purpose",
    "nextFollowUpAt",
    "channelPartnerId",
)


SYSTEM_FIELDS = store.ROUTING_FIELDS


def _shown(field: str, value: Any) -> Any:
    """A field's value as the history shows it: phones masked, opt-ins as their channels."""
    if field in {"primaryPhone", "alternatePhone"}:
        return value.get("masked") if isinstance(value, dict) else None
    if field == "optIns":
        return sorted(str(entry.get("channel")) for entry in value or [])
    return value


def lead_entries(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The history entries one write of a lead document makes (type, summary, changes, ref); [] for none."""
    from routing.sla_tasks import sla_move

    if after is None or after.get("mergedInto"):
        return []  # purged, or a duplicate folding into another lead: its history moves over
    if before is None:
        source = after.get("source") or "unknown source"
        return [{"type": "created", "summary": f"Lead created ({source})", "changes": {}, "ref": {}}]
    entries: list[dict[str, Any]] = []
    if bool(before.get("archived")) != bool(after.get("archived")):
        kind = "archived" if after.get("archived") else "restored"
        entries.append({"type": kind, "summary": f"Lead {kind}", "changes": {}, "ref": {}})
    if before.get("stage") != after.get("stage"):
        entries.append(
            {
                "type": "stage_changed",
                "summary": f"Stage: {before.get('stage')} → {after.get('stage')}",
                "changes": {"stage": {"before": before.get("stage"), "after": after.get("stage")}},
                "ref": {},
            }
        )
    if before.get("assigneeId") != after.get("assigneeId") and not sla_move(before, after):
        # an SLA re-route's `sla-missed` and `assigned` are written by the `leadsla` task
        entries.append(
            {
                "type": "assigned",
                "summary": "Lead reassigned",
                "changes": {
                    "assigneeId": {"before": before.get("assigneeId"), "after": after.get("assigneeId")},
                    "teamId": {"before": before.get("teamId"), "after": after.get("teamId")},
                },
                "ref": {},
            }
        )
    for merged in [lead for lead in after.get("mergedFrom") or [] if lead not in (before.get("mergedFrom") or [])]:
        entries.append(
            {
                "type": "merged",
                "summary": "A duplicate lead was merged in",
                "changes": {},
                "ref": {"kind": "lead", "id": merged},
            }
        )
    changes = {
        field: {"before": _shown(field, before.get(field)), "after": _shown(field, after.get(field))}
        for field in TRACKED
        if _shown(field, before.get(field)) != _shown(field, after.get(field))
    }
    if changes:
        entries.append(
            {"type": "updated", "summary": "Updated " + ", ".join(sorted(changes)), "changes": changes, "ref": {}}
        )
    return entries


def on_lead_written(
    *,
    org_id: str,
    lead_id: str,
    event_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime | None = None,
) -> int:
    """Record a lead write's entries; the number written (0 for a replay or a write that changes nothing shown)."""
    written = 0
    actor = (after or {}).get("updatedBy") if before is not None else (after or {}).get("createdBy")
    when = (after or {}).get("updatedAt") or at or clock.now()
    for entry in lead_entries(before, after):
        written += history.record(
            org_id=org_id, lead_id=lead_id, event_id=event_id, actor_id=actor, at=when, suffix=entry["type"], **entry
        )
    return written


def on_note_created(*, org_id: str, lead_id: str, note_id: str, event_id: str, note: dict[str, Any] | None) -> int:
    """Record "note added" (not for notes moved over by a merge)."""
    if note is None or note.get("movedFrom"):
        return 0
    return int(
        history.record(
            org_id=org_id,
            lead_id=lead_id,
            event_id=event_id,
            type="note_added",
            actor_id=note.get("authorId"),
            at=note.get("createdAt") or clock.now(),
            summary="Note added",
            ref={"kind": "note", "id": note_id},
        )
    )


def task_entries(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The history entries of one task write: created, completed; [] when not tied to a lead."""
    if after is None or not after.get("leadId"):
        return []
    title = str(after.get("title", ""))[:80]
    if before is None:
        return [{"type": "task_created", "summary": f"Task created: {title}", "actor": after.get("createdBy")}]
    if before.get("status") != "done" and after.get("status") == "done":
        return [{"type": "task_completed", "summary": f"Task completed: {title}", "actor": after.get("updatedBy")}]
    return []


def on_task_written(
    *, org_id: str, task_id: str, event_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> int:
    """Record task created/completed on the task's lead."""
    written = 0
    for entry in task_entries(before, after):
        assert after is not None
        written += history.record(
            org_id=org_id,
            lead_id=str(after["leadId"]),
            event_id=event_id,
            type=entry["type"],
            actor_id=entry["actor"],
            at=after.get("updatedAt") or clock.now(),
            summary=entry["summary"],
            ref={"kind": "task", "id": task_id},
            suffix=entry["type"],
        )
    return written


def _data(snapshot: Any) -> dict[str, Any] | None:
    if snapshot is None or not getattr(snapshot, "exists", False):
        return None
    return dict(snapshot.to_dict() or {})


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/leads/{leadId}", max_age=DATA_EVENTS)
def leadactivity(event: firestore_fn.Event[Any]) -> None:
    """History entries for a lead's creation and changes."""
    on_lead_written(
        org_id=event.params["orgId"],
        lead_id=event.params["leadId"],
        event_id=event.id,
        before=_data(event.data.before),
        after=_data(event.data.after),
    )


@document_trigger(
    firestore_fn.on_document_created, document="orgs/{orgId}/leads/{leadId}/notes/{noteId}", max_age=DATA_EVENTS
)
def noteactivity(event: firestore_fn.Event[Any]) -> None:
    """A "note added" entry."""
    on_note_created(
        org_id=event.params["orgId"],
        lead_id=event.params["leadId"],
        note_id=event.params["noteId"],
        event_id=event.id,
        note=_data(event.data),
    )


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/tasks/{taskId}", max_age=DATA_EVENTS)
def taskactivity(event: firestore_fn.Event[Any]) -> None:
    """Task created / completed entries on the task's lead."""
    on_task_written(
        org_id=event.params["orgId"],
        task_id=event.params["taskId"],
        event_id=event.id,
        before=_data(event.data.before),
        after=_data(event.data.after),
    )
