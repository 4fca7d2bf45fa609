"""Members as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import EmailStr, Field

from core.models import ApiModel, ApiOut, ApiPatch, DocId
from core.pagination import PageQuery
from routing.models import MAX_LEAVES, Availability, Leave, LeaveOut

Role = Literal["admin", "manager", "agent", "rm"]


class MemberCreate(ApiModel):
    """A member to add (admin)."""

    email: EmailStr = Field(description="Work email; the login codes go there")
    name: str = Field(min_length=1, max_length=120, description="Full name")
    role: Role = Field(description="admin, manager, agent or rm")
    team_id: DocId | None = Field(None, description="Team id, or null")


class MemberUpdate(ApiPatch):
    """A partial change of a member (admin); teamId null takes the member out of its team."""

    clearable = frozenset({"team_id", "max_open_leads"})

    name: str | None = Field(None, min_length=1, max_length=120, description="Full name")
    role: Role | None = Field(None, description="New role; ends the member's sessions")
    team_id: DocId | None = Field(None, description="New team; ends the member's sessions")
    active: bool | None = Field(None, description="false deactivates the member and ends its sessions")
    leave: list[Leave] | None = Field(
        None, max_length=MAX_LEAVES, description="Leave periods (replaces the list); routing skips the member then"
    )
    max_open_leads: int | None = Field(
        None, ge=0, le=100_000, description="Cap on open leads for routing; null removes the cap"
    )


class MemberPhone(ApiOut):
    """A member's phone."""

    country_code: str = Field(description="Country calling code, e.g. +91")
    number: str = Field(description="National number as given")
    e164: str = Field(description="E.164 form")


class Member(ApiOut):
    """A member of the organization."""

    uid: str = Field(description="Stable member id, also the Firebase Auth uid")
    email: str = Field(description="Work email")
    name: str = Field(description="Full name")
    role: Role = Field(description="Role")
    team_id: DocId | None = Field(description="Team id")
    active: bool = Field(description="false once deactivated")
    version: int = Field(description="Version, for If-Match")
    created_at: datetime = Field(description="When added")
    updated_at: datetime = Field(description="Last change")
    last_login_at: datetime | None = Field(None, description="Last successful login")
    availability: Availability | None = Field(None, description="Routing state; absent: available")
    leave: list[LeaveOut] = Field(default_factory=list, description="Leave periods")
    max_open_leads: int | None = Field(None, description="Cap on open leads for routing")
    phone: MemberPhone | None = Field(None, description="The member's own phone, as it corrected it")


class OrgSummary(ApiOut):
    """The caller's organization."""

    id: str = Field(description="Organization id")
    name: str = Field(description="Organization name")
    subscription_ends_at: datetime = Field(description="End of the current subscription")


class Me(Member):
    """The caller's own profile with its effective permissions."""

    permissions: list[str] = Field(description="Effective permissions after the organization's overrides")
    org: OrgSummary = Field(description="The caller's organization")


class MemberListQuery(PageQuery):
    """Filters of GET /members."""

    team_id: DocId | None = Field(None, description="Only this team's members")
    role: Role | None = Field(None, description="Only this role")
