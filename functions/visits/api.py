"""The `visits` HTTPS function: GET/POST /visits, GET/PATCH /visits/{id}, POST /visits/{id}/checkin."""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from core import secrets
from core.deploy import https_options
from core.http import Call, Page, Reply, Router, created
from visits import service
from visits.models import Checkin, CheckinCreate, Visit, VisitCreate, VisitListQuery, VisitUpdate

router = Router("visits")


@router.get("/", query=VisitListQuery, items=Visit)
def list_visits(call: Call) -> Page:
    """A page of visible visits, earliest first: by time range, agent, lead and status."""
    items, cursor = service.list_visits(caller=call.caller, query=call.query(VisitListQuery))
    return Page(items, cursor)


@router.post("/", idempotent=True, body=VisitCreate, response=Visit, status=201)
def schedule(call: Call) -> Reply:
    """Schedule a visit; the lead gets an invitation, the agent reminders."""
    visit = service.create_visit(caller=call.caller, data=call.body(VisitCreate))
    return created(visit)


@router.get("/{visit_id}", response=Visit)
def get_visit(call: Call) -> dict[str, Any]:
    """One visit."""
    return service.get_visit(caller=call.caller, visit_id=call.params["visit_id"])


@router.patch("/{visit_id}", body=VisitUpdate, response=Visit)
def update_visit(call: Call) -> dict[str, Any]:
    """Reschedule, complete (with follow-up notes), cancel (with a reason) or annotate a visit."""
    visit = service.update_visit(
        caller=call.caller, visit_id=call.params["visit_id"], data=call.body(VisitUpdate), if_match=call.if_match()
    )
    return visit


@router.post("/{visit_id}/checkin", idempotent=True, body=CheckinCreate, response=Checkin, status=201)
def checkin(call: Call) -> Reply:
    """GPS check-in by the visit's agent: distance to the project and whether within its radius."""
    record = service.checkin(caller=call.caller, visit_id=call.params["visit_id"], data=call.body(CheckinCreate))
    return created(record)


@https_fn.on_request(**https_options(secrets=secrets.names(secrets.MAIL)))  # invitations to the lead
def visits(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `visits`."""
    return router(req)
