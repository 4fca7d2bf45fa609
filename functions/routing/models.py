"""Routing configuration and member availability as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from core.models import ApiModel, ApiOut, ApiPatch, DocId, Instant, Label
from routing import hours

MAX_RULES = 50
MAX_MATCH_VALUES = 100
MAX_RULE_MEMBERS = 100
MAX_LEAVES = 50
Method = Literal["round-robin", "weighted", "least-open"]
Status = Literal["available", "away", "off-duty"]
Weight = Annotated[int, Field(ge=1, le=100)]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class RuleMatch(ApiModel):
    """What a lead must have for the rule to apply: every given condition (any of its values) must hold."""

    source_ids: list[DocId] | None = Field(None, max_length=MAX_MATCH_VALUES, description="Capture source ids")
    sources: list[Label] | None = Field(None, max_length=MAX_MATCH_VALUES, description="Lead sources")
    project_ids: list[DocId] | None = Field(None, max_length=MAX_MATCH_VALUES, description="Project ids")
    cities: list[Label] | None = Field(None, max_length=MAX_MATCH_VALUES, description="Cities (any case)")
    configurations: list[Label] | None = Field(
        None, max_length=MAX_MATCH_VALUES, description="Configurations; one in common with the lead's"
    )
    budget_min: int | None = Field(None, ge=0, le=2**53, description="The lead's budget reaches at least this")
    budget_max: int | None = Field(None, ge=0, le=2**53, description="The lead's budget starts at most at this")


class RuleTarget(ApiModel):
    """Whom a rule assigns to: a team's agents, or named members."""

    team_id: DocId | None = Field(None, description="A team")
    member_ids: list[DocId] | None = Field(None, min_length=1, max_length=MAX_RULE_MEMBERS, description="Members")

    @model_validator(mode="after")
    def _one(self) -> RuleTarget:
        if (self.team_id is None) == (self.member_ids is None):
            raise ValueError("give exactly one of teamId and memberIds")
        return self


class Rule(ApiModel):
    """One routing rule."""

    name: Label = Field(description="Unique name, shown in assignmentHistory")
    match: RuleMatch = Field(
        default_factory=lambda: RuleMatch.model_validate({}), description="Conditions; empty matches every lead"
    )
    assign_to: RuleTarget = Field(description="Team or members")
    method: Method = Field("round-robin", description="round-robin, weighted or least-open")
    weights: dict[DocId, Weight] | None = Field(
        None, max_length=MAX_RULE_MEMBERS, description="weighted only: uid -> weight (1-100); others weigh 1"
    )

    @model_validator(mode="after")
    def _weights_only_weighted(self) -> Rule:
        if self.weights is not None and self.method != "weighted":
            raise ValueError("weights are only for method weighted")
        return self


class WorkingHoursIn(ApiModel):
    """The working window in the organization's time zone (SLA clocks run only inside it)."""

    start: str = Field(max_length=5, description="HH:MM local time")
    end: str = Field(max_length=5, description="HH:MM local time, after start; 24:00 is midnight")
    days: list[Day] = Field(min_length=1, max_length=7, description="Working days, mon ... sun")

    @model_validator(mode="after")
    def _window(self) -> WorkingHoursIn:
        hours.WorkingHours.parse(self.start, self.end, self.days)  # ValueError -> 400 naming the model
        return self


class RoutingUpdate(ApiPatch):
    """A partial change of the routing configuration (admin); `rules` replaces the whole list."""

    rules: list[Rule] | None = Field(None, max_length=MAX_RULES, description="Ordered rules; the first match wins")
    first_contact_minutes: int | None = Field(None, ge=0, le=7 * 24 * 60, description="SLA minutes; 0 = off")
    max_reassignments: int | None = Field(None, ge=0, le=20, description="SLA moves before the managers' queue")
    working_hours: WorkingHoursIn | None = Field(None, description="Working window")

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, value: list[Rule] | None) -> list[Rule] | None:
        names = [rule.name for rule in value or []]
        if len(set(names)) != len(names):
            raise ValueError("rule names must be unique")
        return value


class RuleOut(ApiOut):
    """A stored rule."""

    name: str = Field(description="Name")
    match: dict[str, object] = Field(description="Conditions")
    assign_to: dict[str, object] = Field(description="teamId or memberIds")
    method: Method = Field(description="Method")
    weights: dict[str, int] | None = Field(None, description="Weights, for weighted")


class WorkingHoursOut(ApiOut):
    """The working window."""

    start: str = Field(description="HH:MM")
    end: str = Field(description="HH:MM")
    days: list[Day] = Field(description="Working days")


class RoutingConfig(ApiOut):
    """The organization's routing configuration."""

    rules: list[RuleOut] = Field(description="Ordered rules")
    first_contact_minutes: int = Field(description="First-contact SLA in working minutes; 0 = off")
    max_reassignments: int = Field(description="SLA reassignments before the managers' queue")
    working_hours: WorkingHoursOut = Field(description="Working window in the organization's time zone")
    version: int = Field(description="Version, for If-Match")
    updated_at: datetime | None = Field(None, description="Last change")


class AvailabilityBody(ApiModel):
    """A member's state for routing."""

    status: Status = Field(description="available, away or off-duty")
    until: Instant | None = Field(None, description="When the state ends (back to available); omitted: open")


class Availability(ApiOut):
    """A member's routing state."""

    status: Status = Field(description="available, away or off-duty")
    until: datetime | None = Field(None, description="When it ends")
    updated_at: datetime | None = Field(None, description="When set")
    updated_by: str | None = Field(None, description="Who set it")


class Leave(ApiModel):
    """A leave period (routing skips the member from `from` to `to`)."""

    from_: Instant = Field(alias="from", description="Start (RFC 3339 with an offset)")
    to: Instant = Field(description="End, after from")

    @model_validator(mode="after")
    def _order(self) -> Leave:
        if self.to <= self.from_:
            raise ValueError("to must be after from")
        return self


class LeaveOut(ApiOut):
    """A stored leave period."""

    from_: datetime = Field(alias="from", description="Start")
    to: datetime = Field(description="End")
