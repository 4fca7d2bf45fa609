"""Capture sources and captures as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from core.models import ApiModel, ApiOut, ApiPatch, DocId, Label
from core.pagination import PageQuery

Kind = Literal["meta", "google", "99acres", "magicbricks", "housing", "website", "missedcall", "generic"]
Outcome = Literal["created", "enquired-again", "rejected", "pending"]


def _storable_name(value: str) -> str:
    """A payload field name Firestore can keep as a map key: not `__x__`, no control characters."""
    if value.startswith("__") and value.endswith("__"):
        raise ValueError("names of the form __x__ are reserved")
    if any(ord(ch) < 32 for ch in value):
        raise ValueError("no control characters")
    return value


PayloadField = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_storable_name)]
LeadTarget = Annotated[str, Field(min_length=1, max_length=40)]
FieldMap = dict[PayloadField, LeadTarget]


class SourceConfig(ApiModel):
    """Kind-specific settings: pageId and formIds for meta, username and password for the 99acres pull,
    the number for missedcall."""

    page_id: DocId | None = Field(None, max_length=64, pattern=r"^[0-9A-Za-z_-]+$", description="Meta: the page id")
    form_ids: list[DocId] = Field(default_factory=list, max_length=50, description="Meta: only these lead forms")
    username: str | None = Field(None, max_length=120, description="99acres: the pull interface's user name")
    password: str | None = Field(
        None, max_length=200, description="99acres: the pull interface's password (write-only)"
    )
    number: str | None = Field(None, max_length=30, description="missedcall: the number buyers call")
    page_access_token: str | None = Field(
        None, min_length=1, max_length=1000, description="Meta: the page access token leads are read with (write-only)"
    )


class CaptureSourceCreate(ApiModel):
    """A new capture source."""

    kind: Kind = Field(description="Where its payloads come from")
    name: str = Field(min_length=1, max_length=120, description="Shown to the organization's admins")
    source: Label = Field(description="The lead `source` it stamps, one of the organization's sources")
    project_id: DocId | None = Field(None, description="The project its leads are about")
    field_map: FieldMap | None = Field(
        None,
        max_length=50,
        description="payload field (dotted for nested) -> lead field (name, firstName, lastName, primaryPhone, "
        "alternatePhone, countryCode, email, location.city, location.locality, location.address, budget.min, "
        "budget.max, configurations, note, providerId, campaign.id, campaign.name, campaign.adId, campaign.formId); "
        "the kind's defaults when absent",
    )
    active: bool = Field(True, description="false: its payloads are refused (409) until switched on")
    config: SourceConfig | None = Field(None, description="Kind-specific settings")


class CaptureSourceUpdate(ApiPatch):
    """A partial change of a capture source (its key changes only through rotate-key)."""

    clearable = frozenset({"project_id", "field_map"})

    name: str | None = Field(None, min_length=1, max_length=120, description="Name")
    source: Label | None = Field(None, description="The lead source it stamps")
    project_id: DocId | None = Field(None, description="Project; null clears")
    field_map: FieldMap | None = Field(None, max_length=50, description="Field map; null: the kind's defaults")
    active: bool | None = Field(None, description="Switch it on or off")
    config: SourceConfig | None = Field(None, description="Kind-specific settings (replaces them)")


class SourceConfigOut(ApiOut):
    """Kind-specific settings as shown (the password never)."""

    page_id: str | None = Field(None, description="Meta page id")
    form_ids: list[str] = Field(default_factory=list, description="Meta lead forms")
    username: str | None = Field(None, description="99acres user name")
    password_set: bool = Field(False, description="true when a 99acres password is stored")
    page_access_token_set: bool = Field(False, description="true when a Meta page access token is stored")
    number: str | None = Field(None, description="The missed-call number")


class PullStatus(ApiOut):
    """A pulled source's last pull (99acres)."""

    cursor: datetime | None = Field(None, description="Enquiries up to this time are pulled")
    last_pulled_at: datetime | None = Field(None, description="When the last successful pull ran")
    last_error: str | None = Field(None, description="Why the last pull failed (the next one pulls the same window)")
    last_error_at: datetime | None = Field(None, description="When the last pull failed")


class CaptureSource(ApiOut):
    """A capture source as stored (its key only as its last 4 characters)."""

    id: str = Field(description="Source id, part of its endpoint URL")
    kind: str = Field(description="meta, google, 99acres, magicbricks, housing, website, missedcall or generic")
    name: str = Field(description="Name")
    source: str = Field(description="The lead source it stamps")
    project_id: str | None = Field(None, description="Project")
    field_map: dict[str, str] | None = Field(None, description="The field map set; null: the kind's defaults")
    field_map_in_force: dict[str, str] = Field(
        default_factory=dict, description="The field map payloads are read with (the kind's defaults when none is set)"
    )
    active: bool = Field(description="Whether payloads are accepted")
    config: SourceConfigOut | None = Field(None, description="Kind-specific settings")
    key_last4: str | None = Field(None, description="The last 4 characters of its key")
    endpoint_url: str | None = Field(None, description="Where the provider posts (none for meta and 99acres)")
    pull: PullStatus | None = Field(None, description="99acres: the state of its scheduled pull")
    created_at: datetime = Field(description="When created")
    updated_at: datetime = Field(description="Last change")
    version: int = Field(description="Version, for If-Match")


class CaptureSourceCreated(CaptureSource):
    """A new source or a rotated key: the key itself, shown this once."""

    key: str = Field(description="The secret key (X-Justo-Key, ?key= or Google's google_key); never shown again")


class CaptureListQuery(PageQuery):
    """Filters of GET /leads/captures."""

    source_id: DocId | None = Field(None, description="Only this source's")
    outcome: Outcome | None = Field(None, description="Only this outcome")


class Capture(ApiOut):
    """One payload received, and what became of it."""

    id: str = Field(description="Capture id (derived from the source and the provider's lead id or the body)")
    source_id: str = Field(description="The capture source")
    source: str | None = Field(None, description="The lead source it stamps")
    received_at: datetime = Field(description="When it first arrived")
    outcome: Outcome = Field(description="created, enquired-again, rejected or pending")
    reason: str | None = Field(None, description="Why it was rejected")
    lead_id: str | None = Field(None, description="The lead created or enquired on")
    team_id: str | None = Field(None, description="The lead's team once routed (managers list their team's)")
    fields: dict[str, Any] = Field(default_factory=dict, description="The payload after mapping")
    raw: Any = Field(
        None, description="The payload as received (phone numbers masked for managers where the org masks)"
    )
    attempts: int = Field(1, description="Times it was processed (deliveries and retries)")


class CaptureOutcome(ApiOut):
    """What a provider's delivery became."""

    capture_id: str = Field(description="The capture")
    outcome: Outcome = Field(description="created, enquired-again, rejected or pending")
    lead_id: str | None = Field(None, description="The lead, when created or enquired on")
