"""Local seed: two upcoming site visits per organization (tomorrow and the day after), booked through the
service as the admin, so the invitations, reminders and stage moves are those the API makes."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from core import clock, tenancy
from core.org_settings import OrgSettings
from leads import store
from leads.store import LeadRecord
from visits.models import VisitCreate
from visits.service import create_visit

SLOTS = ((1, time(11, 0)), (2, time(16, 30)))  # (days from today, local time)


def seed(org_id: str, members: dict[str, Any]) -> None:
    """Book a visit for each of the first two assigned leads of an organization with a current subscription."""
    from leads.seed import member_caller

    org = tenancy.load_org(org_id, fresh=True) or {}
    admin = next((uid for uid, member in members.items() if member[3] == "admin"), None)
    if admin is None or not tenancy.subscription_current(org, clock.now()):
        return
    caller = member_caller(org_id, admin)
    zone = OrgSettings.of(org).zone
    today = clock.now().astimezone(zone).date()
    first = store.collection(org_id).order_by("createdAt").limit(10).stream()
    leads = [LeadRecord.from_document(s.id, s.to_dict() or {}) for s in first]
    assigned = [lead for lead in leads if lead.assignee_id and not lead.archived][: len(SLOTS)]
    for lead, (days, local) in zip(assigned, SLOTS, strict=False):
        when = datetime.combine(today + timedelta(days=days), local, tzinfo=zone)
        project: str | None = lead.project_id or f"{org_id}-skyline"
        if not tenancy.org_ref(org_id).collection("projects").document(str(project)).get().exists:
            project = None
        data = VisitCreate.model_validate(
            {
                "leadId": lead.id,
                "projectId": project,
                "scheduledAt": when.isoformat(),
                "agentId": lead.assignee_id,
                "notes": "Seeded demo visit",
                "allowDoubleBooking": True,
            }
        )
        create_visit(caller=caller, data=data)
