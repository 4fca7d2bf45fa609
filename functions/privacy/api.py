"""The `privacy` HTTPS function: own export, a lead's export and erasure, account deletion, policy."""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from core import clock, secrets
from core.deploy import https_options
from core.http import Call, Page, Reply, Router, created, no_content
from members.models import Member
from privacy import account, leads, policy, purpose, requests, restriction
from privacy import settings as privacy_settings
from privacy.models import (
    AccountExport,
    DeletionListQuery,
    DeletionRequest,
    ExportLink,
    LeadExport,
    OwnRequestCreate,
    PolicyAccept,
    PolicyStatus,
    PrivacyRequest,
    PrivacyRequestCreate,
    PrivacyRequestListQuery,
    PrivacyRequestUpdate,
    PrivacySettingsOut,
    PrivacySettingsUpdate,
    Restriction,
    RetentionPreview,
    SelfCorrection,
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


@router.patch("/me", fresh=True, body=SelfCorrection, response=Member)
def correct_self(call: Call) -> dict[str, Any]:
    """Correct one's own name or phone (any member)."""
    body = call.body(SelfCorrection)
    fields = {name for name in body.model_fields_set}
    return account.correct_self(caller=call.caller, name=body.name, phone=body.phone, fields=fields)


@router.post("/leads/{id}/restriction", fresh=True, response=Restriction)
def restrict_lead(call: Call) -> dict[str, Any]:
    """Restrict a lead's processing: kept, never contacted or exported but by its privacy export (admin)."""
    call.caller.require("privacy.manage")
    return restriction.restrict(org_id=call.caller.org_id, lead_id=call.params["id"], actor=call.caller.uid)


@router.delete("/leads/{id}/restriction", fresh=True, response=Restriction)
def lift_restriction(call: Call) -> dict[str, Any]:
    """Lift a lead's restriction (admin)."""
    call.caller.require("privacy.manage")
    return restriction.lift(org_id=call.caller.org_id, lead_id=call.params["id"], actor=call.caller.uid)


# ---- the register of requests ---------------------------------------------------------------------------


def _shown(request: dict[str, Any]) -> dict[str, Any]:
    """A request as the API shows it: with whether it is overdue now."""
    overdue = request.get("status") in requests.OPEN and request["dueAt"] < clock.now()
    return request | {"overdue": overdue}


@router.get("/requests", query=PrivacyRequestListQuery, items=PrivacyRequest)
def list_requests(call: Call) -> Page:
    """The register: newest first, or the overdue ones (admin)."""
    call.caller.require("privacy.manage")
    items, cursor = requests.listed(org_id=call.caller.org_id, query=call.query(PrivacyRequestListQuery))
    return Page([_shown(item) for item in items], cursor)


@router.post("/requests", fresh=True, idempotent=True, body=PrivacyRequestCreate, response=PrivacyRequest, status=201)
def record_request(call: Call) -> Reply:
    """Record a data principal's request about a lead or a member (admin)."""
    call.caller.require("privacy.manage")
    data = call.body(PrivacyRequestCreate)
    recorded = requests.record(org_id=call.caller.org_id, data=data, by=call.caller.uid)
    return created(_shown(recorded))


@router.post("/requests/me", idempotent=True, body=OwnRequestCreate, response=PrivacyRequest, status=201)
def record_own_request(call: Call) -> Reply:
    """A member's own request about its own data (any member)."""
    data = call.body(OwnRequestCreate)
    return created(_shown(account.record_own(caller=call.caller, kind=data.kind, details=data.details)))


@router.get("/requests/{id}", response=PrivacyRequest)
def get_request(call: Call) -> dict[str, Any]:
    """One request of the register (admin)."""
    call.caller.require("privacy.manage")
    return _shown(requests.get(call.caller.org_id, call.params["id"]))


@router.patch("/requests/{id}", fresh=True, body=PrivacyRequestUpdate, response=PrivacyRequest)
def move_request(call: Call) -> dict[str, Any]:
    """Move a request: in-progress, done with a note, refused with the reason (admin; If-Match)."""
    call.caller.require("privacy.manage")
    data = call.body(PrivacyRequestUpdate)
    moved = requests.update(caller=call.caller, request_id=call.params["id"], data=data, expected=call.if_match())
    return _shown(moved)


@router.post("/requests/{id}/fulfil", fresh=True, response=PrivacyRequest)
def fulfil_request(call: Call) -> dict[str, Any]:
    """Carry out an access, portability, erasure or restriction request and close it with its evidence (admin)."""
    call.caller.require("privacy.manage")
    return _shown(requests.fulfil(caller=call.caller, request_id=call.params["id"], expected=call.if_match()))


@router.get("/requests/{id}/export", response=ExportLink)
def request_export(call: Call) -> dict[str, Any]:
    """A short-lived link to the export a fulfilled access or portability request kept (admin)."""
    call.caller.require("privacy.manage")
    return requests.export_link(caller=call.caller, request_id=call.params["id"])


@router.get("/retention/preview", response=RetentionPreview)
def retention_preview(call: Call) -> dict[str, Any]:
    """What the next retention sweep would erase under the organization's periods (admin)."""
    call.caller.require("privacy.manage")
    return purpose.preview(call.caller.org_id)


@router.get("/settings", response=PrivacySettingsOut)
def get_settings(call: Call) -> dict[str, Any]:
    """The organization's response period and retention by purpose (admin)."""
    call.caller.require("privacy.manage")
    return privacy_settings.load(call.caller.org_id).reply()


@router.patch("/settings", fresh=True, body=PrivacySettingsUpdate, response=PrivacySettingsOut)
def change_settings(call: Call) -> dict[str, Any]:
    """Change the response period or the retention periods (admin; If-Match)."""
    call.caller.require("privacy.manage")
    body = call.body(PrivacySettingsUpdate)
    changes = body.model_dump(by_alias=True, exclude_unset=True)
    saved = privacy_settings.save(call.caller.org_id, changes, by=call.caller.uid, expected=call.if_match())
    return saved.reply()


@router.get("/policy", response=PolicyStatus)
def get_policy(call: Call) -> dict[str, Any]:
    """The current privacy policy version and the caller's acceptance."""
    return policy.status(caller=call.caller)


@router.post("/policy/accept", body=PolicyAccept, response=PolicyStatus)
def accept_policy(call: Call) -> dict[str, Any]:
    """Accept the current privacy policy version."""
    body = call.body(PolicyAccept)
    return policy.accept(caller=call.caller, version=body.version)


# An erasure deletes the lead's copies at the providers: recordings (the Plivo voice token), WhatsApp media (the
# organization's sealed token); the register's reminders and exports send no email, so no SMTP here.
SECRETS = secrets.names(secrets.VOICE_AUTH_TOKEN, secrets.CHANNELS_KEY)


@https_fn.on_request(**https_options(timeout_sec=300, memory_mb=512, secrets=SECRETS))
def privacy(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `privacy`."""
    return router(req)
