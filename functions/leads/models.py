"""Leads, notes, activity and the bulk operations as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import EmailStr, Field, RootModel

from core.models import ApiModel, ApiOut, ApiPatch, DocId, Instant, Label, Money
from core.pagination import PageQuery

Channel = Literal["call", "sms", "whatsapp", "email"]
OptInChannel = Literal["whatsapp", "sms", "email"]


class PhoneIn(ApiModel):
    """A phone as the app sends it."""

    country_code: str | None = Field(
        None, max_length=4, pattern=r"^\+[0-9]{1,3}$", description="e.g. +91; the organization's default when absent"
    )
    number: str = Field(min_length=4, max_length=30, description="The number as typed, e.g. 98765 43210")


class Location(ApiModel):
    """Where the buyer lives or wants to buy."""

    city: str | None = Field(None, max_length=80, description="City")
    locality: str | None = Field(None, max_length=120, description="Locality or neighbourhood")
    address: str | None = Field(None, max_length=300, description="Street address")


class Budget(ApiModel):
    """The buyer's budget range."""

    min: Money | None = Field(None, description="Lower bound, in whole currency units")
    max: Money | None = Field(None, description="Upper bound, at least min")
    currency: str = Field("INR", max_length=3, pattern=r"^[A-Z]{3}$", description="ISO 4217 code")


class LeadFields(ApiModel):
    """Fields a lead is created or updated with."""

    salutation: str | None = Field(None, max_length=20, description="Mr, Ms, Dr, ...")
    alternate_phone: PhoneIn | None = Field(None, description="A second phone number")
    emails: list[EmailStr] = Field(default_factory=list, max_length=5, description="Email addresses")
    location: Location | None = Field(None, description="City, locality, address")
    budget: Budget | None = Field(None, description="Budget range")
    configurations: list[Label] = Field(
        default_factory=list,
        max_length=20,
        description="Unit configurations, e.g. 2BHK, from the organization's settings",
    )
    source: str | None = Field(
        None, max_length=60, description="Where the lead came from, one of the organization's sources"
    )
    stage: str | None = Field(
        None, max_length=60, description="Pipeline stage, one of the organization's stages; the first stage when absent"
    )
    project_id: DocId | None = Field(None, max_length=100, description="The project the buyer is interested in")
    tags: list[Label] = Field(default_factory=list, max_length=20, description="Free tags")
    do_not_contact: list[Channel] = Field(
        default_factory=list, max_length=4, description="Channels the buyer must not be contacted on"
    )
    opt_ins: list[OptInChannel] = Field(
        default_factory=list,
        max_length=3,
        description="Channels the buyer agreed to be messaged on; the server records when and by whom",
    )
    purpose: str | None = Field(None, max_length=500, description="Why the buyer gave these details (privacy law)")
    next_follow_up_at: Instant | None = Field(None, description="The next follow-up the agent promised")
    channel_partner_id: DocId | None = Field(None, max_length=100, description="The broker who brought the lead")


class LeadCreate(LeadFields):
    """A new lead: only name and primaryPhone are required."""

    name: str = Field(min_length=1, max_length=120, description="Buyer's full name")
    primary_phone: PhoneIn = Field(description="Main phone; stored normalized to E.164")
    assignee_id: DocId | None = Field(
        None,
        description="Assignee; an agent's own lead is always its own, admins' and managers' go round-robin when absent",
    )


class CapturedLeadCreate(LeadCreate):
    """A lead from lead capture: an email reaches the buyer too, so the phone may be absent (never a route's body:
    `POST /leads` keeps requiring primaryPhone)."""

    # Widening the field is the point of this model; LeadCreate stays as the API documents it.
    primary_phone: PhoneIn | None = Field(  # type: ignore[assignment]
        None, description="Main phone; stored normalized to E.164 (absent: the lead is reached by email)"
    )


class LeadUpdate(LeadFields, ApiPatch):
    """A partial change of a lead (assignee changes go through /assign); null clears an optional field."""

    clearable = frozenset(
        {
            "salutation",
            "alternate_phone",
            "location",
            "budget",
            "source",
            "project_id",
            "purpose",
            "next_follow_up_at",
            "channel_partner_id",
        }
    )

    name: str | None = Field(None, min_length=1, max_length=120, description="Buyer's full name")
    primary_phone: PhoneIn | None = Field(None, description="Main phone")
    emails: list[EmailStr] | None = Field(None, max_length=5, description="Email addresses (replaces the list)")  # type: ignore[assignment]
    configurations: list[Label] | None = Field(None, max_length=20, description="Unit configurations")  # type: ignore[assignment]
    tags: list[Label] | None = Field(None, max_length=20, description="Free tags (replaces the list)")  # type: ignore[assignment]
    do_not_contact: list[Channel] | None = Field(None, max_length=4, description="Channels not to contact on")  # type: ignore[assignment]
    opt_ins: list[OptInChannel] | None = Field(None, max_length=3, description="Channels opted in (replaces the list)")  # type: ignore[assignment]


