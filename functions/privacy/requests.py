"""The register of data-principal requests (DPDP Act: access, correction, erasure, portability, restriction,
grievance): who asked about whom, how it arrived, what was done and by when, with the evidence.

One document per request, `orgs/{orgId}/privacyRequests/{id}`, server-only (admins read it through the API).
Every step is a transaction that also appends the step to the organization's audit chain, so the register
and the trail never disagree. Fulfilling a request on a lead does the work itself (an export kept as a file,
an erasure with its report naming every store and provider reached, a restriction) and keeps the evidence.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from core import audit, clients, clock, pagination, tenancy, transactions
from core.caller import Caller
from core.errors import invalid, not_found, precondition
from core.ids import new_id
from core.models import valid_doc_id
from core.versioning import check
from privacy import settings as privacy_settings
from privacy.models import PrivacyRequestCreate, PrivacyRequestListQuery, PrivacyRequestUpdate

COLLECTION = "privacyRequests"
OPEN = ("received", "in-progress")
FINAL = ("done", "refused")
# What the system itself can carry out, per subject: the rest (correction, grievance) an admin does and closes.
FULFILLABLE = {"lead": ("access", "portability", "erasure", "restriction"), "member": ("access", "erasure")}
MOVES = {"received": ("in-progress", "done", "refused"), "in-progress": ("done", "refused")}


def collection(org_id: str) -> Any:
    """The organization's register."""
    return tenancy.org_ref(org_id).collection(COLLECTION)


def _step(status: str, at: datetime, by: str | None, note: str | None) -> dict[str, Any]:
    return {"status": status, "at": at, "by": by, "note": note}


def _subject_exists(org_id: str, kind: str, subject_id: str) -> bool:
    if not valid_doc_id(subject_id):
        return False
    if kind == "lead":
        return bool(tenancy.org_ref(org_id).collection("leads").document(subject_id).get().exists)
    return bool(tenancy.member_ref(org_id, subject_id).get().exists)


def record(*, org_id: str, data: PrivacyRequestCreate, by: str) -> dict[str, Any]:
    """Record a request (its due date from the organization's response period) and audit it."""
    from google.cloud import firestore

    if not _subject_exists(org_id, data.subject.type, data.subject.id):
        raise invalid("subject.id", f"no such {data.subject.type} in this organization")
    now = clock.now()
    received = data.received_at or now
    if received > now + timedelta(minutes=5):
        raise invalid("receivedAt", "must not be in the future")
    days = privacy_settings.load(org_id).response_days
    request_id = new_id("prq_")
    request = {
        "id": request_id,
        "orgId": org_id,
        "kind": data.kind,
        "subjectType": data.subject.type,
        "subjectId": data.subject.id,
        "receivedVia": data.received_via,
        "receivedAt": received,
        "details": data.details,
        "recordedBy": by,
        "status": "received",
        "dueAt": received + timedelta(days=days),
        "history": [_step("received", now, by, None)],
        "evidence": None,
        "refusalReason": None,
        "closedAt": None,
        "version": 1,
        "createdAt": now,
        "updatedAt": now,
    }
    ref = collection(org_id).document(request_id)

    @firestore.transactional
    def apply(transaction: Any) -> None:
        head = audit.read_head(transaction, org_id)
        transaction.create(ref, request)
        audit.append_in(
            transaction, org_id, head, "privacy.request.recorded", actor=by, target=request_id, kind=data.kind
        )

    transactions.run(apply)
    return request


def get(org_id: str, request_id: str) -> dict[str, Any]:
    """One request of the register, or 404."""
    if not valid_doc_id(request_id):
        raise not_found("Privacy request")
    snapshot = collection(org_id).document(request_id).get()
    if not snapshot.exists:
        raise not_found("Privacy request")
    return snapshot.to_dict() or {}


