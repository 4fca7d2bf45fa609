"""Privacy requests and answers as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from core.models import ApiModel, ApiOut, ApiPatch, DocId, Instant
from core.pagination import PageQuery
from leads.models import PhoneIn

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


# ---- the register of data-principal requests ---------------------------------------------------------------

RequestKind = Literal["access", "correction", "erasure", "portability", "restriction", "grievance"]
RequestStatus = Literal["received", "in-progress", "done", "refused"]
ReceivedVia = Literal["in-app", "email", "phone", "letter", "in-person", "website", "other"]


class RequestSubject(ApiModel):
    """Whom a request is about: a lead or a member of the organization."""

    type: Literal["lead", "member"] = Field(description="lead or member")
    id: DocId = Field(description="The lead's id or the member's uid")


class PrivacyRequestCreate(ApiModel):
    """A data principal's request as an admin records it."""

    kind: RequestKind = Field(description="access, correction, erasure, portability, restriction or grievance")
    subject: RequestSubject = Field(description="Whom it is about")
    received_via: ReceivedVia = Field(description="How it arrived")
    received_at: Instant | None = Field(None, description="When it arrived (default now; the due date runs from it)")
    details: str | None = Field(None, max_length=2000, description="What the person asked, in their words")


class OwnRequestCreate(ApiModel):
    """A member's own request about its own data (recorded in the register as received in the app)."""

    kind: Literal["access", "correction", "erasure", "restriction", "grievance"] = Field(description="What it asks")
    details: str | None = Field(None, max_length=2000, description="What the member asks")


class PrivacyRequestUpdate(ApiPatch):
    """Moving a request: in-progress, done (with what was done) or refused (with the reason); a note alone adds
    a step to its history."""

    status: Literal["in-progress", "done", "refused"] | None = Field(None, description="The new status")
    note: str | None = Field(None, max_length=2000, description="What was done")
    reason: str | None = Field(None, max_length=2000, description="Why it is refused (required to refuse)")


class PrivacyRequestListQuery(PageQuery):
    """`?status=&kind=&subjectId=&overdue=true`."""

    status: RequestStatus | None = Field(None, description="Only requests in this status")
    kind: RequestKind | None = Field(None, description="Only requests of this kind")
    subject_id: DocId | None = Field(None, description="Only requests about this lead or member")
    overdue: bool = Field(False, description="true: open requests past their due date, most overdue first")


class RequestStep(ApiOut):
    """One step of a request's history."""

    status: str = Field(description="The status it moved to")
    at: datetime = Field(description="When")
    by: str | None = Field(None, description="Who (uid)")
    note: str | None = Field(None, description="What was done")


class PrivacyRequest(ApiOut):
    """A request of the register."""

    id: str = Field(description="Request id")
    kind: str = Field(description="access, correction, erasure, portability, restriction or grievance")
    subject_type: str = Field(description="lead or member")
    subject_id: str = Field(description="The lead's id or the member's uid")
    received_via: str = Field(description="How it arrived")
    received_at: datetime = Field(description="When it arrived")
    details: str | None = Field(None, description="What the person asked")
    recorded_by: str | None = Field(None, description="Who recorded it")
    status: str = Field(description="received, in-progress, done or refused")
    due_at: datetime = Field(description="When it must be answered by (the organization's response period)")
    overdue: bool = Field(False, description="Open and past its due date")
    history: list[RequestStep] = Field(description="Every step, oldest first")
    evidence: Record | None = Field(
        None, description="What fulfilled it: export {objectPath, sizeBytes, sha256}, erasure report, restriction"
    )
    refusal_reason: str | None = Field(None, description="Why it was refused")
    closed_at: datetime | None = Field(None, description="When it was done or refused")
    version: int = Field(description="For If-Match")
    created_at: datetime = Field(description="When it was recorded")
    updated_at: datetime = Field(description="Last change")


class ExportLink(ApiOut):
    """A short-lived link to a kept export."""

    download_url: str = Field(description="Signed URL of the JSON export")
    expires_at: datetime = Field(description="When the link stops working")


class PrivacySettingsOut(ApiOut):
    """The organization's privacy settings."""

    response_days: int = Field(description="Days the organization gives itself to answer a request")
    inactive_lead_months: int | None = Field(
        None, description="Leads without activity this long are archived, then erased (null: kept)"
    )
    message_months: int | None = Field(
        None, description="Calls' and messages' content older than this is erased, counts kept (null: kept)"
    )
    version: int = Field(description="For If-Match")


class PrivacySettingsUpdate(ApiPatch):
    """A change of the privacy settings."""

    clearable: ClassVar[frozenset[str]] = frozenset({"inactive_lead_months", "message_months"})

    response_days: int | None = Field(None, ge=1, le=90, description="1-90 days")
    inactive_lead_months: int | None = Field(None, ge=1, le=120, description="1-120 months, or null to keep")
    message_months: int | None = Field(None, ge=1, le=120, description="1-120 months, or null to keep")


class Restriction(ApiOut):
    """A lead's restriction of processing."""

    restricted: bool = Field(description="true while restricted")
    restricted_at: datetime | None = Field(None, description="Since when")
    changed: bool = Field(description="false when it already was so")


class InactiveLead(ApiOut):
    """A lead the next sweep archives."""

    id: str = Field(description="Lead id")
    last_activity_at: datetime | None = Field(None, description="Its last change or history entry")


class RetentionPreview(ApiOut):
    """What the next retention sweep erases (a day's batch of each kind; `truncated` when more is due)."""

    as_of: datetime = Field(description="When the preview was made")
    inactive_lead_months: int | None = Field(None, description="The organization's period for inactive leads")
    message_months: int | None = Field(None, description="The organization's period for calls' and messages' content")
    leads: list[InactiveLead] = Field(description="Leads archived (then erased 30 days later)")
    calls: list[str] = Field(description="Calls whose notes and recording are erased (the call log stays)")
    messages: list[str] = Field(description="Messages whose text, numbers and attachments are erased (counts stay)")
    attachments: list[str] = Field(description="Attachments of those messages, deleted")
    truncated: bool = Field(description="More is due than one sweep takes: the next days continue")


class SelfCorrection(ApiPatch):
    """A member correcting its own data (DPDP right to correction): its name and its phone."""

    clearable: ClassVar[frozenset[str]] = frozenset({"phone"})

    name: str | None = Field(None, min_length=1, max_length=120, description="Full name")
    phone: PhoneIn | None = Field(None, description="The member's own phone; null removes it")
