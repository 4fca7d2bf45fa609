"""Folding a duplicate lead into another: contact, notes, tasks, calls, messages, visits and activity move over.

One transaction moves the contact keys and marks the duplicate `mergedInto` (so it vanishes from every
list at once); the related records then move in batches. A retry of the same merge resumes the moves.
"""

from __future__ import annotations

from typing import Any

from core import clients, clock, tenancy
from core.caller import Caller
from core.errors import invalid, not_found, precondition
from leads import masking, service
from leads.access import get_visible_lead, lead_ref

# Top-level collections whose records carry `leadId` (owned by tasks, visits, comms, attachments).
RELATED = ("tasks", "visits", "calls", "messages", "attachments")
SUBCOLLECTIONS = ("notes", "activity")


def _merged_contact(target: dict[str, Any], duplicate: dict[str, Any]) -> dict[str, Any]:
    """The target's contact plus the duplicate's emails, and its phone as alternate where there is room."""
    contact = {field: target.get(field) for field in ("primaryPhone", "alternatePhone")}
    contact["emails"] = list(dict.fromkeys([*(target.get("emails") or []), *(duplicate.get("emails") or [])]))[:5]
    if not contact.get("alternatePhone"):
        held = {phone.get("e164") for phone in (contact.get("primaryPhone"), contact.get("alternatePhone")) if phone}
        for phone in (duplicate.get("primaryPhone"), duplicate.get("alternatePhone")):
            if phone and phone.get("e164") not in held:
                contact["alternatePhone"] = phone
                break
    return contact


def merge_leads(*, caller: Caller, lead_id: str, duplicate_id: str) -> dict[str, Any]:
    """Fold duplicate_id into lead_id (both visible to the caller); the merged lead."""
    from google.cloud import firestore

    caller.require("leads.merge")
    if duplicate_id == lead_id:
        raise invalid("duplicateId", "a lead cannot be merged into itself")
    org_id = caller.org_id
    duplicate_ref = lead_ref(org_id, duplicate_id)
    snapshot = duplicate_ref.get()
    if not snapshot.exists:
        raise not_found("Lead")
    existing = snapshot.to_dict() or {}
    if existing.get("mergedInto") not in (None, lead_id):
        raise precondition("The duplicate was already merged into another lead")
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        target = get_visible_lead(caller, lead_id, transaction=transaction)
        get_visible_lead(caller, duplicate_id, transaction=transaction)  # the caller must see both
        target_contact = service.private_ref(org_id, lead_id).get(transaction=transaction).to_dict() or {}
        duplicate_contact = service.private_ref(org_id, duplicate_id).get(transaction=transaction).to_dict() or {}
        masked = masking.masks_now(org_id, transaction=transaction)
        contact = _merged_contact(target_contact, duplicate_contact)
        old_keys = {**service.contact_keys(duplicate_contact), **service.contact_keys(target_contact)}
        new_keys = service.contact_keys(contact)
        for key in old_keys:
            if key not in new_keys:
                transaction.delete(service.key_ref(org_id, key))
        for key, field in new_keys.items():
            transaction.set(service.key_ref(org_id, key), {"leadId": lead_id, "field": field, "createdAt": now})
        transaction.set(service.private_ref(org_id, lead_id), {**contact, "leadId": lead_id, "updatedAt": now})
        updates = {
            **service.contact_view(str(target["name"]), contact, masked=masked),
            "mergedFrom": list(dict.fromkeys([*(target.get("mergedFrom") or []), duplicate_id])),
            "version": int(target.get("version", 1)) + 1,
            "updatedAt": now,
            "updatedBy": caller.uid,
        }
        transaction.update(lead_ref(org_id, lead_id), updates)
        transaction.update(
            duplicate_ref,
            {"archived": True, "archivedAt": now, "mergedInto": lead_id, "updatedAt": now, "updatedBy": caller.uid},
        )
        target.update(updates)
        return target

    if existing.get("mergedInto") == lead_id:
        merged = get_visible_lead(caller, lead_id)
    else:
        merged = apply(clients.db().transaction())
    move_related(org_id, duplicate_id, lead_id)
    return service.present(merged, caller, contact=service.contact_for_reply(org_id, merged, caller))


def move_related(org_id: str, from_id: str, to_id: str) -> None:
    """Move notes and activity under the lead, repoint records carrying `leadId`, then drop the duplicate."""
    db = clients.db()
    org = tenancy.org_ref(org_id)
    batch, pending = db.batch(), 0

    def flush(force: bool = False) -> None:
        nonlocal batch, pending
        if pending and (force or pending >= 400):
            batch.commit()
            batch, pending = db.batch(), 0

    for name in SUBCOLLECTIONS:
        for snapshot in lead_ref(org_id, from_id).collection(name).stream():
            # `movedFrom` tells the activity triggers this is not a new note.
            data = {**(snapshot.to_dict() or {}), "leadId": to_id, "movedFrom": from_id}
            batch.set(lead_ref(org_id, to_id).collection(name).document(snapshot.id), data)
            batch.delete(snapshot.reference)
            pending += 2
            flush()
    for name in RELATED:
        query = org.collection(name).where(filter=clients.where("leadId", "==", from_id))
        for snapshot in query.select([]).stream():
            batch.update(snapshot.reference, {"leadId": to_id})
            pending += 1
            flush()
    flush(force=True)
    batch = db.batch()
    batch.delete(service.private_ref(org_id, from_id))
    batch.delete(lead_ref(org_id, from_id))
    batch.commit()
