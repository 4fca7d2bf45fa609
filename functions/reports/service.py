"""The reports' rules: the period, the caller's scope and filters, then figures from the counters.

Cost of one report: the caller's organization (cached), one read per filter naming a team, member, project or
capture source (to tell another organization's id, 404, from one outside the caller's scope, 403), the
members list for the agents report, and one query over the period's counter documents (one read per day the
nightly check folded, at most counters.SHARDS for the days since). None of it grows with the number of leads.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from core import clock, tenancy
from core.caller import Caller
from core.errors import forbidden, invalid, not_found
from reports import counters, figures
from reports.figures import Scope
from reports.models import MAX_DAYS, ReportQuery


def period(query: ReportQuery, today: date) -> tuple[date, date]:
    """The inclusive days asked for (default: the 7 days to today); 400 naming the field when not a period."""
    last = query.to or today
    first = query.from_ or (last - timedelta(days=6))
    if first > last:
        raise invalid("from", "must not be after to")
    if (last - first).days + 1 > MAX_DAYS:
        raise invalid("to", f"at most {MAX_DAYS} days after from")
    return first, last


def _exists(org_id: str, collection: str, doc_id: str) -> dict[str, Any]:
    snapshot = tenancy.org_ref(org_id).collection(collection).document(doc_id).get()
    if not snapshot.exists:
        raise not_found({"teams": "Team", "members": "Member", "projects": "Project"}.get(collection, "Source"))
    return snapshot.to_dict() or {}


def scope(caller: Caller, query: ReportQuery) -> Scope:
    """The cells this caller may see narrowed by the filters: 404 for an id the organization does not have,
    403 for a team or member outside the caller's own scope (admin: all; manager: its team; agent, rm: itself)."""
    org_id = caller.org_id
    team, member = query.team_id, query.assignee_id
    if team is not None:
        _exists(org_id, "teams", team)
        if caller.role != "admin" and team != caller.team_id:
            raise forbidden("Reports of another team are not yours to see")
    if member is not None:
        found = _exists(org_id, "members", member)
        if caller.role == "manager" and (caller.team_id is None or found.get("teamId") != caller.team_id):
            raise forbidden("Reports of a member outside your team are not yours to see")
        if caller.role not in {"admin", "manager"} and member != caller.uid:
            raise forbidden("You see only your own reports")
    if query.project_id is not None:
        _exists(org_id, "projects", query.project_id)
    if query.source_id is not None:
        _exists(org_id, "captureSources", query.source_id)
    if caller.role == "manager":
        if caller.team_id is None:
            raise forbidden("A manager without a team has no reports")
        team = caller.team_id
    elif caller.role != "admin":
        member = caller.uid
    return Scope(team=team, member=member, project=query.project_id, source_id=query.source_id)


def _read(caller: Caller, query: ReportQuery) -> tuple[dict[str, Any], Any, Scope]:
    now = clock.now()
    first, last = period(query, now.astimezone(caller.settings.zone).date())
    narrowed = scope(caller, query)
    cells = counters.read(caller.org_id, first.isoformat(), last.isoformat())
    return {"asOf": now, "from": first, "to": last}, cells, narrowed


def funnel(*, caller: Caller, query: ReportQuery) -> dict[str, Any]:
    """GET /reports/funnel."""
    head, cells, narrowed = _read(caller, query)
    return {**head, "stages": figures.funnel(cells, narrowed, caller.settings.stages)}


def sources(*, caller: Caller, query: ReportQuery, by_source_id: bool) -> dict[str, Any]:
    """GET /reports/sources."""
    head, cells, narrowed = _read(caller, query)
    return {**head, "rows": figures.sources(cells, narrowed, by_source_id=by_source_id)}


def member_names(org_id: str) -> dict[str, str]:
    """uid -> name of the organization's members (one query, bounded by its seats)."""
    members = tenancy.org_ref(org_id).collection("members").select(["name"]).stream()
    return {snapshot.id: str((snapshot.to_dict() or {}).get("name") or "") for snapshot in members}


def agents(*, caller: Caller, query: ReportQuery) -> dict[str, Any]:
    """GET /reports/agents."""
    head, cells, narrowed = _read(caller, query)
    return {**head, "rows": figures.agents(cells, narrowed, member_names(caller.org_id))}


def visits(*, caller: Caller, query: ReportQuery) -> dict[str, Any]:
    """GET /reports/visits."""
    head, cells, narrowed = _read(caller, query)
    return {**head, **figures.visits(cells, narrowed)}