class Phone(ApiOut):
    """A stored phone."""

    country_code: str = Field(description="Country calling code, e.g. +91")
    number: str = Field(description="National number; masked (98XXXXXX10) where the caller may not see it")
    e164: str | None = Field(None, description="E.164 form; null where masked")
    masked: str | None = Field(None, description="The masked form, +91 98XXXXXX10")


class OptIn(ApiOut):
    """A channel the buyer agreed to be messaged on."""

    channel: str = Field(description="whatsapp, sms or email")
    at: datetime = Field(description="When it was recorded")
    by: str | None = Field(None, description="Who recorded it (uid), null for the system")


class LocationOut(ApiOut):
    """Where the buyer lives or wants to buy."""

    city: str | None = Field(None, description="City")
    locality: str | None = Field(None, description="Locality")
    address: str | None = Field(None, description="Street address")


class BudgetOut(ApiOut):
    """Budget range."""

    min: int | None = Field(None, description="Lower bound")
    max: int | None = Field(None, description="Upper bound")
    currency: str = Field("INR", description="ISO 4217 code")


class Campaign(ApiOut):
    """The ad campaign a captured lead came from."""

    id: str | None = Field(None, description="Campaign id at the provider")
    name: str | None = Field(None, description="Campaign name")
    ad_id: str | None = Field(None, description="Ad (or ad group) id")
    form_id: str | None = Field(None, description="Lead form id")


class Enquiry(ApiOut):
    """A repeat enquiry captured for an existing lead."""

    capture_id: str = Field(description="The capture that brought it")
    source_id: str | None = Field(None, description="The capture source")
    source: str | None = Field(None, description="The lead source it stamps")
    campaign: Campaign | None = Field(None, description="The campaign, where the provider names one")
    at: datetime = Field(description="When it was received")


class AssignmentEntry(ApiOut):
    """One assignment of a lead, oldest first in `assignmentHistory`."""

    assignee_id: DocId | None = Field(None, description="Who got it; null when it went to a queue")
    at: datetime = Field(description="When")
    reason: Literal["rule", "round-robin", "manual", "sla", "queue"] = Field(
        description="rule (a routing rule), round-robin (the default rotation), manual (assign, bulk-assign, "
        "an agent's own lead), sla (the first-response deadline passed), queue (nobody was eligible: queued, "
        "or taken from the queue)"
    )
    rule: str | None = Field(None, description="The routing rule's name, for reason rule")
    by: str | None = Field(None, description="The member who assigned it by hand")


class Lead(ApiOut):
    """A lead as stored."""

    id: str = Field(description="Lead id")
    salutation: str | None = Field(None, description="Mr, Ms, ...")
    name: str = Field(description="Full name")
    primary_phone: Phone | None = Field(None, description="Main phone (none on a lead captured with an email only)")
    alternate_phone: Phone | None = Field(None, description="Second phone")
    emails: list[str] = Field(default_factory=list, description="Email addresses")
    location: LocationOut | None = Field(None, description="Location")
    budget: BudgetOut | None = Field(None, description="Budget")
    configurations: list[str] = Field(default_factory=list, description="Configurations")
    source: str | None = Field(None, description="Source")
    stage: str = Field(description="Stage")
    project_id: DocId | None = Field(None, description="Project")
    assignee_id: DocId | None = Field(None, description="Assigned member")
    team_id: DocId | None = Field(None, description="The assignee's team")
    tags: list[str] = Field(default_factory=list, description="Tags")
    do_not_contact: list[str] = Field(default_factory=list, description="Channels not to contact on")
    opt_ins: list[OptIn] = Field(default_factory=list, description="Opt-ins with when and by whom")
    purpose: str | None = Field(None, description="Why the details were given")
    next_follow_up_at: datetime | None = Field(None, description="Next promised follow-up")
    channel_partner_id: str | None = Field(None, description="Broker who brought the lead")
    source_id: str | None = Field(None, description="The capture source that created it (lead capture)")
    campaign: Campaign | None = Field(None, description="The campaign that brought it, where known")
    first_source: str | None = Field(None, description="The source of its first enquiry")
    enquiries: list[Enquiry] = Field(default_factory=list, description="Repeat enquiries captured since, oldest first")
    last_enquired_at: datetime | None = Field(None, description="When the last repeat enquiry arrived")
    assignment_history: list[AssignmentEntry] = Field(default_factory=list, description="Assignments, oldest first")
    assigned_at: datetime | None = Field(None, description="When the current assignee got it")
    queue: Literal["team", "managers"] | None = Field(
        None, description="Waiting unassigned: in its team's queue (nobody eligible) or the managers' (SLA exhausted)"
    )
    queued_at: datetime | None = Field(None, description="When it entered the queue")
    first_contact_at: datetime | None = Field(None, description="The assignee's first call, message or stage move")
    first_contact_seconds: int | None = Field(None, description="Seconds from assignment to first contact")
    sla_due_at: datetime | None = Field(None, description="When it is re-routed unless contacted (working time)")
    sla_reassignments: int = Field(0, description="Times the first-response SLA re-routed it")
    restricted: bool = Field(
        False, description="true while the buyer restricts processing: kept, not contacted, not exported"
    )
    restricted_at: datetime | None = Field(None, description="When processing was restricted")
    archived: bool = Field(False, description="true once deleted (restorable by an admin for 30 days)")
    archived_at: datetime | None = Field(None, description="When it was archived")
    created_at: datetime = Field(description="When created")
    created_by: str | None = Field(None, description="Creator uid; null for system-created leads")
    updated_at: datetime = Field(description="Last change")
    updated_by: str | None = Field(None, description="Last editor uid")
    version: int = Field(description="Version, for If-Match")


