"""Organization settings and teams."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from core.models import ApiModel, ApiOut, ApiPatch, DocId, Label, TimeZone
from core.permissions import PERMISSIONS, ROLES

# Names are checked by core.permissions.validate_overrides (each failing one named); here only their size.
RoleName = Annotated[str, StringConstraints(max_length=max(len(r) for r in ROLES) + 10)]
PermissionName = Annotated[str, StringConstraints(max_length=max(len(p) for p in PERMISSIONS) + 10)]
Overrides = dict[RoleName, Annotated[dict[PermissionName, bool], Field(max_length=len(PERMISSIONS))]]
MAX_CHOICES = 100  # stages, sources, configurations
MAX_MANAGERS = 50


def _unique_nonempty(values: list[str]) -> list[str]:
    cleaned = [value.strip() for value in values]
    if any(not value for value in cleaned):
        raise ValueError("entries must not be empty")
    if len(set(cleaned)) != len(cleaned):
        raise ValueError("entries must be unique")
    return cleaned


class OrgSettings(ApiOut):
    """The organization's settings."""

    stages: list[str] = Field(description="Pipeline stages, in order")
    sources: list[str] = Field(description="Lead sources")
    configurations: list[str] = Field(description="Unit configurations, e.g. 2BHK")
    role_permissions: dict[str, dict[str, bool]] = Field(description="Overrides of the default permissions per role")
    phone_masking: bool = Field(description="Agents see masked lead phone numbers")
    call_recording: bool = Field(description="Record VoIP calls")
    time_zone: str = Field(description="IANA time zone, e.g. Asia/Kolkata")
    default_country_code: str = Field(description="Country calling code for phones given without one")
    visit_stage_moves: bool = Field(description="Visits move the lead to site-visit-scheduled / site-visit-done")
    caller_id: str | None = Field(None, description="Caller ID for VoIP calls (E.164)")
    version: int = Field(description="Settings version, for If-Match")


class OrgSettingsUpdate(ApiPatch):
    """A partial change of the settings (admin)."""

    clearable = frozenset({"caller_id"})

    stages: list[Label] | None = Field(None, min_length=1, max_length=MAX_CHOICES, description="Pipeline stages")
    sources: list[Label] | None = Field(None, min_length=1, max_length=MAX_CHOICES, description="Lead sources")
    configurations: list[Label] | None = Field(
        None, min_length=1, max_length=MAX_CHOICES, description="Unit configurations"
    )
    role_permissions: Overrides | None = Field(
        None, max_length=len(ROLES), description="Permission overrides per role: {role: {permission: bool}}"
    )
    phone_masking: bool | None = Field(None, description="Mask lead phone numbers from agents")
    call_recording: bool | None = Field(None, description="Record VoIP calls")
    time_zone: TimeZone | None = Field(None, description="IANA time zone, e.g. Asia/Kolkata")
    default_country_code: str | None = Field(None, max_length=4, pattern=r"^\+[0-9]{1,3}$", description="e.g. +91")
    visit_stage_moves: bool | None = Field(None, description="Visits move the lead's stage")
    caller_id: str | None = Field(
        None, max_length=16, pattern=r"^\+[0-9]{8,15}$", description="Caller ID (E.164); null removes it"
    )

    @field_validator("stages", "sources", "configurations")
    @classmethod
    def _lists(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _unique_nonempty(value)


class TeamCreate(ApiModel):
    """A new team."""

    id: DocId | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]{1,39}$", description="Optional slug id, e.g. north")
    name: str = Field(min_length=1, max_length=80, description="Team name")
    manager_ids: list[DocId] = Field(
        default_factory=list, max_length=MAX_MANAGERS, description="Uids of the team's managers"
    )


class TeamUpdate(ApiPatch):
    """A partial change of a team (neither may be null: a team always has a name and a list of managers)."""

    name: str | None = Field(None, min_length=1, max_length=80, description="Team name")
    manager_ids: list[DocId] | None = Field(None, max_length=MAX_MANAGERS, description="Uids of the team's managers")


class Team(ApiOut):
    """A team of the organization."""

    id: str = Field(description="Team id")
    name: str = Field(description="Team name")
    manager_ids: list[DocId] = Field(description="Uids of its managers")
    version: int = Field(description="Version, for If-Match")
    created_at: datetime = Field(description="When it was created")
    updated_at: datetime = Field(description="Last change")
