"""Attachments: signed upload, completion checked against the stored object, signed download."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from attachments import content
from attachments.models import MAX_BYTES, AttachmentCreate
from core import clients, clock, storage, tenancy, transactions
from core.caller import Caller
from core.errors import ApiError, forbidden, not_found, precondition
from core.ids import new_id
from core.models import valid_doc_id
from core.visibility import can_see_lead, can_see_record
from leads import store

log = logging.getLogger("justo.attachments")

UPLOAD_MINUTES = 15
DOWNLOAD_MINUTES = 10
# A pending upload older than its URL's life plus this margin was abandoned (an upload begun just before
# the URL expired has had ample time to finish): the sweep removes its object and closes it as rejected.
ABANDON_MARGIN = timedelta(minutes=45)
NEVER_COMPLETED = "the upload was never completed"
CHANGED = "the stored file changed after it was approved"


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
        lead = store.get(caller.org_id, str(lead_id))
        if lead is not None and can_see_lead(caller, lead):
            return visit
    raise forbidden("You may not see this visit")


def create(*, caller: Caller, data: AttachmentCreate) -> dict[str, Any]:
    """Store pending metadata and answer a signed PUT URL; type and size are checked before signing."""
    if data.size_bytes > MAX_BYTES:
        raise ApiError("PAYLOAD_TOO_LARGE", "Attachments are at most 20 MB", fields={"sizeBytes": "at most 20 MB"})
    team_id, owner_id = None, None
    if data.lead_id:
        lead = store.get_visible(caller, data.lead_id)
        team_id, owner_id = lead.team_id, lead.assignee_id
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
        "objectGeneration": None,
        "uploadedBy": caller.uid,
        "createdAt": now,
        "updatedAt": now,
        "version": 1,
    }
    headers = storage.upload_headers(content_type=data.content_type, size_bytes=data.size_bytes)
    upload_url = storage.signed_url(
        object_path,
        method="PUT",
        minutes=UPLOAD_MINUTES,
        content_type=data.content_type,
        headers={key: value for key, value in headers.items() if key != "Content-Type"},
    )
    _ref(caller.org_id, attachment_id).create(record)
    expires_at = now + timedelta(minutes=UPLOAD_MINUTES)
    return {**record, "uploadUrl": upload_url, "uploadHeaders": headers, "expiresAt": expires_at}


def received(
    org_id: str, attachment_id: str, *, lead: Any, file_name: str, content_type: str, size_bytes: int, source: str
) -> dict[str, Any]:
    """The pending record of a file a buyer sent (WhatsApp media), before its bytes are fetched: the lead's,
    owned by its assignee, uploaded by nobody (`uploadedBy` null)."""
    now = clock.now()
    return {
        "id": attachment_id,
        "orgId": org_id,
        "leadId": lead.id,
        "visitId": None,
        "teamId": lead.team_id,
        "ownerId": lead.assignee_id,
        "fileName": file_name,
        "contentType": content_type,
        "sizeBytes": size_bytes,
        "objectPath": f"orgs/{org_id}/attachments/{attachment_id}/{_safe_name(file_name)}",
        "status": "pending",
        "rejectedReason": None,
        "objectGeneration": None,
        "uploadedBy": None,
        "source": source,
        "createdAt": now,
        "updatedAt": now,
        "version": 1,
    }


def store_received(org_id: str, attachment_id: str, data: bytes) -> dict[str, Any]:
    """Store the bytes of a received file and make its pending record ready (pinned to the stored generation);
    a type with a content check must pass it, or the record is rejected and nothing is kept."""
    record = load(org_id, attachment_id)
    if record is None:
        raise not_found("Attachment")
    if record["status"] != "pending":
        return record
    check = content.CHECKS.get(record["contentType"])
    if check is not None and not check(data[: content.HEAD_BYTES], len(data)):
        refused = {"status": "rejected", "rejectedReason": "the file is not really of its type"}
        return _settle(org_id, attachment_id, record, refused)
    stored = storage.write(record["objectPath"], data, content_type=record["contentType"])
    changes = {"status": "ready", "objectGeneration": stored.generation, "sizeBytes": len(data)}
    return _settle(org_id, attachment_id, record, changes)


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
        store.get_visible(caller, str(record["leadId"]))
    else:
        _visible_visit(caller, str(record.get("visitId")))
    return record


def _problem(record: dict[str, Any], stored: storage.Stored) -> str | None:
    """Why the stored generation is not what was declared, or None when it is."""
    if stored.size > MAX_BYTES:
        return "larger than 20 MB"
    if stored.size != record["sizeBytes"]:
        return "size differs from the declared size"
    if stored.content_type.split(";")[0].strip() != record["contentType"]:
        return "content type differs from the declared type"
    head = storage.head(record["objectPath"], content.HEAD_BYTES, generation=stored.generation)
    if not content.matches(record["contentType"], head, stored.size):
        return "the file is not really of its declared type"
    return None


def _settle(org_id: str, attachment_id: str, expected: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Move a pending attachment on (ready or rejected) unless someone else settled it first; the record now."""
    from google.cloud import firestore

    ref = _ref(org_id, attachment_id)

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        current = ref.get(transaction=transaction).to_dict() or {}
        if current.get("status") != expected["status"] or current.get("version") != expected.get("version"):
            return current
        update = {**changes, "updatedAt": clock.now(), "version": int(current.get("version") or 1) + 1}
        transaction.update(ref, update)
        return {**current, **update}

    result: dict[str, Any] = transactions.run(apply)
    return result


