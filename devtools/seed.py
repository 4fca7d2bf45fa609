"""The local seed of API.md ("Local seed"): organizations, teams and members (and, as features land, their data).

Run against the emulators only: it refuses when FIRESTORE_EMULATOR_HOST is not set.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions"))

# (org id, name, seats, subscription days from now, [(uid, email, name, role, team)], teams)
ORGS: list[dict[str, Any]] = [
    {
        "id": "demo",
        "name": "Demo Realty",
        "seats": 20,
        "days": 365,
        "teams": [("north", "North"), ("south", "South")],
        "members": [
            ("demo-admin", "admin@demo.example.com", "Asha Admin", "admin", None, True),
            ("demo-manager", "manager@demo.example.com", "Manoj Manager", "manager", "north", True),
            ("demo-agent1", "agent1@demo.example.com", "Anil Agent", "agent", "north", True),
            ("demo-agent2", "agent2@demo.example.com", "Bina Agent", "agent", "north", True),
            ("demo-agent3", "agent3@demo.example.com", "Chetan Agent", "agent", "south", True),
            ("demo-rm", "rm@demo.example.com", "Ritu RM", "rm", "north", True),
            ("demo-former", "former@demo.example.com", "Farid Former", "agent", "south", False),
        ],
    },
    {
        "id": "acme",
        "name": "Acme Homes",
        "seats": 10,
        "days": 365,
        "teams": [("main", "Main")],
        "members": [
            ("acme-admin", "admin@acme.example.com", "Arjun Acme", "admin", None, True),
            ("acme-agent1", "agent1@acme.example.com", "Divya Acme", "agent", "main", True),
        ],
    },
    {
        "id": "lapsed",
        "name": "Lapsed Estates",
        "seats": 5,
        "days": -1,
        "teams": [],
        "members": [("lapsed-admin", "admin@lapsed.example.com", "Lata Lapsed", "admin", None, True)],
    },
]

LOGINS = [(email, role, org["id"], active) for org in ORGS for _, email, _, role, _, active in org["members"]]


def seed() -> None:
    """Create the seed data through the same services the API uses."""
    if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        raise SystemExit("seed: refusing to run without FIRESTORE_EMULATOR_HOST (emulators only)")
    from core import clock, tenancy
    from members.models import MemberCreate
    from members.service import add_member
    from ops.orgs import create_org

    now = clock.now()
    for org in ORGS:
        admin_uid, admin_email, admin_name = org["members"][0][:3]
        create_org(
            org_id=org["id"],
            name=org["name"],
            seats=org["seats"],
            subscription_ends_at=now + timedelta(days=org["days"]),
            admin_email=admin_email,
            admin_name=admin_name,
            admin_uid=admin_uid,
        )
        teams = tenancy.org_ref(org["id"]).collection("teams")
        for team_id, team_name in org["teams"]:
            managers = [m[0] for m in org["members"] if m[3] == "manager" and m[4] == team_id]
            teams.document(team_id).set(
                {"name": team_name, "managerIds": managers, "version": 1, "createdAt": now, "updatedAt": now}
            )
        for uid, email, name, role, team, active in org["members"][1:]:
            add_member(
                org_id=org["id"],
                actor=admin_uid,
                uid=uid,
                data=MemberCreate(email=email, name=name, role=role, team_id=team),
            )
            if not active:
                tenancy.member_ref(org["id"], uid).update({"active": False})
                tenancy.org_ref(org["id"]).update({"activeMembers": len([m for m in org["members"] if m[5]])})
        for seeder in feature_seeders():
            seeder(org["id"], {m[0]: m for m in org["members"]})


def feature_seeders() -> list[Any]:
    """Seeders of features (projects, leads, templates) that exist in this tree."""
    found = []
    for module_name in (
        "projects.seed",
        "routing.seed",
        "leads.seed",
        "leads.capture.seed",
        "comms.seed",
        "visits.seed",
    ):
        try:
            module = __import__(module_name, fromlist=["seed"])
        except ModuleNotFoundError:
            continue
        found.append(module.seed)
    return found


if __name__ == "__main__":
    seed()
    print("seed: done")
