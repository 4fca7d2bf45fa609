"""Loading a lead the caller may see: the entry point other features use (visits, comms, attachments)."""

from __future__ import annotations

from typing import Any

from core import tenancy
from core.caller import Caller
from core.errors import forbidden, not_found
from core.visibility import can_see_lead


def lead_ref(org_id: str, lead_id: str) -> Any:
    """A lead's document reference."""
    return tenancy.org_ref(org_id).collection("leads").document(lead_id)


def get_visible_lead(caller: Caller, lead_id: str, *, transaction: Any = None) -> dict[str, Any]:
    """The lead (with `id`), or 404 when absent, archived or of another organization, 403 when not visible."""
    snapshot = lead_ref(caller.org_id, lead_id).get(transaction=transaction)
    if not snapshot.exists:
        raise not_found("Lead")
    lead = {"id": snapshot.id, **(snapshot.to_dict() or {})}
    if lead.get("archived"):
        raise not_found("Lead")
    if not can_see_lead(caller, lead):
        raise forbidden("You may not see this lead")
    return lead