def listed(*, org_id: str, query: PrivacyRequestListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the register: newest first, or (overdue=true) the open requests past their due date, most
    overdue first; filters status, kind, subjectId."""
    ref: Any = collection(org_id)
    if query.overdue:
        ref = ref.where(filter=clients.where("status", "in", list(OPEN))).where(
            filter=clients.where("dueAt", "<", clock.now())
        )
    elif query.status:
        ref = ref.where(filter=clients.where("status", "==", query.status))
    if query.kind:
        ref = ref.where(filter=clients.where("kind", "==", query.kind))
    if query.subject_id:
        ref = ref.where(filter=clients.where("subjectId", "==", query.subject_id))
    order, descending = ("dueAt", False) if query.overdue else ("createdAt", True)
    snapshots, cursor = pagination.page(
        ref, order_field=order, limit=query.limit, cursor=query.cursor, descending=descending
    )
    return [s.to_dict() or {} for s in snapshots], cursor


def _move(
    org_id: str,
    request_id: str,
    status: str,
    *,
    by: str,
    note: str | None = None,
    expected: int | None = None,
    changes: dict[str, Any] | None = None,
    note_only: bool = False,
) -> dict[str, Any]:
    """Move a request to status (409 from a final one or for a move the register does not allow), in one
    transaction with its audit entry; note_only adds a step at the current status (an open request's note)."""
    from google.cloud import firestore

    ref = collection(org_id).document(request_id)
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            raise not_found("Privacy request")
        current = snapshot.to_dict() or {}
        version = check(current, expected)
        if status not in MOVES.get(str(current.get("status")), ()) and not note_only:
            raise precondition(f"A request that is {current.get('status')} cannot become {status}")
        head = audit.read_head(transaction, org_id)
        update = {
            "status": status,
            "history": [*current.get("history", []), _step(status, now, by, note)],
            "version": version + 1,
            "updatedAt": now,
            **(changes or {}),
        }
        if note_only and current.get("status") not in OPEN:
            raise precondition(f"A request that is {current.get('status')} takes no more notes")
        if status in FINAL and not note_only:
            update["closedAt"] = now
        transaction.update(ref, update)
        action = "privacy.request.noted" if note_only else f"privacy.request.{status}"
        audit.append_in(transaction, org_id, head, action, actor=by, target=request_id, kind=current.get("kind"))
        return current | update

    result: dict[str, Any] = transactions.run(apply)
    return result


def update(*, caller: Caller, request_id: str, data: PrivacyRequestUpdate, expected: int | None) -> dict[str, Any]:
    """An admin moves a request: in-progress, done (with a note of what was done), refused (with the reason)."""
    current = get(caller.org_id, request_id)
    if data.status is None:
        if not data.note:
            raise invalid("note", "give a status, a note, or both")
        status = str(current["status"])
        return _note(caller.org_id, request_id, status, by=caller.uid, note=data.note, expected=expected)
    changes: dict[str, Any] = {}
    if data.status == "refused":
        if not data.reason:
            raise invalid("reason", "a refusal needs its reason")
        changes["refusalReason"] = data.reason
    return _move(
        caller.org_id, request_id, data.status, by=caller.uid, note=data.note, expected=expected, changes=changes
    )


def _note(org_id: str, request_id: str, status: str, *, by: str, note: str, expected: int | None) -> dict[str, Any]:
    return _move(org_id, request_id, status, by=by, note=note, expected=expected, note_only=True)


def fulfil(*, caller: Caller, request_id: str, expected: int | None) -> dict[str, Any]:
    """Carry out a request the system can do itself and close it with its evidence: a lead's export kept as a
    file (access, portability), a lead's erasure with its report (erasure), a restriction (restriction), a
    member's own export or account deletion."""
    request = get(caller.org_id, request_id)
    check(request, expected)
    kind, subject_type, subject_id = str(request["kind"]), str(request["subjectType"]), str(request["subjectId"])
    if request.get("status") not in OPEN:
        raise precondition(f"A request that is {request.get('status')} cannot be fulfilled")
    if kind not in FULFILLABLE.get(subject_type, ()):
        raise precondition(f"A {kind} request on a {subject_type} is done by an admin: close it with a note")
    evidence = _carry_out(caller, request_id, kind, subject_type, subject_id)
    return _move(caller.org_id, request_id, "done", by=caller.uid, changes={"evidence": evidence})


def _carry_out(caller: Caller, request_id: str, kind: str, subject_type: str, subject_id: str) -> dict[str, Any]:
    from privacy import account, leads, restriction

    org_id = caller.org_id
    if subject_type == "lead" and kind in ("access", "portability"):
        document = leads.export(org_id=org_id, lead_id=subject_id, actor=caller.uid)
        return {"export": _keep_export(org_id, request_id, document)}
    if subject_type == "lead" and kind == "erasure":
        return {"erasure": leads.erase(org_id=org_id, lead_id=subject_id, actor=caller.uid)}
    if subject_type == "lead":
        return {"restriction": restriction.restrict(org_id=org_id, lead_id=subject_id, actor=caller.uid)}
    if kind == "access":
        document = account.export_member(org_id=org_id, uid=subject_id, actor=caller.uid)
        return {"export": _keep_export(org_id, request_id, document)}
    member = tenancy.member_ref(org_id, subject_id)
    if not (member.get().to_dict() or {}).get("deletionRequestedAt"):  # the register entry is the ask
        member.update({"deletionRequestedAt": clock.now(), "deletionPending": True})
    account.complete_deletion(caller=caller, uid=subject_id)
    return {"erasure": {"member": subject_id, "stores": ["members", "users", "auth", "devices", "notifications"]}}


EXPORT_MINUTES = 60 * 24 * 7  # a download link the admin can pass on within a week


def _keep_export(org_id: str, request_id: str, document: dict[str, Any]) -> dict[str, Any]:
    """Store an export as a JSON file in Cloud Storage (the evidence, and what the person receives)."""
    import hashlib

    from core import storage

    data = json.dumps(document, sort_keys=True, default=str).encode()
    path = f"orgs/{org_id}/privacy/requests/{request_id}/export.json"
    blob = storage.bucket().blob(path)
    blob.upload_from_string(data, content_type="application/json")
    return {"objectPath": path, "sizeBytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def export_link(*, caller: Caller, request_id: str) -> dict[str, Any]:
    """A short-lived link to the export a fulfilled access or portability request kept."""
    from privacy import storage

    request = get(caller.org_id, request_id)
    export = (request.get("evidence") or {}).get("export")
    if not export:
        raise precondition("This request kept no export")
    url, expires_at = storage.download_url(str(export["objectPath"]))
    return {"downloadUrl": url, "expiresAt": expires_at}


def due_soon(org_id: str, *, now: datetime, within: timedelta) -> list[dict[str, Any]]:
    """Open requests due before now + within (overdue ones included), soonest first (at most 100)."""
    query = (
        collection(org_id)
        .where(filter=clients.where("status", "in", list(OPEN)))
        .where(filter=clients.where("dueAt", "<", now + within))
        .order_by("dueAt")
        .limit(100)
    )
    return [s.to_dict() or {} for s in query.stream()]


REMIND_WITHIN = timedelta(days=3)
REMINDERS = "privacyReminders"  # {org}_{day}_{uid}: one reminder per admin per day, whatever reruns


def remind_due(now: datetime) -> int:
    """Every organization's admins get one push and one email a day listing open requests due within 3 days
    or overdue (ids, kinds and due dates only: no personal data); how many reminders went out."""
    from google.api_core.exceptions import AlreadyExists

    from core import mail, notify
    from core.org_settings import OrgSettings

    sent = 0
    db = clients.db()
    for org in db.collection("orgs").select([]).stream():
        due = due_soon(org.id, now=now, within=REMIND_WITHIN)
        if not due:
            continue
        zone = OrgSettings.of(tenancy.load_org(org.id) or {}).zone
        day = now.astimezone(zone).date().isoformat()
        overdue = sum(1 for request in due if request["dueAt"] < now)
        lines = [
            f"- {request['id']}: {request['kind']} about a {request['subjectType']}, due "
            f"{request['dueAt'].astimezone(zone):%d %b %Y}{' (overdue)' if request['dueAt'] < now else ''}"
            for request in due
        ]
        title = f"{len(due)} privacy request(s) due soon" + (f", {overdue} overdue" if overdue else "")
        admins = tenancy.org_ref(org.id).collection("members").where(filter=clients.where("role", "==", "admin"))
        for admin in admins.stream():
            member = admin.to_dict() or {}
            if not member.get("active"):
                continue
            try:
                db.collection(REMINDERS).document(f"{org.id}_{day}_{admin.id}").create({"orgId": org.id, "at": now})
            except AlreadyExists:
                continue
            notify.send(
                notify.Push(uid=admin.id, kind="privacy-requests-due", title=title, body="Open the privacy register."),
                dedupe_key=f"privacy-due:{org.id}:{day}:{admin.id}",
            )
            if member.get("email"):
                text = "Privacy requests waiting for an answer:\n\n" + "\n".join(lines)
                mail.mailer().send(mail.Email(to=str(member["email"]), subject=title, text=text))
            sent += 1
    return sent
