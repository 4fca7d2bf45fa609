"""A lead's personal data for its owner's rights: one portable export, and erasure of every trace.

Everything is found generically, not per feature: records carrying the lead's id in `leadId` (or
`mergedInto`) in any collection of the organization, documents whose id is the lead's (archived
copies), records of those records (`visitId`, `callId`, `messageId`), server collections naming it in
`leadId`, `refs` or `subjectIds` (outbox, idempotency), the notification feed (`refs`), and objects
in Cloud Storage (`objectPath` and the lead's folder). A feature added later is reached as long as it
follows docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core import audit, clients, clock, tenancy
from core.errors import not_found
from leads import store
from privacy import purge, records
from routing import counters, queue
from routing.eligibility import is_open

# Organization collections that never hold a lead's data, and the trail that must never be erased.
UNRELATED = frozenset({"audit", "auditHead", "members", "teams", "projects", "templates", "privacyRequests"})
LINK_FIELDS = ("leadId", "mergedInto")
# A record of a lead's record: attachments of its visits, statuses of its messages, ...
CHILD_LINKS = {"visits": "visitId", "calls": "callId", "messages": "messageId", "tasks": "taskId"}
# Server collections that cannot hold a lead's data (or are handled apart).
SERVER_SKIP = frozenset({"orgs", "users", "platform", "memberEmails", "otpChallenges", "throttles", "fcmTokens"})
EXPORT_KEYS = {"tasks": "tasks", "visits": "visits", "calls": "calls", "messages": "messages"}
INTERNAL = frozenset({"leadKeys"})  # dedupe keys: erased, but not part of the lead's record
EXPORT_FORMAT = "justo-lead-export/1"


@dataclass
class Found:
    """Everything stored about one lead, as snapshots grouped by where they live."""

    lead_ids: list[str] = field(default_factory=list)  # the lead's and its merged duplicates'
    lead: Any = None  # the lead's snapshot (find() answers 404 without one)
    lead_subcollections: dict[str, list[Any]] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # org collection -> {path: snapshot}

    def add(self, collection: str, snapshot: Any) -> None:
        """Add one record (once)."""
        self.records.setdefault(collection, {})[snapshot.reference.path] = snapshot

    def record_ids(self, collection: str) -> list[str]:
        """Ids of the records found in one collection."""
        return sorted(snapshot.id for snapshot in self.records.get(collection, {}).values())


def _chunks(values: list[str], size: int = 30) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def merged_into(org_id: str, lead_id: str) -> list[str]:
    """Ids of the duplicates merged into the lead (and into those), which hold the same person's data."""
    leads = store.collection(org_id)
    merged: list[str] = []
    pending = [lead_id]
    while pending:
        current = pending.pop()
        for duplicate in leads.where(filter=clients.where("mergedInto", "==", current)).select([]).stream():
            if duplicate.id != lead_id and duplicate.id not in merged:
                merged.append(duplicate.id)
                pending.append(duplicate.id)
    return merged


def find(org_id: str, lead_id: str) -> Found:
    """Find the lead, its subcollections and every record of the organization tied to it (or to a
    duplicate merged into it); 404 unless `lead_id` names a lead: the id of a task, a visit or a message
    must never let an erasure or an export reach that record (or what hangs off it)."""
    lead_ref = store.ref(org_id, lead_id)
    snapshot = lead_ref.get()
    if not snapshot.exists:
        raise not_found("Lead")
    found = Found(lead_ids=[lead_id, *merged_into(org_id, lead_id)], lead=snapshot)
    for collection in lead_ref.collections():
        found.lead_subcollections[collection.id] = list(collection.stream())
    collections = [c for c in tenancy.org_ref(org_id).collections() if c.id not in UNRELATED]
    for collection in collections:
        for chunk in _chunks(found.lead_ids):
            queries = [collection.where(filter=clients.where(link, "in", chunk)) for link in LINK_FIELDS]
            queries.append(collection.where(filter=clients.where("refs", "array_contains_any", chunk)))
            for query in queries:
                for match in query.stream():
                    found.add(collection.id, match)
        for snapshot in clients.db().get_all([collection.document(i) for i in found.lead_ids]):
            # an archived copy, or a merged duplicate; a record of another lead that shares the id is not ours
            owner = (snapshot.to_dict() or {}).get("leadId") if snapshot.exists else None
            if snapshot.exists and snapshot.reference.path != lead_ref.path and owner in (None, *found.lead_ids):
                found.add(collection.id, snapshot)
    for parent, link in CHILD_LINKS.items():
        ids = found.record_ids(parent)
        for chunk in _chunks(ids):
            for collection in collections:
                for match in collection.where(filter=clients.where(link, "in", chunk)).stream():
                    found.add(collection.id, match)
    return found


