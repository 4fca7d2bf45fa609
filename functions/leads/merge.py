"""Folding a duplicate lead into another: contact, enquiries, notes, tasks, calls, messages, visits, activity and
the captures that made or enquired on it move over.

One transaction moves the contact keys and the enquiries and marks the duplicate `mergedInto` (so it vanishes
from every list at once); the related records then move in batches. A retry of the same merge resumes the moves.
"""

from __future__ import annotations

from typing import Any

from core import clients, clock, tenancy, transactions
from core.caller import Caller
from core.errors import invalid, not_found, precondition
from leads import store
from leads.store import Contact, LeadRecord
from routing import counters, queue
from routing.eligibility import is_open

# Top-level collections whose records carry `leadId` (owned by tasks, visits, comms, attachments, lead capture).
RELATED = ("tasks", "visits", "calls", "messages", "attachments", "captures")
SUBCOLLECTIONS = ("notes", "activity")
MAX_EMAILS = 5


def merged_contact(target: Contact, duplicate: Contact) -> Contact:
    """The target's contact plus the duplicate's emails, and its phone as alternate where there is room."""
    emails = tuple(dict.fromkeys([*target.emails, *duplicate.emails]))[:MAX_EMAILS]
    held = {phone.e164 for phone in target.phones}
    spare = [phone for phone in duplicate.phones if phone.e164 not in held]
    primary = target.primary or (spare.pop(0) if spare else None)  # a target captured by email alone gains one
    alternate = target.alternate or (spare[0] if spare else None)
    return Contact(primary, alternate, emails)


def merged_enquiries(target: LeadRecord, duplicate: LeadRecord) -> list[dict[str, Any]]:
    """Both leads' enquiries, each capture's once, ordered by when they arrived."""
    seen: dict[Any, dict[str, Any]] = {}
    for entry in (*target.enquiries, *duplicate.enquiries):
        seen.setdefault(entry.get("captureId") or id(entry), dict(entry))
    return sorted(seen.values(), key=lambda entry: clock.rfc3339(entry["at"]) if entry.get("at") else "")


def merge_leads(*, caller: Caller, lead_id: str, duplicate_id: str) -> LeadRecord:
    """Fold duplicate_id into lead_id (both visible to the caller); the merged lead."""
    from google.cloud import firestore

    caller.require("leads.merge")
    if duplicate_id == lead_id:
        raise invalid("duplicateId", "a lead cannot be merged into itself")
    org_id = caller.org_id
    existing = store.get(org_id, duplicate_id)
    if existing is None:
        raise not_found("Lead")
    if existing.merged_into not in (None, lead_id):
        raise precondition("The duplicate was already merged into another lead")
    now = clock.now()
    released: list[str] = []  # the duplicate's assignee, one open lead lighter once the duplicate is archived

    @firestore.transactional
    def apply(transaction: Any) -> LeadRecord:
        released.clear()
        target = store.get_visible(caller, lead_id, transaction=transaction)
        duplicate = store.get_visible(caller, duplicate_id, transaction=transaction)  # the caller must see both
        target_contact = store.read_contact(org_id, lead_id, transaction=transaction) or Contact(None)
        duplicate_contact = store.read_contact(org_id, duplicate_id, transaction=transaction) or Contact(None)
        masked = store.masks_now(org_id, transaction=transaction)
        contact = merged_contact(target_contact, duplicate_contact)
        old_keys = {**duplicate_contact.keys(), **target_contact.keys()}
        new_keys = contact.keys()
        for key in old_keys:
            if key not in new_keys:
                transaction.delete(store.key_ref(org_id, key))
        store.write_keys(transaction, org_id, lead_id, new_keys, now)
        transaction.set(store.private_ref(org_id, lead_id), contact.document(lead_id, now))
        updates = {
            **contact.view(target.name, masked=masked),
            "mergedFrom": list(dict.fromkeys([*target.merged_from, duplicate_id])),
            **_enquiry_updates(target, duplicate),
            "version": target.version + 1,
            "updatedAt": now,
            "updatedBy": caller.uid,
        }
        transaction.update(store.ref(org_id, lead_id), updates)
        transaction.update(
            store.ref(org_id, duplicate_id),
            {"archived": True, "archivedAt": now, "mergedInto": lead_id, "updatedAt": now, "updatedBy": caller.uid},
        )
        if duplicate.assignee_id and is_open(duplicate.stage, archived=False):
            counters.shift_open(transaction, org_id, duplicate.assignee_id, -1)
            released.append(duplicate.assignee_id)
        return target.updated(updates)

    merged = store.get_visible(caller, lead_id) if existing.merged_into == lead_id else transactions.run(apply)
    for uid in released:
        queue.drain_for(org_id, uid)
    move_related(org_id, duplicate_id, lead_id, team_id=merged.team_id)
    return store.shown(org_id, merged, caller)


def _enquiry_updates(target: LeadRecord, duplicate: LeadRecord) -> dict[str, Any]:
    if not duplicate.enquiries:
        return {}
    enquiries = merged_enquiries(target, duplicate)
    stamps = [entry["at"] for entry in enquiries if entry.get("at")]
    return {"enquiries": enquiries, "lastEnquiredAt": max(stamps, key=clock.rfc3339) if stamps else None}


def move_related(org_id: str, from_id: str, to_id: str, *, team_id: str | None = None) -> None:
    """Move notes and activity under the lead, repoint records carrying `leadId`, then drop the duplicate.
    Captures also take the surviving lead's team (`team_id`): its managers list them."""
    db = clients.db()
    org = tenancy.org_ref(org_id)
    batch, pending = db.batch(), 0

    def flush(force: bool = False) -> None:
        nonlocal batch, pending
        if pending and (force or pending >= 400):
            batch.commit()
            batch, pending = db.batch(), 0

    for name in SUBCOLLECTIONS:
        for snapshot in store.child(org_id, from_id, name).stream():
            # `movedFrom` tells the activity triggers this is not a new note.
            data = {**(snapshot.to_dict() or {}), "leadId": to_id, "movedFrom": from_id}
            batch.set(store.child(org_id, to_id, name).document(snapshot.id), data)
            batch.delete(snapshot.reference)
            pending += 2
            flush()
    for name in RELATED:
        query = org.collection(name).where(filter=clients.where("leadId", "==", from_id))
        for snapshot in query.select([]).stream():
            moved = {"leadId": to_id, "teamId": team_id} if name == "captures" else {"leadId": to_id}
            batch.update(snapshot.reference, moved)
            pending += 1
            flush()
    flush(force=True)
    batch = db.batch()
    batch.delete(store.private_ref(org_id, from_id))
    batch.delete(store.ref(org_id, from_id))
    batch.commit()
