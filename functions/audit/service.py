"""Reading the organization's audit trail: filters and pages, newest first."""

from __future__ import annotations

from typing import Any

from audit.models import AuditQuery
from core import audit as trail
from core import clients, pagination
from core.caller import Caller


def list_entries(*, caller: Caller, query: AuditQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the caller's organization's entries matching the filters, newest first."""
    ref: Any = trail.entries_ref(caller.org_id)
    if query.action is not None:
        ref = ref.where(filter=clients.where("action", "==", query.action))
    if query.actor_id is not None:
        ref = ref.where(filter=clients.where("actorId", "==", query.actor_id))
    if query.since is not None:
        ref = ref.where(filter=clients.where("createdAt", ">=", query.since))
    if query.until is not None:
        ref = ref.where(filter=clients.where("createdAt", "<", query.until))
    snapshots, cursor = pagination.page(ref, order_field="createdAt", limit=query.limit, cursor=query.cursor)
    return [{"id": s.id, **(s.to_dict() or {})} for s in snapshots], cursor