def subject_ids(lead_id: str, found: Found) -> list[str]:
    """The lead's ids and the ids of its records: what server records and feeds name in refs."""
    ids = set(found.lead_ids) | {lead_id}
    for collection in ("visits", "calls", "messages", "tasks", "attachments"):
        ids.update(found.record_ids(collection))
    return sorted(ids)


def contact_points(found: Found) -> list[str]:
    """The lead's emails and phone numbers as stored (E.164), to find what was sent to them."""
    points: set[str] = set()
    sources = [found.lead.to_dict() or {}] if found.lead is not None else []
    sources += [s.to_dict() or {} for s in found.lead_subcollections.get("private", [])]
    sources += [s.to_dict() or {} for s in found.records.get("leads", {}).values()]  # merged duplicates
    for source in sources:
        points.update(str(e).strip().lower() for e in source.get("emails") or [] if e)
        for key in ("primaryPhone", "alternatePhone"):
            phone = source.get(key)
            if isinstance(phone, dict) and phone.get("e164"):
                points.add(str(phone["e164"]))
    return sorted(points)


def find_elsewhere(org_id: str, lead_id: str, found: Found) -> list[Any]:
    """Server records (outbox, idempotency, ...) and feed entries that name the lead or its records."""
    db = clients.db()
    ids = subject_ids(lead_id, found)
    matches: dict[str, Any] = {}
    for collection in db.collections():
        if collection.id in SERVER_SKIP:
            continue
        queries = [collection.where(filter=clients.where("leadId", "in", c)) for c in _chunks(found.lead_ids)]
        for chunk in _chunks(ids):
            queries.append(collection.where(filter=clients.where("refs", "array_contains_any", chunk)))
            queries.append(collection.where(filter=clients.where("subjectIds", "array_contains_any", chunk)))
            queries.append(collection.where(filter=clients.where("subjectId", "in", chunk)))
        for parent, link in CHILD_LINKS.items():
            for chunk in _chunks(found.record_ids(parent)):
                queries.append(collection.where(filter=clients.where(link, "in", chunk)))
        for chunk in _chunks(contact_points(found)):
            queries.append(collection.where(filter=clients.where("to", "in", chunk)))
        candidates = [match for query in queries for match in query.stream()]
        # indexes keyed by a record's id (a VoIP call's callId, ...)
        candidates += [s for s in db.get_all([collection.document(i) for i in ids]) if s.exists]
        for match in candidates:
            owner = (match.to_dict() or {}).get("orgId")
            if owner in (None, org_id):
                matches[match.reference.path] = match
    feed = db.collection_group("notifications")
    for chunk in _chunks(ids):
        for match in feed.where(filter=clients.where("refs", "array_contains_any", chunk)).stream():
            matches[match.reference.path] = match
    for chunk in _chunks(found.lead_ids):
        for match in feed.where(filter=clients.where("data.leadId", "in", chunk)).stream():
            matches[match.reference.path] = match
    return list(matches.values())


def object_paths(org_id: str, lead_id: str, snapshots: Iterable[Any]) -> list[str]:
    """Cloud Storage objects of the lead: every `objectPath`-like field, and the lead's own folder."""
    from privacy import storage

    paths: set[str] = set()
    for snapshot in snapshots:
        for key, value in (snapshot.to_dict() or {}).items():
            if (
                isinstance(value, str)
                and key.endswith(("objectPath", "ObjectPath", "Path"))
                and value.startswith("orgs/")
            ):
                paths.add(value)
    paths.update(storage.names_under(f"orgs/{org_id}/leads/{lead_id}/"))
    return sorted(paths)


