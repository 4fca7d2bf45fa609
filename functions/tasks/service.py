"""Tasks: created for someone the creator may reach, seen per API.md's role table, newest due first."""

from __future__ import annotations

from typing import Any

from core import clients, clock, pagination, tenancy, transactions
from core.caller import Caller
from core.errors import forbidden, invalid, not_found
from core.ids import new_id
from core.versioning import check
from core.visibility import can_see_record
from leads import store
from leads.service import member_for_assignment
from tasks.models import TaskCreate, TaskListQuery, TaskUpdate


def tasks_collection(org_id: str) -> Any:
    """The organization's tasks."""
    return tenancy.org_ref(org_id).collection("tasks")


def _assignee(transaction: Any, caller: Caller, uid: str) -> dict[str, Any]:
    if uid != caller.uid:
        caller.require("tasks.assign")
    return member_for_assignment(transaction, caller.org_id, caller, uid)


def create_task(*, caller: Caller, data: TaskCreate) -> dict[str, Any]:
    """Create a task for the caller or someone it may reach; a lead, when named, must be visible."""
    if data.lead_id is not None:
        store.get_visible(caller, data.lead_id)
    member = _assignee(None, caller, data.assignee_id or caller.uid)
    if data.team_id is not None and data.team_id != member.get("teamId"):
        raise invalid("teamId", "must be the assignee's team")
    now = clock.now()
    task = {
        "title": data.title,
        "description": data.description,
        "leadId": data.lead_id,
        "assigneeId": member["uid"],
        "teamId": member.get("teamId"),
        "dueAt": data.due_at,
        "status": data.status,
        "completedAt": now if data.status == "done" else None,
        "createdBy": caller.uid,
        "updatedBy": caller.uid,
        "createdAt": now,
        "updatedAt": now,
        "version": 1,
    }
    task_id = new_id("t_")
    tasks_collection(caller.org_id).document(task_id).create(task)
    return {"id": task_id, **task}


def _visible(caller: Caller, task: dict[str, Any]) -> bool:
    return can_see_record(caller, owner_id=task.get("assigneeId"), team_id=task.get("teamId"))


def get_task(*, caller: Caller, task_id: str, transaction: Any = None) -> dict[str, Any]:
    """A task the caller may see: 404 when absent, 403 when not visible."""
    snapshot = tasks_collection(caller.org_id).document(task_id).get(transaction=transaction)
    if not snapshot.exists:
        raise not_found("Task")
    task = {"id": snapshot.id, **(snapshot.to_dict() or {})}
    if not _visible(caller, task):
        raise forbidden("You may not see this task")
    return task


def update_task(*, caller: Caller, task_id: str, data: TaskUpdate, if_match: int | None) -> dict[str, Any]:
    """Change a visible task; reassignment needs a reachable member."""
    from google.cloud import firestore

    changes = data.model_dump(exclude_unset=True, by_alias=True, mode="python")
    ref = tasks_collection(caller.org_id).document(task_id)

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        task = get_task(caller=caller, task_id=task_id, transaction=transaction)
        version = check(task, if_match)
        updates = dict(changes)
        if "assigneeId" in changes and changes["assigneeId"] != task.get("assigneeId"):
            member = _assignee(transaction, caller, changes["assigneeId"])
            updates["teamId"] = member.get("teamId")
        now = clock.now()
        if changes.get("status") == "done" and task.get("status") != "done":
            updates["completedAt"] = now
        elif changes.get("status") == "open":
            updates["completedAt"] = None
        updates.update(version=version + 1, updatedAt=now, updatedBy=caller.uid)
        transaction.update(ref, updates)
        task.update(updates)
        return task

    result: dict[str, Any] = transactions.run(apply)
    return result


def list_tasks(*, caller: Caller, query: TaskListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of visible tasks, newest due first; filters assigneeId, status, dueBefore."""
    built: Any = tasks_collection(caller.org_id)
    if caller.role == "manager":
        if not caller.team_id:
            return [], None
        built = built.where(filter=clients.where("teamId", "==", caller.team_id))
    elif caller.role != "admin":
        if query.assignee_id not in (None, caller.uid):
            return [], None
        built = built.where(filter=clients.where("assigneeId", "==", caller.uid))
    if query.assignee_id is not None and caller.role in {"admin", "manager"}:
        built = built.where(filter=clients.where("assigneeId", "==", query.assignee_id))
    if query.status is not None:
        built = built.where(filter=clients.where("status", "==", query.status))
    if query.due_before is not None:
        built = built.where(filter=clients.where("dueAt", "<", query.due_before))
    snapshots, cursor = pagination.page(built, order_field="dueAt", limit=query.limit, cursor=query.cursor)
    return [{"id": s.id, **(s.to_dict() or {})} for s in snapshots], cursor
