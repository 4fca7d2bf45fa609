"""Leads: create, read, change, archive, restore, assign, list, notes, activity and stats.

Invariants kept here (every path goes through one transaction per lead):
- `orgs/{orgId}/leadKeys/{key}` exists exactly for each phone (E.164) and email of every unarchived lead,
  and names it (`leadId`): a second lead with any of them is refused with 409 and `duplicateOf`.
- `private/contact` always holds the raw phones and emails; the lead document holds masked phones (and
  full-number search tokens only) where the organization masks numbers, decided inside each write's
  transaction from a fresh read of the flag (`leads.masking`). Agents and rms of such an organization
  never get a raw number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import clients, clock, pagination, tenancy
from core.caller import Caller
from core.errors import ApiError, forbidden, invalid, not_found, precondition
from core.ids import new_id, sha256_hex
from core.org_settings import OrgSettings
from core.versioning import check
from core.visibility import BOOKED, can_reach_member
from leads import masking, phones, rotation, search
from leads.access import get_visible_lead, lead_ref
from leads.models import AssignBody, BulkAssignBody, LeadCreate, LeadListQuery, LeadUpdate, NoteCreate

RESTORE_DAYS = 30
CONTACT_FIELDS = ("primaryPhone", "alternatePhone", "emails")
CONTENDED_ATTEMPTS = 20


# ---- references and settings ----------------------------------------------------------------------


def leads_collection(org_id: str) -> Any:
    """The organization's leads collection."""
    return tenancy.org_ref(org_id).collection("leads")


def private_ref(org_id: str, lead_id: str) -> Any:
    """The document with a lead's raw phones and emails."""
    return lead_ref(org_id, lead_id).collection("private").document("contact")


def key_ref(org_id: str, key: str) -> Any:
    """A unique-contact key document."""
    return tenancy.org_ref(org_id).collection("leadKeys").document(key)


def org_settings(org: dict[str, Any]) -> dict[str, Any]:
    """The organization's settings over the defaults."""
    return OrgSettings.of(org).as_document()


def masks_phones(org: dict[str, Any]) -> bool:
    """True when the organization (as read) hides lead phone numbers from agents and rms."""
    return masking.org_masks(org)


def sees_raw_contact(caller: Caller | None) -> bool:
    """Admins, managers and the system see raw numbers; agents and rms only where the org does not mask."""
    return masking.sees_raw(caller)


def _load_org(org_id: str, actor: Caller | None) -> dict[str, Any]:
    org = actor.org if actor is not None else tenancy.load_org(org_id)
    if not org:
        raise not_found("Organization")
    return org


# ---- contact, keys and validation ------------------------------------------------------------------


def contact_key(kind: str, value: str) -> str:
    """The key document id of one phone (E.164) or email (lower case)."""
    return sha256_hex(f"{kind}:{value}")


def contact_keys(contact: dict[str, Any]) -> dict[str, str]:
    """key -> the field it comes from, for a raw contact {primaryPhone, alternatePhone, emails}."""
    keys: dict[str, str] = {}
    for field in ("primaryPhone", "alternatePhone"):
        phone = contact.get(field) or {}
        if phone.get("e164"):
            keys.setdefault(contact_key("phone", phone["e164"]), field)
    for index, email in enumerate(contact.get("emails") or []):
        keys.setdefault(contact_key("email", str(email).lower()), f"emails.{index}")
    return keys


def duplicate_error(lead_id: str, field: str) -> ApiError:
    """409 naming the existing lead."""
    return ApiError(
        "ALREADY_EXISTS",
        "A lead with this phone number or email exists",
        fields={field: "already belongs to another lead"},
        duplicateOf=lead_id,
    )


def parse_phone(value: dict[str, Any] | None, conf: dict[str, Any], field: str) -> phones.ParsedPhone | None:
    """A phone given as {countryCode, number}, parsed; None when absent."""
    if not value:
        return None
    return phones.parse(
        str(value["number"]),
        value.get("countryCode"),
        default_country_code=str(conf.get("defaultCountryCode") or phones.DEFAULT_COUNTRY_CODE),
        field=field,
    )


