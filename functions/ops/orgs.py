"""Creating an organization with its first admin, seats and subscription."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import audit, clients, clock, tenancy
from core.caller import SYSTEM
from core.errors import ApiError
from core.org_settings import DEFAULTS
from leads import tallies
from members.models import MemberCreate
from members.service import add_member


def create_org(
    *,
    org_id: str,
    name: str,
    seats: int,
    subscription_ends_at: datetime,
    admin_email: str,
    admin_name: str,
    admin_uid: str | None = None,
) -> dict[str, Any]:
    """Create the organization and its first admin; 409 when the id is taken."""
    from google.api_core.exceptions import AlreadyExists

    if seats < 1:
        raise ApiError("INVALID_ARGUMENT", "seats must be at least 1", fields={"seats": "at least 1"})
    now = clock.now()
    org = {
        "name": name,
        "seats": seats,
        "activeMembers": 0,
        "subscriptionEndsAt": subscription_ends_at,
        "active": True,
        "settings": DEFAULTS.as_document(),
        "settingsVersion": 1,
        tallies.SINCE: {"since": now},  # GET /leads/stats counts from its tallies: kept from the first lead
        "createdAt": now,
        "updatedAt": now,
    }
    try:
        tenancy.org_ref(org_id).create(org)
    except AlreadyExists:
        raise ApiError("ALREADY_EXISTS", f"Organization {org_id} exists") from None
    audit.record(org_id, "org.created", actor=SYSTEM.uid, seats=seats)
    admin = add_member(
        org_id=org_id,
        actor=SYSTEM.uid,
        uid=admin_uid,
        data=MemberCreate(email=admin_email, name=admin_name, role="admin", team_id=None),
    )
    return {"id": org_id, **org, "admin": admin}


def set_subscription(*, org_id: str, seats: int | None, subscription_ends_at: datetime | None) -> None:
    """Change an organization's seats or subscription end."""
    changes: dict[str, Any] = {"updatedAt": clock.now()}
    if seats is not None:
        changes["seats"] = seats
    if subscription_ends_at is not None:
        changes["subscriptionEndsAt"] = subscription_ends_at
    clients.db().collection("orgs").document(org_id).update(changes)
    audit.record(org_id, "org.subscription", actor=SYSTEM.uid, seats=seats)
