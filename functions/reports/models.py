"""The reports as the API takes and shows them (API.md, "Reports"; definitions in docs/reports.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from core.models import ApiModel, ApiOut, DocId

MAX_DAYS = 366
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)  # no period arithmetic leaves the calendar


class ReportQuery(ApiModel):
    """The period (dates in the organization's time zone, inclusive) and the filters every report takes."""

    from_: date | None = Field(
        None, alias="from", ge=EARLIEST, le=LATEST, description="First day, YYYY-MM-DD (default: 6 days before to)"
    )
    to: date | None = Field(
        None, ge=EARLIEST, le=LATEST, description="Last day, YYYY-MM-DD (default: today); at most 366 days in all"
    )
    team_id: DocId | None = Field(None, description="Only this team's figures")
    assignee_id: DocId | None = Field(None, description="Only this member's figures")
    project_id: DocId | None = Field(None, description="Only this project's figures")
    source_id: DocId | None = Field(None, description="Only this capture source's figures")
    format: Literal["json", "csv"] = Field("json", description="csv: text/csv with a header row")


class SourcesQuery(ReportQuery):
    """GET /reports/sources: one row per lead source, or per capture source."""

    by: Literal["source", "sourceId"] = Field("source", description="source (default) or sourceId")


class Period(ApiOut):
    """When a report was computed and which days it covers."""

    as_of: datetime = Field(description="When the figures were read")
    from_: date = Field(alias="from", description="First day (organization time zone)")
    to: date = Field(description="Last day (inclusive)")


class FunnelStage(ApiOut):
    """One stage of the organization's order."""

    stage: str = Field(description="The stage")
    entered: int = Field(description="Leads that entered it in the period")
    converted_to_next: int = Field(description="Of those, the leads whose next stage was a later one")
    conversion_pct: float | None = Field(description="convertedToNext / entered x 100 (null: none entered)")
    median_days_in_stage: float | None = Field(
        description="Median days in the stage of those that left it (to one bucket, 25 %); null: none left"
    )


class Funnel(Period):
    """GET /reports/funnel."""

    stages: list[FunnelStage] = Field(description="In the organization's stage order")


class SourceRow(ApiOut):
    """One lead source (or capture source)."""

    source: str | None = Field(description="The lead source")
    source_id: str | None = Field(None, description="The capture source (with by=sourceId)")
    leads: int = Field(description="Leads created in the period")
    enquired_again: int = Field(description="Repeat enquiries received in the period")
    contacted: int = Field(description="Of the leads created in the period, those contacted (first contact)")
    visits_completed: int = Field(description="Site visits of its leads completed in the period")
    booked: int = Field(description="Of the leads created in the period, those that reached booked")
    conversion_pct: float | None = Field(description="booked / leads x 100 (null: no leads)")
    median_first_contact_seconds: int | None = Field(
        description="Median seconds to first contact of the leads created in the period (to one bucket, 25 %)"
    )


class Sources(Period):
    """GET /reports/sources."""

    rows: list[SourceRow] = Field(description="Sources with any figure, most leads first")


class AgentRow(ApiOut):
    """One member's figures."""

    uid: str = Field(description="The member")
    name: str = Field(description="The member's name")
    leads_assigned: int = Field(description="Assignments to it in the period")
    median_first_contact_seconds: int | None = Field(
        description="Median seconds to first contact of its leads created in the period (to one bucket, 25 %)"
    )
    sla_met_pct: float | None = Field(description="Of its assignments, those not taken away by the first-response SLA")
    calls: int = Field(description="Calls it made or took that started in the period")
    talk_time_sec: int = Field(description="Their total duration")
    connected_pct: float | None = Field(description="Calls with outcome connected / calls x 100")
    messages_sent: int = Field(description="Messages it sent that the provider took")
    visits_scheduled: int = Field(description="Its visits booked in the period")
    visits_completed: int = Field(description="Its visits completed in the period")
    visits_cancelled: int = Field(description="Its visits cancelled in the period")
    bookings: int = Field(description="Its leads that entered booked in the period")


class Agents(Period):
    """GET /reports/agents."""

    rows: list[AgentRow] = Field(description="Members with any figure, by name")


class Visits(Period):
    """GET /reports/visits."""

    scheduled: int = Field(description="Visits booked in the period")
    completed: int = Field(description="Visits completed in the period")
    cancelled: int = Field(description="Visits cancelled in the period")
    checkins_within_radius_pct: float | None = Field(description="Check-ins in the period within the project radius")
    visit_to_booking_pct: float | None = Field(description="Leads that entered booked / visits completed x 100")