def _refuse(record: dict[str, Any]) -> None:
    if record.get("status") == "rejected":
        raise precondition(f"Upload rejected: {record.get('rejectedReason')}", reason=record.get("rejectedReason"))


def complete(*, caller: Caller, attachment_id: str) -> dict[str, Any]:
    """Check the uploaded object; ready (pinned to the generation checked) when it matches what was declared,
    otherwise that generation is deleted, the attachment rejected and 409."""
    record = _visible(caller, attachment_id)
    if record["status"] == "ready":
        return record
    _refuse(record)
    stored = storage.stat(record["objectPath"])
    if stored is None:
        raise precondition("Nothing was uploaded yet; PUT the file to uploadUrl first")
    problem = _problem(record, stored)
    if problem:
        storage.delete(record["objectPath"], generation=stored.generation)
        settled = _settle(caller.org_id, attachment_id, record, {"status": "rejected", "rejectedReason": problem})
        log.info("attachment rejected org=%s attachment=%s", caller.org_id, attachment_id)
        _refuse(settled)
        return settled  # completed meanwhile by another request
    settled = _settle(caller.org_id, attachment_id, record, {"status": "ready", "objectGeneration": stored.generation})
    _refuse(settled)
    return settled


def get(*, caller: Caller, attachment_id: str) -> dict[str, Any]:
    """Metadata, and once ready a short-lived download URL of exactly the approved generation."""
    record = _visible(caller, attachment_id)
    if record["status"] == "ready":
        record["downloadUrl"] = storage.signed_url(
            record["objectPath"], method="GET", minutes=DOWNLOAD_MINUTES, generation=_pinned(record)
        )
        record["downloadExpiresAt"] = clock.now() + timedelta(minutes=DOWNLOAD_MINUTES)
    return record


def _pinned(record: dict[str, Any]) -> int | None:
    generation = record.get("objectGeneration")
    return int(generation) if generation is not None else None


def read_bytes(record: dict[str, Any]) -> bytes:
    """The approved generation of a ready attachment (for email); 409 when the stored file is no longer it."""
    path, pinned = str(record["objectPath"]), _pinned(record)
    stored = storage.stat(path)
    if stored is None or pinned is None or stored.generation != pinned:
        raise precondition(f"Attachment {record.get('id')}: {CHANGED}; upload it again", reason=CHANGED)
    return storage.read(path, generation=pinned)


def download_link(record: dict[str, Any], *, minutes: int) -> str:
    """A signed GET URL of the approved generation of a ready attachment (for a provider to fetch)."""
    return storage.signed_url(str(record["objectPath"]), method="GET", minutes=minutes, generation=_pinned(record))


# ---- abandoned uploads ------------------------------------------------------------------------------------


def is_abandoned(record: dict[str, Any], now: datetime) -> bool:
    """True for a pending upload older than its URL's life plus the margin: nobody can finish it any more."""
    created = record.get("createdAt")
    cutoff = now - timedelta(minutes=UPLOAD_MINUTES) - ABANDON_MARGIN
    return record.get("status") == "pending" and isinstance(created, datetime) and created <= cutoff


def _org_of(reference: Any) -> str | None:
    """The organization of an `orgs/{orgId}/attachments/{id}` document; None for a same-named collection elsewhere."""
    parts = reference.path.split("/")
    return parts[1] if len(parts) == 4 and parts[0] == "orgs" and parts[2] == "attachments" else None


def sweep_abandoned(now: datetime, *, batch_size: int = 200) -> int:
    """Close every abandoned upload of every organization: it becomes rejected (never completed) and its
    object, if any, is deleted; how many were closed. A completion that wins the race is left alone."""
    cutoff = now - timedelta(minutes=UPLOAD_MINUTES) - ABANDON_MARGIN
    query = (
        clients.db()
        .collection_group("attachments")
        .where(filter=clients.where("status", "==", "pending"))
        .where(filter=clients.where("createdAt", "<=", cutoff))
        .order_by("createdAt")
        .limit(batch_size)
    )
    closed, after = 0, None
    while True:
        page = query.start_after(after) if after is not None else query
        snapshots = list(page.stream())
        for snapshot in snapshots:
            record = snapshot.to_dict() or {}
            org_id = _org_of(snapshot.reference)
            if org_id is None or not is_abandoned(record, now):
                continue
            settled = _settle(org_id, snapshot.id, record, {"status": "rejected", "rejectedReason": NEVER_COMPLETED})
            if settled.get("rejectedReason") == NEVER_COMPLETED:
                storage.delete(str(record["objectPath"]))
                closed += 1
        if len(snapshots) < batch_size:
            return closed
        after = snapshots[-1]
