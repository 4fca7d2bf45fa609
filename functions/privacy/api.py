"""The `privacy` HTTPS function: own export, a lead's export and erasure, account deletion, policy."""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from core.deploy import https_options
from core.http import Call, Page, Reply, Router, no_content
from privacy import account, leads, policy
from privacy.models import (
    AccountExport,
    DeletionListQuery,
    DeletionRequest,
    LeadExport,
    PolicyAccept,
    PolicyStatus,
)

router = Router("privacy")


@router.get("/export", response=AccountExport)
def export_self(call: Call) -> dict[str, Any]:
    """The caller's own data, machine-readable."""
    return account.export_self(caller=call.caller)


@router.get("/leads/{id}/export", fresh=True, response=LeadExport)
def export_lead(call: Call) -> dict[str, Any]:
    """A lead's full record for portability (admin)."""
    call.caller.require("privacy.manage")
    return leads.export(org_id=call.caller.org_id, lead_id=call.params["id"], actor=call.caller.uid)


@router.delete("/leads/{id}", fresh=True, status=204)
def erase_lead(call: Call) -> Reply:
    """Erase a lead and every trace of it, attachments included (admin)."""
    call.caller.require("privacy.manage")
    leads.erase(org_id=call.caller.org_id, lead_id=call.params["id"], actor=call.caller.uid)
    return no_content()


@router.post("/account/deletion", response=DeletionRequest, status=202)
def request_deletion(call: Call) -> Reply:
    """Ask for the caller's account to be deleted; an admin completes it."""
    result = account.request_deletion(caller=call.caller)
    return Reply(result, 202)


@router.get("/account/deletions", query=DeletionListQuery, items=DeletionRequest)
def list_deletions(call: Call) -> Page:
    """Pending account deletion requests, oldest first (admin)."""
    call.caller.require("privacy.manage")
    query = call.query(DeletionListQuery)
    items, cursor = account.pending_deletions(caller=call.caller, limit=query.limit, cursor=query.cursor)
    return Page(items, cursor)


@router.delete("/members/{uid}", fresh=True, status=204)
def complete_deletion(call: Call) -> Reply:
    """Complete a member's account deletion (admin): its records stay, shown as a former member's."""
    call.caller.require("privacy.manage")
    account.complete_deletion(caller=call.caller, uid=call.params["uid"])
    return no_content()


@router.get("/policy", response=PolicyStatus)
def get_policy(call: Call) -> dict[str, Any]:
    """The current privacy policy version and the caller's acceptance."""
    return policy.status(caller=call.caller)


@router.post("/policy/accept", body=PolicyAccept, response=PolicyStatus)
def accept_policy(call: Call) -> dict[str, Any]:
    """Accept the current privacy policy version."""
    body = call.body(PolicyAccept)
    return policy.accept(caller=call.caller, version=body.version)


@https_fn.on_request(**https_options(timeout_sec=300, memory_mb=512))
def privacy(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `privacy`."""
    return router(req)
