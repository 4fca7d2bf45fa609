"""The `reports` HTTPS function: GET /reports/funnel, /sources, /agents, /visits (JSON or CSV)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from firebase_functions import https_fn

from core.deploy import https_options
from core.http import Call, Reply, Router
from reports import figures, service
from reports.models import Agents, Funnel, ReportQuery, Sources, SourcesQuery, Visits

router = Router("reports")


def _answer(query: ReportQuery, name: str, report: dict[str, Any], rows: Iterable[Mapping[str, Any]]) -> Any:
    """The report as JSON, or as CSV (a header row, then its rows) with format=csv."""
    if query.format != "csv":
        return report
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "no-store"}
    lines = figures.csv_lines(name, rows)
    return Reply(None, 200, headers, content_type="text/csv; charset=utf-8", stream=lines)


@router.get("/funnel", query=ReportQuery, response=Funnel)
def funnel(call: Call) -> Any:
    """Per stage of the organization's order: entered, moved on, conversion and median days in stage."""
    query = call.query(ReportQuery)
    report = service.funnel(caller=call.caller, query=query)
    return _answer(query, "funnel", report, report["stages"])


@router.get("/sources", query=SourcesQuery, response=Sources)
def sources(call: Call) -> Any:
    """Per lead source (or capture source): leads, repeat enquiries, contacted, visits, booked, first contact."""
    query = call.query(SourcesQuery)
    report = service.sources(caller=call.caller, query=query, by_source_id=query.by == "sourceId")
    return _answer(query, "sources", report, report["rows"])


@router.get("/agents", query=ReportQuery, response=Agents)
def agents(call: Call) -> Any:
    """Per member: assignments, first contact, SLA, calls, messages, visits and bookings."""
    query = call.query(ReportQuery)
    report = service.agents(caller=call.caller, query=query)
    return _answer(query, "agents", report, report["rows"])


@router.get("/visits", query=ReportQuery, response=Visits)
def visits(call: Call) -> Any:
    """Visits scheduled, completed and cancelled; check-ins within radius; bookings per completed visit."""
    query = call.query(ReportQuery)
    report = service.visits(caller=call.caller, query=query)
    return _answer(query, "visits", report, [report])


@https_fn.on_request(**https_options())
def reports(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `reports`."""
    return router(req)