def _raw_contact(
    primary: phones.ParsedPhone, alternate: phones.ParsedPhone | None, emails: list[str]
) -> dict[str, Any]:
    if alternate is not None and alternate.e164 == primary.e164:
        raise invalid("alternatePhone.number", "the same as primaryPhone")
    unique = list(dict.fromkeys(email.lower() for email in emails))
    return {"primaryPhone": primary.raw(), "alternatePhone": alternate.raw() if alternate else None, "emails": unique}


def _parsed(raw: dict[str, Any] | None) -> phones.ParsedPhone | None:
    if not raw or not raw.get("e164"):
        return None
    return phones.ParsedPhone(str(raw["countryCode"]), str(raw["number"]), str(raw["e164"]))


def contact_view(name: str, contact: dict[str, Any], *, masked: bool) -> dict[str, Any]:
    """The lead document's phones, emails and search tokens from its raw contact (masked where the org masks)."""
    return {**masking.lead_view(name, contact, masked=masked), "emails": list(contact.get("emails") or [])}


def check_choices(fields: dict[str, Any], conf: dict[str, Any]) -> None:
    """400 when stage, source or configurations are not among the organization's settings."""
    if fields.get("stage") is not None and fields["stage"] not in conf["stages"]:
        raise invalid("stage", "not one of the organization's stages: " + ", ".join(conf["stages"]))
    if fields.get("source") is not None and fields["source"] not in conf["sources"]:
        raise invalid("source", "not one of the organization's sources")
    for index, item in enumerate(fields.get("configurations") or []):
        if item not in conf["configurations"]:
            raise invalid(f"configurations.{index}", "not one of the organization's configurations")
    budget = fields.get("budget") or {}
    if budget.get("min") is not None and budget.get("max") is not None and budget["min"] > budget["max"]:
        raise invalid("budget.max", "must be at least budget.min")


def check_project(org_id: str, project_id: str | None) -> None:
    """400 when the project does not exist in the organization or is no longer offered."""
    if project_id is None:
        return
    snapshot = tenancy.org_ref(org_id).collection("projects").document(project_id).get()
    if not snapshot.exists:
        raise invalid("projectId", "no such project")
    if (snapshot.to_dict() or {}).get("active") is False:
        raise invalid("projectId", "this project is no longer offered")


def opt_ins(
    channels: list[str], existing: list[dict[str, Any]], *, by: str | None, at: datetime
) -> list[dict[str, Any]]:
    """The opt-in records for channels: kept as they were where already given, new ones stamped now."""
    known = {entry.get("channel"): entry for entry in existing}
    return [known.get(channel) or {"channel": channel, "at": at, "by": by} for channel in dict.fromkeys(channels)]


def member_for_assignment(transaction: Any, org_id: str, actor: Caller | None, uid: str) -> dict[str, Any]:
    """The member who will own the work: active, and reachable by the actor (any active one for the system)."""
    snapshot = tenancy.member_ref(org_id, uid).get(transaction=transaction)
    member = snapshot.to_dict() if snapshot.exists else None
    if not member or not member.get("active"):
        raise invalid("assigneeId", "not an active member of this organization")
    if actor is not None and not can_reach_member(actor, member):
        raise forbidden("You may not assign work to this member")
    return member


def read_all(reader: Any, refs: list[Any]) -> list[Any]:
    """Snapshots of refs through a transaction or client (none for no refs: the API refuses an empty read)."""
    return list(reader.get_all(refs)) if refs else []


# ---- presenting --------------------------------------------------------------------------------------


def present(
    lead: dict[str, Any],
    caller: Caller | None,
    *,
    contact: dict[str, Any] | None = None,
    org_masks: bool | None = None,
) -> dict[str, Any]:
    """The lead as this caller may see it: masked phones for agents and rms of a masking organization
    (`org_masks` when the caller read the flag fresh, else its instance's copy), raw ones (from `contact`,
    when given) for the others. A stored masked phone stays masked for agents whatever the flag says."""
    out = dict(lead)
    masks = masking.hidden_from(caller) if org_masks is None else org_masks and not sees_raw_contact(caller)
    if masks:
        for field in masking.PHONE_FIELDS:
            if out.get(field):
                out[field] = masking.mask_phone(out[field])
    elif contact is not None and sees_raw_contact(caller):
        out.update(masking.phone_fields(contact, masked=False))
    return out


