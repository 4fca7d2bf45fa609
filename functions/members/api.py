"""The `members` HTTPS function: /members/me, /members, /members/{uid}, availability for routing."""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from core.deploy import https_options
from core.http import Call, Page, Reply, Router, created
from members import service
from members.models import Me, Member, MemberCreate, MemberListQuery, MemberUpdate
from routing.models import Availability, AvailabilityBody

router = Router("members")


@router.get("/me", response=Me)
def me(call: Call) -> dict[str, Any]:
    """The caller's profile, role and effective permissions."""
    return service.me(caller=call.caller)


@router.put("/me/availability", fresh=True, body=AvailabilityBody, response=Availability)
def set_my_availability(call: Call) -> dict[str, Any]:
    """Set the caller's own routing state (available, away, off-duty; `until` ends it)."""
    return service.set_availability(caller=call.caller, uid=call.caller.uid, data=call.body(AvailabilityBody))


@router.put("/{uid}/availability", fresh=True, body=AvailabilityBody, response=Availability)
def set_availability(call: Call) -> dict[str, Any]:
    """Set a member's routing state (admin: anyone; manager: its team)."""
    data = call.body(AvailabilityBody)
    return service.set_availability(caller=call.caller, uid=call.params["uid"], data=data)


@router.get("/", query=MemberListQuery, items=Member)
def list_members(call: Call) -> Page:
    """A page of members (admin: all; manager: its team)."""
    items, cursor = service.list_members(caller=call.caller, query=call.query(MemberListQuery))
    return Page(items, cursor)


@router.post("/", fresh=True, idempotent=True, body=MemberCreate, response=Member, status=201)
def add_member(call: Call) -> Reply:
    """Add a member (admin)."""
    call.caller.require("members.manage")
    member = service.add_member(org_id=call.caller.org_id, actor=call.caller.uid, data=call.body(MemberCreate))
    return created(member)


@router.get("/{uid}", response=Member)
def get_member(call: Call) -> dict[str, Any]:
    """One member."""
    return service.get_member(caller=call.caller, uid=call.params["uid"])


@router.patch("/{uid}", fresh=True, body=MemberUpdate, response=Member)
def update_member(call: Call) -> dict[str, Any]:
    """Change role, team, name, active, leave periods or the open-lead cap (admin)."""
    call.caller.require("members.manage")
    data = call.body(MemberUpdate)
    member = service.update_member(caller=call.caller, uid=call.params["uid"], data=data, if_match=call.if_match())
    return member


@https_fn.on_request(**https_options())
def members(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `members`."""
    return router(req)
