"""Organizations, members and emulator ID tokens for tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from devtools.inproc import id_token


@dataclass
class Person:
    """A member as tests use it: its record and a way to get its ID token."""

    uid: str
    org_id: str
    role: str
    team_id: str | None
    email: str

    def token(self, *, iat: int | None = None, **claims: Any) -> str:
        """An emulator ID token for this member (unsigned, as the Auth emulator issues them)."""
        return id_token(self.uid, {"orgId": self.org_id, "role": self.role, "teamId": self.team_id} | claims, iat=iat)


def make_org(
    org_id: str = "org1", *, seats: int = 20, days: int = 30, teams: tuple[str, ...] = ("north", "south")
) -> Person:
    """An organization with its admin and teams; returns the admin."""
    from core import clock, tenancy
    from ops.orgs import create_org

    org = create_org(
        org_id=org_id,
        name=f"{org_id} Realty",
        seats=seats,
        subscription_ends_at=clock.now() + timedelta(days=days),
        admin_email=f"admin@{org_id}.example.com",
        admin_name=f"{org_id} Admin",
        admin_uid=f"{org_id}-admin",
    )
    for team in teams:
        tenancy.org_ref(org_id).collection("teams").document(team).set(
            {"name": team.title(), "managerIds": [], "version": 1, "createdAt": clock.now(), "updatedAt": clock.now()}
        )
    admin = org["admin"]
    return Person(admin["uid"], org_id, "admin", None, admin["email"])


def add_person(org_id: str, role: str, team_id: str | None = None, name: str | None = None) -> Person:
    """Add a member with a predictable uid and email."""
    from core import tenancy
    from members.models import MemberCreate
    from members.service import add_member

    count = len(list(tenancy.org_ref(org_id).collection("members").select([]).stream()))
    uid = f"{org_id}-{role}{count}"
    email = f"{role}{count}@{org_id}.example.com"
    add_member(
        org_id=org_id,
        actor=None,
        uid=uid,
        data=MemberCreate.model_validate(
            {"email": email, "name": name or f"{role.title()} {count}", "role": role, "teamId": team_id}
        ),
    )
    return Person(uid, org_id, role, team_id, email)
