"""The one capture pipeline: every payload from every receiver (push, Google, Meta, the 99acres pull) goes
through `receive`.

1. The capture record `orgs/{orgId}/captures/{captureId}` is created first, holding the raw payload; its id is
   derived from the source and the provider's lead id (or a hash of the body), so a redelivery finds it and
   answers as the first delivery did.
2. The payload is mapped (the source's field map, or the fields a receiver mapped itself) and normalized, then
   a lead is created through `leads.service.create_lead(actor=SYSTEM)` with an id derived from the capture
   (a crash and a redelivery make the same lead, never a second one), routed round-robin as any lead.
3. A phone or email of an existing lead (409 `duplicateOf`, a racing delivery from another source included)
   appends an enquiry to that lead in one transaction with the capture record, exactly once per capture; the
   `enquired` history entry (id from the capture) and the owner's push (dedupe key from the capture) follow.
4. No valid phone and no email: outcome `rejected` with the reason, kept for an admin's retry. An email alone
   is enough: the lead is made without a phone (deduplicated by its email key, a repeat is an enquiry).

A capture whose processing crashed stays `pending`; the next delivery or an admin's retry completes it.
Which team a capture belongs to: the team of the lead it created or enquired on, once routed (`teamId`);
rejected and pending captures have none, so only admins see them.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from core import clients, clock, notify, pagination, tenancy, transactions
from core.caller import SYSTEM, Caller
from core.errors import ApiError, forbidden, not_found, precondition
from core.ids import sha256_hex
from core.org_settings import OrgSettings
from leads import history, store
from leads.capture import fieldmap, sources
from leads.capture.models import Capture, CaptureListQuery

log = logging.getLogger("justo.capture")
MAX_RAW_CHARS = 300_000
PENDING, CREATED, ENQUIRED, REJECTED = "pending", "created", "enquired-again", "rejected"


def collection(org_id: str) -> Any:
    """The organization's captures."""
    return tenancy.org_ref(org_id).collection("captures")


