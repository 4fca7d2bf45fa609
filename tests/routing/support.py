"""Organizations, members and routed leads for the routing tests."""

from __future__ import annotations

from typing import Any

from core import tenancy
from core.caller import SYSTEM
from leads.models import LeadCreate
from leads.service import create_lead
from routing import config


def set_routing(org_id: str = "org1", **fields: Any) -> None:
    """Store a routing configuration directly (camelCase fields)."""
    config.ref(org_id).set(
        {
            "rules": [],
            "firstContactMinutes": 15,
            "maxReassignments": 2,
            "workingHours": {
                "start": "00:00",
                "end": "24:00",
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            },
            "version": 1,
            **fields,
        }
    )


def routed_lead(number: str, org_id: str = "org1", **fields: Any) -> dict[str, Any]:
    """A lead created by the system (routed), as stored, with its id."""
    data = LeadCreate.model_validate({"name": "Asha Rao", "primaryPhone": {"number": number}, **fields})
    record = create_lead(org_id=org_id, actor=SYSTEM, data=data)
    return stored(record.id, org_id)


def stored(lead_id: str, org_id: str = "org1") -> dict[str, Any]:
    """A lead document as stored, with its id."""
    snapshot = tenancy.org_ref(org_id).collection("leads").document(lead_id).get()
    return {"id": snapshot.id, **(snapshot.to_dict() or {})}


def open_count(uid: str, org_id: str = "org1") -> int:
    """A member's stored open-lead count."""
    snapshot = tenancy.org_ref(org_id).collection("openLeads").document(uid).get()
    return int((snapshot.to_dict() or {}).get("n", 0))