def erase(*, org_id: str, lead_id: str, actor: str | None, action: str = "privacy.lead.erased") -> dict[str, Any]:
    """Erase every trace of a lead: the copies at providers first (recordings, WhatsApp media), then Cloud
    Storage objects, then documents, the lead's own last, so a retry resumes; then one audit entry naming only
    who erased which lead id (actor None: the platform; the 30-day purge of archived leads can pass its own
    action, e.g. lead.purged). The report names every store and provider reached, with what a provider could
    not delete."""
    from privacy import providers, storage

    found = find(org_id, lead_id)
    elsewhere = find_elsewhere(org_id, lead_id, found)
    record_snapshots = [s for group in found.records.values() for s in group.values()]
    lead_ref = store.ref(org_id, lead_id)
    copies = providers.copies(s.to_dict() or {} for s in record_snapshots)
    at_providers = providers.erase_all(org_id, copies)
    objects = storage.delete_objects(object_paths(org_id, lead_id, record_snapshots))
    refs: dict[str, Any] = {}
    for snapshot in [*record_snapshots, *elsewhere]:
        if snapshot.reference.path != lead_ref.path:
            for ref in purge.subtree(snapshot.reference):
                refs[ref.path] = ref
    lead_refs = list(purge.subtree(lead_ref))
    stores: dict[str, int] = {}
    for ref in [*refs.values(), *lead_refs]:
        where = _store_name(ref)
        stores[where] = stores.get(where, 0) + 1
    documents = purge.delete_refs(refs.values())
    documents += purge.delete_refs(lead_refs)
    _release(org_id, found.lead.to_dict() or {})
    failed = sum(1 for line in at_providers if line["outcome"] == "failed")
    audit.record(
        org_id, action, actor=actor, target=lead_id, documents=documents, objects=objects, providerFailures=failed
    )
    return {
        "documents": documents,
        "objects": objects,
        "stores": {"firestore": dict(sorted(stores.items())), "cloudStorage": objects},
        "providers": at_providers,
        "complete": failed == 0,
    }


def _store_name(ref: Any) -> str:
    """Where a document lives, as an erasure report names it: its collection path without ids
    (orgs/*/leads/*/notes, outbox, users/*/notifications, ...)."""
    parts = ref.path.split("/")
    return "/".join(part if index % 2 == 0 else "*" for index, part in enumerate(parts[:-1]))


def _release(org_id: str, lead: dict[str, Any]) -> None:
    """The erased lead no longer counts against its assignee's open leads. After the delete: a retry then finds
    no lead (404) and cannot take the lead off twice; a crash in between leaves the member looking busier."""
    assignee = lead.get("assigneeId")
    if isinstance(assignee, str) and is_open(lead.get("stage"), archived=bool(lead.get("archived"))):
        batch = clients.db().batch()
        counters.shift_open(batch, org_id, assignee, -1)
        batch.commit()
        queue.drain_for(org_id, assignee)


def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: (str(item.get("createdAt") or item.get("at") or ""), str(item["id"])))


def _with_children(snapshot: Any) -> dict[str, Any]:
    """A record with its own subcollections (a visit's check-ins, a message's statuses) nested by name."""
    item = records.document(snapshot)
    for collection in snapshot.reference.collections():
        item.setdefault(collection.id, _ordered([records.document(s) for s in collection.stream()]))
    return item


def _attachment(item: dict[str, Any]) -> dict[str, Any]:
    from privacy import storage

    path = item.get("objectPath")
    if isinstance(path, str) and path and item.get("status", "ready") == "ready":
        generation = item.get("objectGeneration")  # the approved file, never a later overwrite
        url, expires_at = storage.download_url(path, generation=int(generation) if generation is not None else None)
        item = item | {"downloadUrl": url, "downloadUrlExpiresAt": clock.rfc3339(expires_at)}
    return item


def export(*, org_id: str, lead_id: str, actor: str) -> dict[str, Any]:
    """The lead's full record as one machine-readable document (current values, consent, history)."""
    found = find(org_id, lead_id)
    lead = records.document(found.lead)
    subcollections = {
        name: _ordered([records.document(s) for s in snapshots])
        for name, snapshots in found.lead_subcollections.items()
    }
    contact = next(iter(subcollections.pop("private", [])), None)
    result: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exportedAt": clock.rfc3339(clock.now()),
        "orgId": org_id,
        "leadId": lead_id,
        "lead": lead,
        "contact": contact,
        "consent": {
            key: lead.get(key)
            for key in ("source", "purpose", "optIns", "doNotContact", "channelPartnerId", "createdAt", "createdBy")
        },
        "notes": subcollections.pop("notes", []),
        "activity": subcollections.pop("activity", []),
        "tasks": [],
        "visits": [],
        "calls": [],
        "messages": [],
        "attachments": [],
        "other": {f"leads/{name}": items for name, items in subcollections.items()},
    }
    for collection, group in sorted(found.records.items()):
        if collection in INTERNAL:
            continue
        items = _ordered([_with_children(s) for s in group.values() if s.reference.path != found.lead.reference.path])
        if collection == "attachments":
            result["attachments"] = [_attachment(item) for item in items]
        elif collection in EXPORT_KEYS:
            result[EXPORT_KEYS[collection]] = items
        elif items:
            result["other"][collection] = items
    named = records.people_named([result[key] for key in ("lead", "notes", "activity", "tasks", "visits", "calls")])
    named |= records.people_named([result["messages"], result["attachments"], result["other"]])
    result["people"] = records.people(org_id, named)
    audit.record(org_id, "privacy.lead.exported", actor=actor, target=lead_id)
    return result