def canonical(payload: Any) -> str:
    """The payload as stable JSON text: how it is stored and hashed."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def capture_id_of(source_id: str, provider_key: str | None, raw: str) -> str:
    """The capture's id: from the provider's lead id when there is one, else from the body."""
    if provider_key:
        return sha256_hex("capture", source_id, "id", provider_key)[:32]
    return sha256_hex("capture", source_id, "body", raw)[:32]


def lead_id_of(capture_id: str) -> str:
    """The id of the lead a capture creates: the same on every attempt, so a retry cannot make a second one."""
    return "l_" + sha256_hex("capture-lead", capture_id)[:20]


def receive(
    org_id: str,
    source: Mapping[str, Any],
    *,
    provider_key: str | None,
    payload: Mapping[str, Any],
    fields: Mapping[str, str] | None = None,
    campaign: Mapping[str, str] | None = None,
    test: bool = False,
) -> Capture:
    """Capture one payload for a source (its document with its `id`) and carry it to its outcome.

    `fields`: lead fields already mapped by a receiver that maps itself (Meta's field_data); `campaign`:
    {id, name, adId, formId} the provider names; `test`: a provider's test lead (tagged `test`)."""
    from google.api_core.exceptions import AlreadyExists

    source_id = str(source["id"])
    raw = canonical(payload)
    if len(raw) > MAX_RAW_CHARS:
        raise ApiError("PAYLOAD_TOO_LARGE", "The payload is too large to capture")
    if provider_key is None and fields is None:
        provider_key = fieldmap.map_payload(payload, _field_map(source)).get("providerId")
    capture_id = capture_id_of(source_id, provider_key, raw)
    ref = collection(org_id).document(capture_id)
    now = clock.now()
    document = {
        "orgId": org_id,
        "sourceId": source_id,
        "source": source.get("source"),
        "kind": source.get("kind"),
        "providerId": provider_key,
        "raw": raw,
        "givenFields": dict(fields) if fields is not None else None,
        "campaign": {k: str(v) for k, v in (campaign or {}).items() if v not in (None, "")},
        "test": test,
        "receivedAt": now,
        "outcome": PENDING,
        "reason": None,
        "leadId": None,
        "teamId": None,
        "fields": {},
        "attempts": 0,
        "updatedAt": now,
    }
    try:
        ref.create(document)
    except AlreadyExists:
        stored = ref.get().to_dict() or {}
        if stored.get("outcome") != PENDING:
            follow_up(org_id, capture_id, stored)  # completes a push or entry a crash may have cut off
            log.info("capture redelivered capture=%s outcome=%s", capture_id, stored.get("outcome"))
            return shown(capture_id, stored, masked=False)
        document = stored
    return process(org_id, capture_id, source, capture=document)


def _field_map(source: Mapping[str, Any]) -> dict[str, str]:
    return dict(source.get("fieldMap") or fieldmap.default_map(str(source.get("kind") or "generic")))


def mapped_fields(capture: Mapping[str, Any], source: Mapping[str, Any]) -> dict[str, str]:
    """The capture's lead fields: as its receiver mapped them, else by the source's field map as it is now."""
    if capture.get("givenFields") is not None:
        return dict(capture["givenFields"])
    payload = json.loads(str(capture.get("raw") or "{}"))
    if not isinstance(payload, Mapping):
        return {}
    if source.get("kind") == "google":
        return fieldmap.google_fields(payload.get("user_column_data"))
    return fieldmap.map_payload(payload, _field_map(source))


def lead_body(
    normalized: fieldmap.Normalized, source: Mapping[str, Any], conf: OrgSettings, *, test: bool
) -> dict[str, Any]:
    """The LeadCreate body of a capture's fields (configurations the organization does not offer dropped)."""
    body: dict[str, Any] = {"name": normalized.name, "emails": list(normalized.emails), **normalized.lead}
    for field, phone in (("primaryPhone", normalized.primary), ("alternatePhone", normalized.alternate)):
        if phone is not None:
            body[field] = {"countryCode": phone.country_code, "number": phone.national}
    offered = {item.lower(): item for item in conf.configurations}
    body["configurations"] = [offered[c.lower()] for c in body.get("configurations", []) if c.lower() in offered]
    body["source"] = source.get("source")
    if source.get("projectId"):
        body["projectId"] = source["projectId"]
    if test:
        body["tags"] = ["test"]
    body["purpose"] = "Enquiry through " + str(source.get("name") or "lead capture")[:400]
    return body


def process(
    org_id: str, capture_id: str, source: Mapping[str, Any], *, capture: Mapping[str, Any] | None = None
) -> Capture:
    """Steps 2-4 on the stored capture (its document when the caller has just read or written it): map,
    normalize, then create a lead, add an enquiry, or reject."""
    from pydantic import ValidationError

    from leads import service
    from leads.models import CapturedLeadCreate

    if capture is None:
        capture = collection(org_id).document(capture_id).get().to_dict() or {}
    conf = OrgSettings.of(tenancy.load_org(org_id))
    mapped = mapped_fields(capture, source)
    normalized = fieldmap.normalize(mapped, default_country_code=conf.default_country_code)
    campaign = {**normalized.campaign, **(capture.get("campaign") or {})}
    reason = fieldmap.rejection(normalized)
    if reason is not None:
        return finish(org_id, capture, capture_id, outcome=REJECTED, reason=reason, fields=mapped)
    try:
        data = CapturedLeadCreate.model_validate(lead_body(normalized, source, conf, test=bool(capture.get("test"))))
    except ValidationError as error:
        where = ", ".join(".".join(str(p) for p in e["loc"]) for e in error.errors())
        return finish(org_id, capture, capture_id, outcome=REJECTED, reason=f"invalid fields: {where}", fields=mapped)
    lead_id = lead_id_of(capture_id)
    attribution = {"sourceId": source["id"], "campaign": campaign or None, "firstSource": source.get("source")}
    try:
        lead = service.create_lead(org_id=org_id, actor=SYSTEM, data=data, lead_id=lead_id, attribution=attribution)
    except ApiError as error:
        duplicate = error.extra.get("duplicateOf") if error.code == "ALREADY_EXISTS" else None
        if duplicate == lead_id:  # this capture's own lead, made by an attempt that crashed before finishing
            existing = store.get(org_id, lead_id)
            if existing is None:
                raise
            lead = existing
        elif duplicate:
            return enquire(org_id, capture, capture_id, str(duplicate), source, campaign, mapped)
        elif error.code == "INVALID_ARGUMENT":
            where = ", ".join(f"{k}: {v}" for k, v in (error.fields or {}).items())
            return finish(
                org_id, capture, capture_id, outcome=REJECTED, reason=f"{error.message} ({where})", fields=mapped
            )
        else:
            raise
    _add_note(org_id, lead, capture_id, normalized.note, capture)
    return finish(org_id, capture, capture_id, outcome=CREATED, lead_id=lead.id, team_id=lead.team_id, fields=mapped)


def _add_note(
    org_id: str, lead: store.LeadRecord, capture_id: str, note: str | None, capture: Mapping[str, Any]
) -> None:
    """The buyer's message as a note on the lead, once per capture."""
    from google.api_core.exceptions import AlreadyExists

    if not note:
        return
    # A number the buyer typed in the message is still a number agents may not see. The lead was just written
    # with the organization's flag read fresh: its phones say whether it masks (read the flag only without any).
    masked = lead.holds_masked if (lead.holds_masked or lead.holds_raw) else store.masks_now(org_id)
    if masked:
        note = str(fieldmap.mask_numbers(note))
    with contextlib.suppress(AlreadyExists):
        store.child(org_id, lead.id, "notes").document("capture-" + capture_id).create(
            {
                "leadId": lead.id,
                "text": note[:5000],
                "authorId": None,
                "assigneeId": lead.assignee_id,
                "teamId": lead.team_id,
                "createdAt": capture.get("receivedAt") or clock.now(),
                "captureId": capture_id,
            }
        )


def finish(
    org_id: str,
    capture: Mapping[str, Any],
    capture_id: str,
    *,
    outcome: str,
    fields: Mapping[str, str],
    reason: str | None = None,
    lead_id: str | None = None,
    team_id: str | None = None,
) -> Capture:
    """Record a capture's outcome (on the stored capture, `capture`, as this attempt read it)."""
    from google.cloud import firestore

    ref = collection(org_id).document(capture_id)
    updates: dict[str, Any] = {
        "outcome": outcome,
        "reason": reason,
        "leadId": lead_id,
        "teamId": team_id,
        "fields": dict(fields),
        "attempts": firestore.Increment(1),
        "updatedAt": clock.now(),
    }
    ref.update(updates)
    log.info("capture processed capture=%s outcome=%s", capture_id, outcome)
    # Shown from what was written, not read back: the stored fields other than these are never rewritten.
    attempts = int(capture.get("attempts") or 0) + 1
    return shown(capture_id, {**capture, **updates, "attempts": attempts}, masked=False)


def enquire(
    org_id: str,
    capture: Mapping[str, Any],
    capture_id: str,
    lead_id: str,
    source: Mapping[str, Any],
    campaign: Mapping[str, str],
    fields: Mapping[str, str],
) -> Capture:
    """The buyer is known: one enquiry on the lead, in one transaction with the capture's outcome, then its
    follow-up. Exactly once per capture: the lead's entries name their capture, so the transaction reads only the
    lead (a second attempt finds its entry there and rewrites nothing on the lead)."""
    from google.cloud import firestore

    ref = collection(org_id).document(capture_id)
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        lead = store.get(org_id, lead_id, transaction=transaction)
        if lead is None:
            raise ApiError("UNAVAILABLE", "The matching lead changed; retry", headers={"Retry-After": "1"})
        done = any(entry.get("captureId") == capture_id for entry in lead.enquiries)
        if lead.archived and not done:
            raise ApiError("UNAVAILABLE", "The matching lead changed; retry", headers={"Retry-After": "1"})
        updates = {
            "outcome": ENQUIRED,
            "reason": None,
            "leadId": lead_id,
            "teamId": lead.team_id,
            "assigneeId": lead.assignee_id,
            "leadName": lead.name,
            "fields": dict(fields),
            "attempts": firestore.Increment(1),
            "updatedAt": now,
        }
        transaction.update(ref, updates)
        if done:
            return {**capture, **updates}
        entry = {
            "captureId": capture_id,
            "sourceId": source["id"],
            "source": source.get("source"),
            "campaign": dict(campaign) or None,
            "at": capture.get("receivedAt") or now,
        }
        transaction.update(
            store.ref(org_id, lead_id),
            {
                "enquiries": firestore.ArrayUnion([entry]),
                "lastEnquiredAt": entry["at"],
                "version": lead.version + 1,
                "updatedAt": now,
                "updatedBy": SYSTEM.uid,
            },
        )
        return {**capture, **updates}

    stored = {**transactions.run(apply), "attempts": int(capture.get("attempts") or 0) + 1}
    follow_up(org_id, capture_id, stored)
    log.info("capture processed capture=%s outcome=%s", capture_id, stored.get("outcome"))
    return shown(capture_id, stored, masked=False)


def follow_up(org_id: str, capture_id: str, capture: Mapping[str, Any]) -> None:
    """After an enquiry: the lead's `enquired` history entry and its owner's push, each once per capture."""
    if capture.get("outcome") != ENQUIRED or not capture.get("leadId"):
        return
    lead_id = str(capture["leadId"])
    at = capture.get("updatedAt") or clock.now()
    history.record(
        org_id=org_id,
        lead_id=lead_id,
        event_id=capture_id,
        type="enquired",
        actor_id=None,
        at=at,
        summary=f"Enquired again ({capture.get('source') or 'lead capture'})",
        ref={"kind": "capture", "id": capture_id},
    )
    owner = capture.get("assigneeId")
    if owner:
        name = str(capture.get("leadName") or "Your lead")
        push = notify.Push(
            str(owner),
            "lead-enquired",
            "Your lead enquired again",
            f"{name} enquired again through {capture.get('source') or 'lead capture'}",
            {"orgId": org_id, "leadId": lead_id, "captureId": capture_id},
            (lead_id,),
        )
        notify.send(push, dedupe_key=f"capture:{capture_id}")


# ---- the admin's view -----------------------------------------------------------------------------------------


def shown(capture_id: str, capture: Mapping[str, Any], *, masked: bool) -> Capture:
    """A capture as the API shows it; phone numbers in `raw` and `fields` hidden when masked."""
    try:
        raw: Any = json.loads(str(capture.get("raw") or "null"))
    except ValueError:
        raw = None
    fields = dict(capture.get("fields") or {})
    if masked:
        raw, fields = fieldmap.mask_numbers(raw), fieldmap.mask_numbers(fields)
    return Capture.model_validate({**capture, "id": capture_id, "raw": raw, "fields": fields})


def list_captures(*, caller: Caller, query: CaptureListQuery) -> tuple[list[Capture], str | None]:
    """A page of captures, newest first: admins all, managers their team's (numbers masked where the org masks)."""
    base: Any = collection(caller.org_id)
    if caller.role == "manager":
        if not caller.team_id:
            return [], None
        base = base.where(filter=clients.where("teamId", "==", caller.team_id))
    elif not caller.is_admin:
        raise forbidden("Only admins and managers list captures")
    if query.source_id is not None:
        base = base.where(filter=clients.where("sourceId", "==", query.source_id))
    if query.outcome is not None:
        base = base.where(filter=clients.where("outcome", "==", query.outcome))
    snapshots, cursor = pagination.page(base, order_field="receivedAt", limit=query.limit, cursor=query.cursor)
    masked = not caller.is_admin and store.masks_now(caller.org_id)
    return [shown(s.id, s.to_dict() or {}, masked=masked) for s in snapshots], cursor


def retry(*, caller: Caller, capture_id: str) -> Capture:
    """Replay a rejected (or stuck pending) capture with its source's field map as it is now (admin)."""
    if not caller.is_admin:
        raise forbidden("Only admins retry captures")
    snapshot = collection(caller.org_id).document(capture_id).get()
    if not snapshot.exists:
        raise not_found("Capture")
    capture = snapshot.to_dict() or {}
    if capture.get("outcome") not in (REJECTED, PENDING):
        raise precondition("Only rejected or pending captures are retried")
    source = sources.ref(caller.org_id, str(capture.get("sourceId"))).get()
    if not source.exists:
        raise precondition("The capture's source no longer exists")
    return process(caller.org_id, capture_id, {"id": source.id, **(source.to_dict() or {})})