class LeadListQuery(PageQuery):
    """Filters of GET /leads."""

    stage: Label | None = Field(None, description="Only this stage")
    source: Label | None = Field(None, description="Only this source")
    assignee_id: DocId | None = Field(None, description="Only this assignee's")
    project_id: DocId | None = Field(None, description="Only this project's")
    archived: bool = Field(False, description="true: the archived leads instead (admin; restorable for 30 days)")
    q: str | None = Field(
        None,
        min_length=1,
        max_length=40,
        description="Name prefix (any word) or phone digits: a prefix (3+ digits), or the whole number where the "
        "organization masks numbers",
    )


class AssignBody(ApiModel):
    """A reassignment."""

    assignee_id: DocId = Field(min_length=1, description="The new assignee's uid")


class BulkAssignBody(ApiModel):
    """Many leads to one assignee: all of one member's, or a list."""

    from_assignee_id: DocId | None = Field(None, description="Move every lead of this member")
    lead_ids: list[DocId] | None = Field(None, min_length=1, max_length=500, description="Or move these leads")
    to_assignee_id: DocId = Field(min_length=1, description="The new assignee")


class BulkAssignResult(ApiOut):
    """What a bulk reassignment did."""

    moved: int = Field(description="Leads moved")


class MergeBody(ApiModel):
    """The duplicate to fold into the lead."""

    duplicate_id: DocId = Field(min_length=1, description="The duplicate lead's id; it disappears into this one")


class NoteCreate(ApiModel):
    """A free-text note."""

    text: str = Field(min_length=1, max_length=5000, description="The note")


class Note(ApiOut):
    """A note on a lead."""

    id: str = Field(description="Note id")
    lead_id: DocId = Field(description="The lead")
    text: str = Field(description="The note")
    author_id: str | None = Field(None, description="Author uid; null for the system (a captured message)")
    created_at: datetime = Field(description="When written")


class Activity(ApiOut):
    """One entry of a lead's automatic history."""

    id: str = Field(description="Entry id")
    type: str = Field(
        description="created, updated, stage_changed, assigned, archived, restored, merged, note_added, "
        "task_created, task_completed, sla-missed (the first-response deadline passed uncontacted; an `assigned` "
        "follows), and those of calls, messages and visits"
    )
    actor_id: str | None = Field(None, description="Who did it; null for the system")
    at: datetime = Field(description="When")
    summary: str = Field(description="One line for people")
    changes: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="field -> {before, after} (phones masked)"
    )
    ref: dict[str, str] = Field(default_factory=dict, description="Related record, e.g. {kind: note, id}")


class Stats(ApiOut):
    """Counts over the caller's visible leads."""

    total: int = Field(description="Visible, unarchived leads")
    by_stage: dict[str, int] = Field(description="stage -> count")
    by_source: dict[str, int] = Field(description="source -> count")
    aggregation_queries: int = Field(
        description="Count queries this answer ran (each billed one read per 1,000 entries counted, at least one);"
        " 0 when it read the counts kept as leads change (admins, managers and agents; an RM's view is counted)"
    )


class ImportRowError(ApiOut):
    """A row that was not imported."""

    row: int = Field(description="Row number as a spreadsheet shows it (header = 1)")
    field: str = Field(description="The failing field or column")
    message: str = Field(description="Why")


class ImportDuplicate(ApiOut):
    """A row skipped as a duplicate."""

    row: int = Field(description="Row number (header = 1)")
    duplicate_of: str = Field(description="The existing (or earlier-row) lead's id")


class ImportResult(ApiOut):
    """The outcome of an import."""

    created: int = Field(description="Leads created")
    duplicates: list[ImportDuplicate] = Field(description="Rows skipped as duplicates")
    errors: list[ImportRowError] = Field(description="Rows refused, with the field")


class CsvFile(RootModel[str]):
    """A CSV file, UTF-8, header row first: Name and Phone (or Mobile, Phone Number, Customer Name, ...) required;
    Email, Alternate Phone, City, Locality, Address, Budget Min, Budget Max, Configuration, Source, Stage,
    Project Id, Assignee Id, Tags, Purpose, Channel Partner optional."""

    root: str = Field(description="The CSV text")
