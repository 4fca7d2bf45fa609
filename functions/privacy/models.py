"""Privacy requests and answers as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from core.models import ApiModel, ApiOut
from core.pagination import PageQuery

Record = dict[str, Any]


class Consent(ApiOut):
    """What the lead agreed to and where it came from."""

    source: str | None = Field(None, description="Where the lead came from")
    purpose: str | None = Field(None, description="The purpose for which the lead gave its details")
    opt_ins: list[Record] | None = Field(
        None, description="Channels the lead agreed to be messaged on: channel, at, by"
    )
    do_not_contact: list[str] | None = Field(None, description="Channels the lead must not be contacted on")
    channel_partner_id: str | None = Field(None, description="The broker who brought the lead")
    created_at: str | None = Field(None, description="When the lead was recorded")
    created_by: str | None = Field(None, description="Who recorded it")


class Person(ApiOut):
    """A member named in an export; a deleted member is shown as a former member."""

    name: str = Field(description="Current name, or 'Former member'")
    former_member: bool = Field(description="True when the member's account was deleted")


class LeadExport(ApiOut):
    """Everything kept about one lead, as one machine-readable document (current values)."""

    format: str = Field(description="Document format and version: justo-lead-export/1")
    exported_at: str = Field(description="When the export was made")
    org_id: str = Field(description="Organization id")
    lead_id: str = Field(description="Lead id")
    lead: Record = Field(description="The lead's fields as stored now")
    contact: Record | None = Field(description="Raw phones and emails where the organization masks numbers")
    consent: Consent = Field(description="Source, purpose, opt-ins and do-not-contact")
    notes: list[Record] = Field(description="Notes, oldest first")
    activity: list[Record] = Field(description="The lead's history: every change to its fields, calls, messages, ...")
    tasks: list[Record] = Field(description="Tasks about the lead")
    visits: list[Record] = Field(description="Site visits, each with its check-ins")
    calls: list[Record] = Field(description="Call logs")
    messages: list[Record] = Field(description="Emails, SMS and WhatsApp messages with their status history")
    attachments: list[Record] = Field(description="Attachments, each with a short-lived downloadUrl when stored")
    other: dict[str, list[Record]] = Field(description="Any other record tied to the lead, by collection")
    people: dict[str, Person] = Field(description="Members named in the record, by uid")


class AccountExport(ApiOut):
    """Everything kept about the caller."""

    format: str = Field(description="Document format and version: justo-account-export/1")
    exported_at: str = Field(description="When the export was made")
    profile: Record = Field(description="The member profile")
    memberships: list[Record] = Field(description="Organizations, roles and teams")
    devices: list[Record] = Field(description="Registered devices")
    notifications: list[Record] = Field(description="The in-app notification feed")
    login_history: list[Record] = Field(description="Logins, failed codes, lockouts and logouts, newest first")
    policy: Record = Field(description="The accepted privacy policy version and when")


class DeletionRequest(ApiOut):
    """A member's request to delete its account."""

    uid: str = Field(description="The member")
    name: str | None = Field(None, description="The member's name (admin list)")
    role: str | None = Field(None, description="The member's role (admin list)")
    team_id: str | None = Field(None, description="The member's team (admin list)")
    requested_at: datetime = Field(description="When the member asked")
    status: Literal["pending"] = Field(description="pending until an admin completes it")


class PolicyStatus(ApiOut):
    """The current privacy policy and the caller's acceptance."""

    version: str | None = Field(description="Current version, null when none is published")
    url: str | None = Field(description="Where to read it")
    summary: str | None = Field(description="What changed")
    published_at: datetime | None = Field(description="When it was published")
    accepted_version: str | None = Field(description="The version the caller accepted")
    accepted_at: datetime | None = Field(description="When the caller accepted it")
    acceptance_required: bool = Field(description="True when the caller must accept the current version")


class PolicyAccept(ApiModel):
    """Accepting a policy version."""

    version: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="The version being accepted (409 unless it is the current one); absent: the current version",
    )


class DeletionListQuery(PageQuery):
    """`?limit=&cursor=` of the pending deletion requests."""
