"""Site visits as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from core.models import ApiModel, ApiOut, ApiPatch, DocId, Instant
from core.pagination import PageQuery

Status = Literal["scheduled", "completed", "cancelled"]


class VisitCreate(ApiModel):
    """A site visit to schedule."""

    lead_id: DocId = Field(min_length=1, max_length=128, description="The lead visiting; the caller must see it")
    project_id: DocId | None = Field(None, max_length=128, description="The project visited (for check-in)")
    scheduled_at: Instant = Field(description="When, RFC 3339 with an offset; must be in the future")
    agent_id: DocId | None = Field(
        None, max_length=128, description="The agent who takes the visit; default the caller (others: admin, manager)"
    )
    notes: str = Field("", max_length=4000, description="Notes for the visit")
    allow_double_booking: bool = Field(
        False, description="true books the agent even when another visit of theirs is within the hour"
    )


class VisitUpdate(ApiPatch):
    """Reschedule (scheduledAt), complete (status, followUpNotes), cancel (status, cancelReason) or annotate;
    projectId null leaves the visit without a project; cancelReason null or empty is no reason."""

    clearable = frozenset({"project_id", "cancel_reason"})

    scheduled_at: Instant | None = Field(None, description="New time: a reschedule, only while scheduled")
    status: Literal["completed", "cancelled"] | None = Field(None, description="completed or cancelled (final)")
    notes: str | None = Field(None, max_length=4000, description="Notes for the visit")
    follow_up_notes: str | None = Field(None, max_length=4000, description="What was agreed at the visit")
    cancel_reason: str | None = Field(
        None, max_length=500, description="Why it is cancelled (with status cancelled): welcome, never required"
    )
    project_id: DocId | None = Field(None, max_length=128, description="Another project, while scheduled")
    allow_double_booking: bool = Field(False, description="true allows a new time that overlaps another visit")


class CheckinCreate(ApiModel):
    """A GPS position at the site."""

    lat: float = Field(ge=-90, le=90, description="Latitude, degrees")
    lng: float = Field(ge=-180, le=180, description="Longitude, degrees")
    accuracy_m: float = Field(ge=0, le=100_000, description="Reported accuracy, metres")


class Checkin(ApiOut):
    """A stored check-in."""

    lat: float = Field(description="Latitude, degrees")
    lng: float = Field(description="Longitude, degrees")
    accuracy_m: float = Field(description="Reported accuracy, metres")
    at: datetime = Field(description="When the server received it")
    distance_m: float = Field(description="Great-circle distance to the project's location, metres")
    within_radius: bool = Field(description="Whether that distance is within the project's check-in radius")


class Visit(ApiOut):
    """A site visit."""

    id: str = Field(description="Visit id")
    lead_id: DocId = Field(description="The lead")
    project_id: DocId | None = Field(None, description="The project")
    agent_id: DocId = Field(description="The agent taking the visit")
    team_id: DocId | None = Field(None, description="The agent's team")
    scheduled_at: datetime = Field(description="When")
    status: Status = Field(description="scheduled, completed or cancelled")
    notes: str = Field("", description="Notes")
    follow_up_notes: str = Field("", description="Follow-up notes after the visit")
    cancel_reason: str | None = Field(None, description="Why it was cancelled")
    checkin: Checkin | None = Field(None, description="The agent's GPS check-in")
    sequence: int = Field(description="Calendar SEQUENCE: grows with each reschedule and the cancellation")
    version: int = Field(description="Version, for If-Match")
    created_at: datetime = Field(description="When scheduled")
    updated_at: datetime = Field(description="Last change")
    completed_at: datetime | None = Field(None, description="When completed")
    cancelled_at: datetime | None = Field(None, description="When cancelled")


class VisitListQuery(PageQuery):
    """Filters of GET /visits (ordered by scheduledAt, earliest first)."""

    from_: Instant | None = Field(None, alias="from", description="Visits at or after this time")
    to: Instant | None = Field(None, description="Visits before this time")
    agent_id: DocId | None = Field(None, description="Only this agent's visits")
    lead_id: DocId | None = Field(None, description="Only this lead's visits")
    status: Status | None = Field(None, description="Only visits in this status")