def contact_for_reply(org_id: str, lead: dict[str, Any], caller: Caller | None) -> dict[str, Any] | None:
    """The raw contact a reply to this caller needs: only for those who see raw numbers, and only when the
    stored document is masked (one read)."""
    if not sees_raw_contact(caller) or not masking.holds_masked(lead):
        return None
    return raw_contact(org_id, str(lead["id"]))


def raw_contact(org_id: str, lead_id: str) -> dict[str, Any] | None:
    """The lead's raw phones and emails (for sending messages and calls; never return it to agents of a
    masking organization)."""
    snapshot = private_ref(org_id, lead_id).get()
    return snapshot.to_dict() if snapshot.exists else None


# ---- create ------------------------------------------------------------------------------------------


def new_lead_document(
    *, org_id: str, actor: Caller | None, data: LeadCreate, org: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate a create and build (lead document without assignee, raw contact); 400 naming the field."""
    conf = org_settings(org)
    fields = data.model_dump(by_alias=True, mode="python")
    fields["stage"] = fields.get("stage") or conf["stages"][0]
    if not fields.get("source"):
        fields["source"] = "other" if "other" in conf["sources"] else None
    check_choices(fields, conf)
    primary = parse_phone(fields["primaryPhone"], conf, "primaryPhone")
    assert primary is not None
    alternate = parse_phone(fields.get("alternatePhone"), conf, "alternatePhone")
    contact = _raw_contact(primary, alternate, [str(email) for email in data.emails])
    by = actor.uid if actor else None
    lead = {
        "orgId": org_id,
        "salutation": fields.get("salutation"),
        "name": data.name,
        **contact_view(data.name, contact, masked=masks_phones(org)),
        "location": fields.get("location"),
        "budget": fields.get("budget"),
        "configurations": list(dict.fromkeys(fields.get("configurations") or [])),
        "source": fields["source"],
        "stage": fields["stage"],
        "projectId": fields.get("projectId"),
        "assigneeId": None,
        "teamId": None,
        "tags": list(dict.fromkeys(fields.get("tags") or [])),
        "doNotContact": list(dict.fromkeys(fields.get("doNotContact") or [])),
        "optIns": opt_ins(list(fields.get("optIns") or []), [], by=by, at=now),
        "purpose": fields.get("purpose"),
        "nextFollowUpAt": fields.get("nextFollowUpAt"),
        "channelPartnerId": fields.get("channelPartnerId"),
        "archived": False,
        "archivedAt": None,
        "createdAt": now,
        "createdBy": by,
        "updatedAt": now,
        "updatedBy": by,
        "version": 1,
    }
    return lead, contact


def assignment_plan(actor: Caller | None, requested: str | None) -> tuple[str | None, str | None]:
    """(explicit assignee, rotation team) for a create: agents and rms get their own leads; admins,
    managers and the system without an assignee rotate (a manager within its team)."""
    if actor is not None and actor.role in {"agent", "rm"}:
        if requested not in (None, actor.uid):
            raise forbidden("You may create leads only for yourself")
        return actor.uid, None
    if requested:
        return requested, None
    return None, actor.team_id if actor is not None and actor.role == "manager" else None


def create_lead(*, org_id: str, actor: Caller | None, data: LeadCreate, lead_id: str | None = None) -> dict[str, Any]:
    """Create a lead (actor None: a system-created lead, e.g. an inbound WhatsApp from an unknown number).

    One transaction claims the contact keys (409 `duplicateOf` when any is taken), picks the assignee
    (round-robin to the next active agent when none is given) and writes the lead and its private contact.
    """
    from google.cloud import firestore

    if actor is not None:
        actor.require("leads.create")
    org = _load_org(org_id, actor)
    now = clock.now()
    lead, contact = new_lead_document(org_id=org_id, actor=actor, data=data, org=org, now=now)
    check_project(org_id, lead["projectId"])
    assignee_id, rotation_team = assignment_plan(actor, data.assignee_id)
    lead_id = lead_id or new_id("l_")
    keys = contact_keys(contact)
    db = clients.db()
    # The flag is read fresh, outside the transaction: every rotating create of the organization would
    # otherwise lock the organization's document too. A flip between this read and the commit is caught by
    # leadmaskguard (this write triggers it and it reads the flag then), as any flip during a write is.
    masked = masking.masks_now(org_id)

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        for snapshot in read_all(transaction, [key_ref(org_id, key) for key in keys]):
            if snapshot.exists:
                raise duplicate_error(str(snapshot.get("leadId")), keys[snapshot.id])
        move_rotation = None
        if assignee_id is not None:
            member: dict[str, Any] | None = member_for_assignment(transaction, org_id, actor, assignee_id)
        else:
            chosen, move_rotation = rotation.pick(transaction, org_id, rotation_team, 1)
            member = chosen[0] if chosen else None
            if member is None and actor is not None:
                member = member_for_assignment(transaction, org_id, actor, actor.uid)
        stored = {
            **lead,
            **masking.lead_view(data.name, contact, masked=masked),
            "assigneeId": member["uid"] if member else None,
            "teamId": member.get("teamId") if member else None,
        }
        if move_rotation is not None:
            move_rotation()
        transaction.create(lead_ref(org_id, lead_id), stored)
        transaction.create(private_ref(org_id, lead_id), {**contact, "leadId": lead_id, "updatedAt": now})
        for key, field in keys.items():
            transaction.create(key_ref(org_id, key), {"leadId": lead_id, "field": field, "createdAt": now})
        return stored

    stored = run_contended(apply, db)
    return {"id": lead_id, **stored}


def run_contended(apply: Any, db: Any) -> Any:
    """Run a transactional function that meets contention (the rotation document is shared by every
    rotating create of an organization or team): more attempts, and a 503 to retry when all fail."""
    try:
        return apply(db.transaction(max_attempts=CONTENDED_ATTEMPTS))
    except ValueError as error:
        if "Failed to commit transaction" not in str(error):
            raise
        raise ApiError("UNAVAILABLE", "Too many concurrent changes; retry", headers={"Retry-After": "1"}) from error


# ---- read, update, archive, restore, assign ---------------------------------------------------------------


def get_lead(*, caller: Caller, lead_id: str) -> dict[str, Any]:
    """One visible lead; admins and managers of a masking organization get the raw numbers."""
    lead = get_visible_lead(caller, lead_id)
    return present(lead, caller, contact=contact_for_reply(caller.org_id, lead, caller))


def update_lead(*, caller: Caller, lead_id: str, data: LeadUpdate, if_match: int | None) -> dict[str, Any]:
    """Change a visible lead; contact changes move its unique keys in the same transaction."""
    from google.cloud import firestore

    caller.require("leads.update")
    changes = data.model_dump(exclude_unset=True, by_alias=True, mode="python")
    for key in ("name", "primaryPhone", "stage", "emails", "configurations", "tags", "doNotContact", "optIns"):
        if key in changes and changes[key] is None:
            raise invalid(key, "must not be null")
    conf = org_settings(caller.org)
    check_choices(changes, conf)
    check_project(caller.org_id, changes.get("projectId"))
    new_primary = parse_phone(changes.get("primaryPhone"), conf, "primaryPhone")
    new_alternate = parse_phone(changes.get("alternatePhone"), conf, "alternatePhone")
    touches_contact = any(field in changes for field in CONTACT_FIELDS)
    now = clock.now()
    db = clients.db()
    ref = lead_ref(caller.org_id, lead_id)

    @firestore.transactional
    def apply(transaction: Any) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
        lead = get_visible_lead(caller, lead_id, transaction=transaction)
        version = check(lead, if_match)
        masked = masking.masks_now(caller.org_id, transaction=transaction)
        updates: dict[str, Any] = {k: v for k, v in changes.items() if k not in (*CONTACT_FIELDS, "optIns")}
        if "optIns" in changes:
            updates["optIns"] = opt_ins(changes["optIns"], lead.get("optIns") or [], by=caller.uid, at=now)
        for key in ("configurations", "tags", "doNotContact"):
            if key in updates:
                updates[key] = list(dict.fromkeys(updates[key]))
        contact = None
        if touches_contact or "name" in changes:
            snapshot = private_ref(caller.org_id, lead_id).get(transaction=transaction)
            old = snapshot.to_dict() or {}
            primary = new_primary or _parsed(old.get("primaryPhone"))
            if primary is None:
                raise precondition("The lead has no stored contact; recreate it")
            alternate = new_alternate if "alternatePhone" in changes else _parsed(old.get("alternatePhone"))
            emails = [str(e) for e in changes["emails"]] if "emails" in changes else list(old.get("emails") or [])
            contact = _raw_contact(primary, alternate, emails)
            old_keys, new_keys = contact_keys(old), contact_keys(contact)
            added = [key for key in new_keys if key not in old_keys]
            for found in read_all(transaction, [key_ref(caller.org_id, key) for key in added]):
                if found.exists and found.get("leadId") != lead_id:
                    raise duplicate_error(str(found.get("leadId")), new_keys[found.id])
            for key in old_keys:
                if key not in new_keys:
                    transaction.delete(key_ref(caller.org_id, key))
            for key in added:
                transaction.set(
                    key_ref(caller.org_id, key), {"leadId": lead_id, "field": new_keys[key], "createdAt": now}
                )
            transaction.set(private_ref(caller.org_id, lead_id), {**contact, "leadId": lead_id, "updatedAt": now})
            updates.update(contact_view(str(changes.get("name") or lead["name"]), contact, masked=masked))
        else:
            # A stage or team change can show the lead to someone new (an rm once booked): never with raw numbers.
            updates.update(masking.conform(lead, masked=masked))
        updates.update(version=version + 1, updatedAt=now, updatedBy=caller.uid)
        transaction.update(ref, updates)
        lead.update(updates)
        return lead, contact, masked

    lead, contact, masked = apply(db.transaction())
    if contact is None:
        contact = contact_for_reply(caller.org_id, lead, caller)
    return present(lead, caller, contact=contact, org_masks=masked)


def archive_lead(*, caller: Caller, lead_id: str, if_match: int | None) -> None:
    """Delete = archive: hidden from lists, its contact keys released, restorable by an admin for 30 days."""
    from google.cloud import firestore

    caller.require("leads.delete")
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> None:
        lead = get_visible_lead(caller, lead_id, transaction=transaction)
        version = check(lead, if_match)
        contact = private_ref(caller.org_id, lead_id).get(transaction=transaction).to_dict() or {}
        keys = list(contact_keys(contact))
        for snapshot in read_all(transaction, [key_ref(caller.org_id, key) for key in keys]):
            if snapshot.exists and snapshot.get("leadId") == lead_id:
                transaction.delete(snapshot.reference)
        transaction.update(
            lead_ref(caller.org_id, lead_id),
            {"archived": True, "archivedAt": now, "version": version + 1, "updatedAt": now, "updatedBy": caller.uid},
        )

    apply(clients.db().transaction())


def restore_lead(*, caller: Caller, lead_id: str) -> dict[str, Any]:
    """Bring an archived lead back (admin, within 30 days); 409 `duplicateOf` when its contact was reused."""
    from google.cloud import firestore

    if not caller.is_admin:
        raise forbidden("Only admins restore leads")
    now = clock.now()
    ref = lead_ref(caller.org_id, lead_id)

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            raise not_found("Lead")
        lead = {"id": lead_id, **(snapshot.to_dict() or {})}
        if not lead.get("archived") or lead.get("mergedInto"):
            raise precondition("This lead is not archived")
        contact = private_ref(caller.org_id, lead_id).get(transaction=transaction).to_dict() or {}
        keys = contact_keys(contact)
        masked = masking.masks_now(caller.org_id, transaction=transaction)
        for found in read_all(transaction, [key_ref(caller.org_id, key) for key in keys]):
            if found.exists and found.get("leadId") != lead_id:
                raise duplicate_error(str(found.get("leadId")), keys[found.id])
        for key, field in keys.items():
            transaction.set(key_ref(caller.org_id, key), {"leadId": lead_id, "field": field, "createdAt": now})
        updates = {
            **masking.conform(lead, masked=masked),
            "archived": False,
            "archivedAt": None,
            "version": int(lead.get("version", 1)) + 1,
            "updatedAt": now,
            "updatedBy": caller.uid,
        }
        transaction.update(ref, updates)
        lead.update(updates)
        return lead

    restored = apply(clients.db().transaction())
    return present(restored, caller, contact=contact_for_reply(caller.org_id, restored, caller))


def assign_lead(*, caller: Caller, lead_id: str, body: AssignBody) -> dict[str, Any]:
    """Reassign a visible lead to a member the caller may reach (admin: anyone active; manager: its team)."""
    from google.cloud import firestore

    caller.require("leads.assign")
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        lead = get_visible_lead(caller, lead_id, transaction=transaction)
        member = member_for_assignment(transaction, caller.org_id, caller, body.assignee_id)
        if lead.get("assigneeId") == member["uid"]:
            return lead
        # The new assignee's listener must never receive raw numbers, even before the masking triggers run.
        updates = {
            **masking.conform(lead, masked=masking.masks_now(caller.org_id, transaction=transaction)),
            "assigneeId": member["uid"],
            "teamId": member.get("teamId"),
            "version": int(lead.get("version", 1)) + 1,
            "updatedAt": now,
            "updatedBy": caller.uid,
        }
        transaction.update(lead_ref(caller.org_id, lead_id), updates)
        lead.update(updates)
        return lead

    return present(apply(clients.db().transaction()), caller)


def bulk_assign(*, caller: Caller, body: BulkAssignBody) -> int:
    """Move all of one member's leads, or a list of leads, to one assignee; batched writes; the count moved.

    A retry after a failure moves what is left (leads already moved no longer match)."""
    from google.cloud import firestore

    caller.require("leads.assign")
    if (body.from_assignee_id is None) == (body.lead_ids is None):
        raise invalid("fromAssigneeId", "give exactly one of fromAssigneeId and leadIds")
    db = clients.db()
    target = member_for_assignment(None, caller.org_id, caller, body.to_assignee_id)
    masked = masking.masks_now(caller.org_id)
    shown: dict[str, dict[str, Any]] = {}  # lead path -> its phones and name, to mask on the way
    if body.from_assignee_id is not None:
        if caller.role == "manager" and not caller.team_id:
            raise forbidden("Managers without a team move no leads")
        query: Any = leads_collection(caller.org_id).where(
            filter=clients.where("assigneeId", "==", body.from_assignee_id)
        )
        query = query.where(filter=clients.where("archived", "==", False))
        if caller.role == "manager":
            query = query.where(filter=clients.where("teamId", "==", caller.team_id))
        snapshots = list(query.select(["name", *masking.PHONE_FIELDS]).stream())
        refs = [snapshot.reference for snapshot in snapshots]
        shown = {snapshot.reference.path: snapshot.to_dict() or {} for snapshot in snapshots}
    else:
        ids = list(dict.fromkeys(body.lead_ids or []))
        refs = []
        for snapshot in db.get_all([lead_ref(caller.org_id, lead_id) for lead_id in ids]):
            lead = {"id": snapshot.id, **(snapshot.to_dict() or {})} if snapshot.exists else None
            if lead is None or lead.get("archived"):
                raise not_found(f"Lead {snapshot.id}")
            from core.visibility import can_see_lead

            if not can_see_lead(caller, lead):
                raise forbidden(f"You may not see lead {snapshot.id}")
            if lead.get("assigneeId") != target["uid"]:
                refs.append(snapshot.reference)
                shown[snapshot.reference.path] = lead
    now = clock.now()
    update = {
        "assigneeId": target["uid"],
        "teamId": target.get("teamId"),
        "version": firestore.Increment(1),
        "updatedAt": now,
        "updatedBy": caller.uid,
    }
    for start in range(0, len(refs), 400):
        batch = db.batch()
        for ref in refs[start : start + 400]:
            # The new assignee's listener never receives raw numbers (the backstop trigger covers a race).
            batch.update(ref, {**masking.conform(shown.get(ref.path) or {}, masked=masked), **update})
        batch.commit()
    return len(refs)


# ---- lists ---------------------------------------------------------------------------------------------


def visible_query(caller: Caller, *, archived: bool = False) -> Any | None:
    """The caller's visible leads (unarchived, or archived ones for admins) as a query (None: sees none)."""
    from google.cloud.firestore_v1.base_query import And, Or

    if archived and not caller.is_admin:
        raise forbidden("Only admins list archived leads")
    query: Any = leads_collection(caller.org_id).where(filter=clients.where("archived", "==", archived))
    if caller.role == "admin":
        return query
    if caller.role == "manager":
        if not caller.team_id:
            return None
        return query.where(filter=clients.where("teamId", "==", caller.team_id))
    own = clients.where("assigneeId", "==", caller.uid)
    if caller.role == "rm" and caller.team_id:
        booked = And(filters=[clients.where("teamId", "==", caller.team_id), clients.where("stage", "==", BOOKED)])
        return query.where(filter=Or(filters=[own, booked]))
    return query.where(filter=own)


def filtered_query(caller: Caller, query_params: LeadListQuery) -> Any | None:
    """visible_query narrowed by the list filters (None: nothing can match)."""
    query = visible_query(caller, archived=query_params.archived)
    if query is None:
        return None
    if caller.role in {"agent"} and query_params.assignee_id not in (None, caller.uid):
        return None
    for field, value in (
        ("stage", query_params.stage),
        ("source", query_params.source),
        ("assigneeId", query_params.assignee_id if caller.role != "agent" else None),
        ("projectId", query_params.project_id),
    ):
        if value is not None:
            query = query.where(filter=clients.where(field, "==", value))
    if query_params.q:
        query = query.where(filter=clients.where("searchTokens", "array_contains", search.query_token(query_params.q)))
    return query


def list_leads(*, caller: Caller, query: LeadListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of visible leads, newest first, filtered; reads at most `limit` documents."""
    built = filtered_query(caller, query)
    if built is None:
        return [], None
    snapshots, cursor = pagination.page(built, order_field="createdAt", limit=query.limit, cursor=query.cursor)
    return [present({"id": s.id, **(s.to_dict() or {})}, caller) for s in snapshots], cursor


# ---- notes and activity --------------------------------------------------------------------------------------


def add_note(*, caller: Caller, lead_id: str, data: NoteCreate) -> dict[str, Any]:
    """A note on a visible lead."""
    lead = get_visible_lead(caller, lead_id)
    note_id = new_id("n_")
    note = {
        "leadId": lead_id,
        "text": data.text,
        "authorId": caller.uid,
        "assigneeId": lead.get("assigneeId"),
        "teamId": lead.get("teamId"),
        "createdAt": clock.now(),
    }
    lead_ref(caller.org_id, lead_id).collection("notes").document(note_id).create(note)
    return {"id": note_id, **note}


def list_notes(*, caller: Caller, lead_id: str, page: pagination.PageQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a visible lead's notes, newest first."""
    get_visible_lead(caller, lead_id)
    collection = lead_ref(caller.org_id, lead_id).collection("notes")
    snapshots, cursor = pagination.page(collection, order_field="createdAt", limit=page.limit, cursor=page.cursor)
    return [{"id": s.id, **(s.to_dict() or {})} for s in snapshots], cursor


def list_activity(
    *, caller: Caller, lead_id: str, page: pagination.PageQuery
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a visible lead's history, newest first."""
    get_visible_lead(caller, lead_id)
    collection = lead_ref(caller.org_id, lead_id).collection("activity")
    snapshots, cursor = pagination.page(collection, order_field="createdAt", limit=page.limit, cursor=page.cursor)
    return [{"id": s.id, **(s.to_dict() or {})} for s in snapshots], cursor


# ---- stats ---------------------------------------------------------------------------------------------------


def stats(*, caller: Caller) -> dict[str, Any]:
    """Counts by stage and source over the visible leads with count() aggregations, never reading leads.

    Cost of one call: 1 + len(stages) + len(sources) aggregation queries (21 with the default settings),
    each billed one read per 1,000 index entries it counts (at least one): about 21 + 3·N/1000 reads for
    N visible leads. Run concurrently, so latency is about that of the slowest query."""
    from concurrent.futures import ThreadPoolExecutor

    conf = org_settings(caller.org)
    stages, sources = list(conf["stages"]), list(conf["sources"])
    base = visible_query(caller)
    if base is None:
        return {
            "total": 0,
            "byStage": dict.fromkeys(stages, 0),
            "bySource": dict.fromkeys(sources, 0),
            "aggregationQueries": 0,
        }
    queries: list[Any] = [base]
    queries += [base.where(filter=clients.where("stage", "==", stage)) for stage in stages]
    queries += [base.where(filter=clients.where("source", "==", source)) for source in sources]

    def count(query: Any) -> int:
        result = query.count(alias="n").get()
        return int(result[0][0].value)

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(count, queries))
    return {
        "total": counts[0],
        "byStage": dict(zip(stages, counts[1 : 1 + len(stages)], strict=True)),
        "bySource": dict(zip(sources, counts[1 + len(stages) :], strict=True)),
        "aggregationQueries": len(queries),
    }


# ---- masking changes ------------------------------------------------------------------------------------------

# The masking triggers' rewrites are the system's (as a system-created lead's createdBy is None): nobody's
# change to push to the lead's owner, and no version bump to fail a concurrent If-Match.
SYSTEM_REWRITE: dict[str, Any] = {"updatedBy": None}


def apply_masking(org_id: str, *, page_size: int = 300) -> int:
    """Rewrite the phones and search tokens of every lead document of the organization from their private
    contacts, masked or raw as its `phoneMasking` flag is now (read again for every page, so events of a flag
    turned on and off quickly, handled in any order, end on the last value); the number of leads rewritten.
    Idempotent: a lead already in the wanted form is left alone."""
    from google.cloud.firestore_v1.field_path import FieldPath

    db = clients.db()
    collection = leads_collection(org_id)
    changed, last = 0, None
    while True:
        query = collection.order_by(FieldPath.document_id()).limit(page_size)
        if last is not None:
            query = query.start_after({FieldPath.document_id(): collection.document(last)})
        snapshots = list(query.select(["name", "searchTokens", *masking.PHONE_FIELDS]).stream())
        if not snapshots:
            return changed
        contacts = {
            c.reference.parent.parent.id: c.to_dict() or {}
            for c in read_all(db, [private_ref(org_id, s.id) for s in snapshots])
            if c.exists
        }
        masked = masking.masks_now(org_id)
        batch, pending = db.batch(), 0
        for snapshot in snapshots:
            current = snapshot.to_dict() or {}
            fields = wanted_changes(current, contacts.get(snapshot.id), masked=masked)
            if fields:
                batch.update(snapshot.reference, {**fields, **SYSTEM_REWRITE})
                pending += 1
        if pending:
            batch.commit()
            changed += pending
        last = snapshots[-1].id


def wanted_changes(lead: dict[str, Any], contact: dict[str, Any] | None, *, masked: bool) -> dict[str, Any]:
    """The fields of a lead document that differ from what the masking flag wants (phones, search tokens);
    without a private contact only masking is possible, from the document's own numbers."""
    if contact is None:
        return masking.conform(lead, masked=masked)
    wanted = masking.lead_view(str(lead.get("name") or ""), contact, masked=masked)
    return {key: value for key, value in wanted.items() if lead.get(key) != value}


def guard_masking(org_id: str, lead_id: str) -> bool:
    """The backstop: bring one lead document in line with the organization's flag as it is now, in one
    transaction with the lead, the flag and the private contact; True when it had to rewrite it."""
    from google.cloud import firestore

    ref = lead_ref(org_id, lead_id)

    @firestore.transactional
    def apply(transaction: Any) -> bool:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            return False
        masked = masking.masks_now(org_id, transaction=transaction)
        private = private_ref(org_id, lead_id).get(transaction=transaction)
        fields = wanted_changes(snapshot.to_dict() or {}, private.to_dict() if private.exists else None, masked=masked)
        if fields:
            transaction.update(ref, {**fields, **SYSTEM_REWRITE})
        return bool(fields)

    result: bool = apply(clients.db().transaction())
    return result
