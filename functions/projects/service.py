"""Projects: every member reads them; admins create and change them."""

from __future__ import annotations

from typing import Any

from core import clock, pagination, tenancy, transactions
from core.caller import Caller
from core.errors import not_found
from core.ids import new_id
from core.versioning import check
from projects.models import ProjectCreate, ProjectListQuery, ProjectUpdate


def projects_collection(org_id: str) -> Any:
    """The organization's projects."""
    return tenancy.org_ref(org_id).collection("projects")


def create_project(
    *, org_id: str, actor: str | None, data: ProjectCreate, project_id: str | None = None
) -> dict[str, Any]:
    """Create a project."""
    now = clock.now()
    project_id = project_id or new_id("p_")
    document = {
        **data.model_dump(by_alias=True, mode="python"),
        "active": True,
        "version": 1,
        "createdAt": now,
        "updatedAt": now,
        "createdBy": actor,
        "updatedBy": actor,
    }
    projects_collection(org_id).document(project_id).create(document)
    return {"id": project_id, **document}


def get_project(*, caller: Caller, project_id: str) -> dict[str, Any]:
    """One project of the caller's organization."""
    snapshot = projects_collection(caller.org_id).document(project_id).get()
    if not snapshot.exists:
        raise not_found("Project")
    return {"id": snapshot.id, **(snapshot.to_dict() or {})}


def update_project(*, caller: Caller, project_id: str, data: ProjectUpdate, if_match: int | None) -> dict[str, Any]:
    """Change a project; 412 on a stale If-Match."""
    from google.cloud import firestore

    changes = data.model_dump(exclude_unset=True, by_alias=True, mode="python")
    ref = projects_collection(caller.org_id).document(project_id)

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            raise not_found("Project")
        project = snapshot.to_dict() or {}
        version = check(project, if_match)
        updates = {**changes, "version": version + 1, "updatedAt": clock.now(), "updatedBy": caller.uid}
        transaction.update(ref, updates)
        project.update(updates)
        return {"id": project_id, **project}

    result: dict[str, Any] = transactions.run(apply)
    return result


def list_projects(*, caller: Caller, query: ProjectListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the organization's projects, newest first."""
    collection = projects_collection(caller.org_id)
    snapshots, cursor = pagination.page(collection, order_field="createdAt", limit=query.limit, cursor=query.cursor)
    return [{"id": s.id, **(s.to_dict() or {})} for s in snapshots], cursor
