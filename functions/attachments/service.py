"""Attachments: signed upload, completion checked against the stored object, signed download."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from attachments import storage
from attachments.models import MAX_BYTES, AttachmentCreate
from core import clock, tenancy
from core.caller import Caller
from core.errors import ApiError, forbidden, not_found, precondition
from core.ids import new_id
from core.models import valid_doc_id
from core.visibility import can_see_lead, can_see_record
from leads.access import get_visible_lead

log = logging.getLogger("justo.attachments")

UPLOAD_MINUTES = 15
DOWNLOAD_MINUTES = 10
# Leading bytes of each accepted type: the stored object must really be what was declared.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}


def _ref(org_id: str, attachment_id: str) -> Any:
    return tenancy.org_ref(org_id).collection("attachments").document(attachment_id)


def _safe_name(file_name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", file_name).strip("._") or "file"
    return cleaned[-100:]


def _visible_visit(caller: Caller, visit_id: str) -> dict[str, Any]:
    snapshot = tenancy.org_ref(caller.org_id).collection("visits").document(visit_id).get()
    if not snapshot.exists:
        raise not_found("Visit")
    visit = snapshot.to_dict() or {}
    if can_see_record(caller, owner_id=visit.get("agentId"), team_id=visit.get("teamId")):
        return visit
    lead_id = visit.get("leadId")
    if lead_id:
        lead = tenancy.org_ref(caller.org_id).collection("leads").document(str(lead_id)).get()
        if lead.exists and can_see_lead(caller, lead.to_dict() or {}):
            return visit
    raise forbidden("You may not see this visit")


def create(*, caller: Caller, data: AttachmentCreate) -> dict[str, Any]:
    """Store pending metadata and answer a signed PUT URL; type and size are checked before signing."""
    if data.size_bytes > MAX_BYTES:
        raise ApiError("PAYLOAD_TOO_LARGE", "Attachments are at most 20 MB", fields={"sizeBytes": "at most 20 MB"})
    team_id, owner_id = None, None
    if data.lead_id:
        lead = get_visible_lead(caller, data.lead_id)
        team_id, owner_id = lead.get("teamId"), lead.get("assigneeId")
    else:
        visit = _visible_visit(caller, str(data.visit_id))
        team_id, owner_id = visit.get("teamId"), visit.get("agentId")
    attachment_id = new_id("att_")
    object_path = f"orgs/{caller.org_id}/attachments/{attachment_id}/{_safe_name(data.file_name)}"
    now = clock.now()
    record = {
        "id": attachment_id,
        "orgId": caller.org_id,
        "leadId": data.lead_id,
        "visitId": data.visit_id,
        "teamId": team_id,
        "ownerId": owner_id,
        "fileName": data.file_name,
        "contentType": data.content_type,
        "sizeBytes": data.size_bytes,
        "objectPath": object_path,
        "status": "pending",
        "rejectedReason": None,
        "uploadedBy": caller.uid,
        "createdAt": now,
        "updatedAt": now,
    }
    upload_url = storage.signed_url(object_path, method="PUT", minutes=UPLOAD_MINUTES, content_type=data.content_type)
    _ref(caller.org_id, attachment_id).create(record)
    return {**record, "uploadUrl": upload_url, "expiresAt": now + timedelta(minutes=UPLOAD_MINUTES)}


def load(org_id: str, attachment_id: str) -> dict[str, Any] | None:
    """The stored attachment record, or None."""
    if not valid_doc_id(attachment_id):
        return None
    snapshot = _ref(org_id, attachment_id).get()
    return snapshot.to_dict() if snapshot.exists else None


def _visible(caller: Caller, attachment_id: str) -> dict[str, Any]:
    record = load(caller.org_id, attachment_id)
    if record is None:
        raise not_found("Attachment")
    if record.get("leadId"):
        get_visible_lead(caller, str(record["leadId"]))
    else:
        _visible_visit(caller, str(record.get("visitId")))
    return record


def _problem(record: dict[str, Any], stored: tuple[int, str] | None) -> str | None:
    """Why the stored object does not match what was declared, or None when it does."""
    if stored is None:
        return "nothing was uploaded"
    size, content_type = stored
    if size > MAX_BYTES:
        return "larger than 20 MB"
    if size != record["sizeBytes"]:
        return "size differs from the declared size"
    if content_type.split(";")[0].strip() != record["contentType"]:
        return "content type differs from the declared type"
    signatures = SIGNATURES.get(record["contentType"])
    if signatures:
        head = storage.head(record["objectPath"], 16)
        if not any(head.startswith(signature) for signature in signatures):
            return "the file is not really of its declared type"
    return None


def complete(*, caller: Caller, attachment_id: str) -> dict[str, Any]:
    """Check the uploaded object; ready when it matches, otherwise rejected, deleted and 409."""
    record = _visible(caller, attachment_id)
    if record["status"] == "ready":
        return record
    if record["status"] == "rejected":
        raise precondition("This upload was rejected", reason=record.get("rejectedReason"))
    stored = storage.stat(record["objectPath"])
    problem = _problem(record, stored)
    ref = _ref(caller.org_id, attachment_id)
    if problem == "nothing was uploaded":
        raise precondition("Nothing was uploaded yet; PUT the file to uploadUrl first")
    if problem:
        storage.delete(record["objectPath"])
        ref.update({"status": "rejected", "rejectedReason": problem, "updatedAt": clock.now()})
        log.info("attachment rejected org=%s attachment=%s", caller.org_id, attachment_id)
        raise precondition(f"Upload rejected: {problem}", reason=problem)
    ref.update({"status": "ready", "updatedAt": clock.now()})
    return {**record, "status": "ready"}


def get(*, caller: Caller, attachment_id: str) -> dict[str, Any]:
    """Metadata, and a short-lived download URL once ready."""
    record = _visible(caller, attachment_id)
    if record["status"] == "ready":
        record["downloadUrl"] = storage.signed_url(record["objectPath"], method="GET", minutes=DOWNLOAD_MINUTES)
        record["downloadExpiresAt"] = clock.now() + timedelta(minutes=DOWNLOAD_MINUTES)
    return record


def read_bytes(record: dict[str, Any]) -> bytes:
    """The stored file of a ready attachment (for email)."""
    return storage.read(str(record["objectPath"]))
