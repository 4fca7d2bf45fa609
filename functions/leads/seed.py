"""Local seed: a few leads per organization assigned to its seeded agents (emulator only; devtools.seed calls it)."""

from __future__ import annotations

from typing import Any

from core import tenancy
from core.caller import Caller, caller_of
from leads.models import LeadCreate
from leads.service import create_lead

# (name, phone, stage, source, configuration, project slug or None)
LEADS = [
    ("Rahul Verma", "98450 11001", "new", "99acres", "2BHK", "skyline"),
    ("Sneha Iyer", "98450 11002", "contacted", "website", "3BHK", "skyline"),
    ("Imran Sheikh", "98450 11003", "site-visit-scheduled", "referral", "2BHK", "greenwoods"),
    ("Kavya Nair", "98450 11004", "booked", "magicbricks", "villa", "greenwoods"),
    ("Arjun Mehta", "98450 11005", "qualified", "facebook", "3BHK", None),
]
# Each organization's numbers differ in one digit so the seeds of two organizations never collide in tests.
ORG_DIGIT = {"demo": "1", "acme": "2", "lapsed": "3"}


def member_caller(org_id: str, uid: str) -> Caller:
    """A Caller for a stored member (seeds and the admin CLI act as that member)."""
    member = tenancy.load_member(org_id, uid, fresh=True) or {}
    org = tenancy.load_org(org_id, fresh=True) or {}
    return caller_of(org_id, uid, member, org)


def seed(org_id: str, members: dict[str, Any]) -> None:
    """Create the organization's leads, each assigned in turn to an active agent (the admin where none)."""
    admin = next(uid for uid, member in members.items() if member[3] == "admin")
    agents = [uid for uid, member in members.items() if member[3] in {"agent", "rm"} and member[5]]
    actor = member_caller(org_id, admin)
    digit = ORG_DIGIT.get(org_id, "9")
    booked_owner = next((uid for uid, member in members.items() if member[3] == "agent" and member[4] == "north"), None)
    for index, (name, phone, stage, source, configuration, project) in enumerate(LEADS):
        assignee = (booked_owner if stage == "booked" and booked_owner else None) or (
            agents[index % len(agents)] if agents else admin
        )
        data = LeadCreate.model_validate(
            {
                "name": name,
                "primaryPhone": {"number": phone[:-2] + digit + phone[-1]},
                "emails": [f"{name.split()[0].lower()}.{org_id}@example.com"],
                "stage": stage,
                "source": source,
                "configurations": [configuration],
                "projectId": f"{org_id}-{project}" if project else None,
                "assigneeId": assignee,
                "budget": {"min": 6_000_000, "max": 9_000_000},
                "location": {"city": "Bengaluru"},
                "purpose": "Enquiry about a home purchase",
                "optIns": ["whatsapp"],
            }
        )
        create_lead(org_id=org_id, actor=actor, data=data)
