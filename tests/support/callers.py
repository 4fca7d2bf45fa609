"""Callers built without a token or a database, for unit tests of the rules that take one."""

from __future__ import annotations

from typing import Any

from core import permissions
from core.caller import Caller


def make_caller(
    role: str = "agent",
    *,
    uid: str | None = None,
    team_id: str | None = "north",
    org_id: str = "org1",
    settings: dict[str, Any] | None = None,
) -> Caller:
    """A caller of role in org_id with the role's default permissions and the given organization settings."""
    who = uid or f"{role}-1"
    return Caller(
        uid=who,
        org_id=org_id,
        role=role,
        team_id=team_id,
        name=who.title(),
        email=f"{who}@{org_id}.example.com",
        permissions=permissions.effective(role, None),
        org={"settings": dict(settings or {})},
    )
