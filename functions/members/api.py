"""The `members` HTTPS function: /members/me, /members, /members/{uid}."""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from core.deploy import https_options
from core.http import Call, Page, Reply, Router, created
from members import service
from members.models import Me, Member, MemberCreate, MemberListQuery, MemberUpdate

router = Router("members")


@router.get("/me", response=Me)
def me(call: Call) -> dict[str, Any]:
    """The caller's profile, role and effective permissions."""
    return service.me(caller=call.caller)


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
    """Change role, team, name or active (admin)."""
    call.caller.require("members.manage")
    data = call.body(MemberUpdate)
    member = service.update_member(caller=call.caller, uid=call.params["uid"], data=data, if_match=call.if_match())
    return member


@https_fn.on_request(**https_options())
def members(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `members`."""
    return router(req)
