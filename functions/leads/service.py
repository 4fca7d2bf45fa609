"""Leads: create, read, change, archive, restore, assign, list, notes, activity and stats.

Invariants kept here (every path goes through one transaction per lead; `leads.store` holds the documents'
shapes, the contact keys and the masking rules):
- `orgs/{orgId}/leadKeys/{key}` exists exactly for each phone (E.164) and email of every unarchived lead,
  and names it (`leadId`): a second lead with any of them is refused with 409 and `duplicateOf`.
- `private/contact` always holds the raw phones and emails; the lead document holds masked phones (and
  full-number search tokens only) where the organization masks numbers, decided inside each write's
  transaction from a fresh read of the flag. Agents and rms of such an organization never get a raw number.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core import clients, clock, pagination, tenancy, transactions
from core.caller import SYSTEM, Actor, Caller
from core.errors import ApiError, forbidden, invalid, not_found, precondition
from core.ids import new_id
from core.org_settings import OrgSettings
from core.versioning import check
from core.visibility import BOOKED, can_reach_member, can_see_lead
from leads import phones, search, store, tallies
from leads.models import AssignBody, BulkAssignBody, LeadCreate, LeadListQuery, LeadUpdate, NoteCreate
from leads.store import Contact, LeadRecord
from routing import counters
from routing.eligibility import is_open

if TYPE_CHECKING:
    from routing import engine

RESTORE_DAYS = 30
ATTRIBUTION_FIELDS = ("sourceId", "campaign", "firstSource")


# ---- validation ------------------------------------------------------------------------------------------


def parse_phone(value: dict[str, Any] | None, conf: OrgSettings, field: str) -> phones.ParsedPhone | None:
    """A phone given as {countryCode, number}, parsed; None when absent."""
    if not value:
        return None
    return phones.parse(
        str(value["number"]), value.get("countryCode"), default_country_code=conf.default_country_code, field=field
    )


def check_choices(fields: dict[str, Any], conf: OrgSettings) -> None:
    """400 when stage, source or configurations are not among the organization's settings."""
    if fields.get("stage") is not None and fields["stage"] not in conf.stages:
        raise invalid("stage", "not one of the organization's stages: " + ", ".join(conf.stages))
    if fields.get("source") is not None and fields["source"] not in conf.sources:
        raise invalid("source", "not one of the organization's sources")
    for index, item in enumerate(fields.get("configurations") or []):
        if item not in conf.configurations:
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


def opt_ins(channels: list[str], existing: Any, *, by: str | None, at: datetime) -> list[dict[str, Any]]:
    """The opt-in records for channels: kept as they were where already given, new ones stamped now."""
    known = {entry.get("channel"): dict(entry) for entry in existing}
    return [known.get(channel) or {"channel": channel, "at": at, "by": by} for channel in dict.fromkeys(channels)]


def member_for_assignment(transaction: Any, org_id: str, actor: Actor, uid: str) -> dict[str, Any]:
    """The member who will own the work: active, and reachable by the actor (any active one for the system)."""
    snapshot = tenancy.member_ref(org_id, uid).get(transaction=transaction)
    member = snapshot.to_dict() if snapshot.exists else None
    if not member or not member.get("active"):
        raise invalid("assigneeId", "not an active member of this organization")
    if isinstance(actor, Caller) and not can_reach_member(actor, member):
        raise forbidden("You may not assign work to this member")
    return member


# ---- create ------------------------------------------------------------------------------------------


def new_lead_document(
    *, org_id: str, actor: Actor, data: LeadCreate, conf: OrgSettings, masked: bool, now: datetime
) -> tuple[dict[str, Any], Contact]:
    """Validate a create and build (lead document without assignee, raw contact); 400 naming the field."""
    fields = data.model_dump(by_alias=True, mode="python")
    fields["stage"] = fields.get("stage") or conf.stages[0]
    if not fields.get("source"):
        fields["source"] = "other" if "other" in conf.sources else None
    check_choices(fields, conf)
    primary = parse_phone(fields.get("primaryPhone"), conf, "primaryPhone")  # None: captured by email alone
    alternate = parse_phone(fields.get("alternatePhone"), conf, "alternatePhone")
    contact = Contact.build(primary, alternate, [str(email) for email in data.emails])
    lead = {
        "orgId": org_id,
        "salutation": fields.get("salutation"),
        "name": data.name,
        **contact.view(data.name, masked=masked),
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
        "optIns": opt_ins(list(fields.get("optIns") or []), [], by=actor.uid, at=now),
        "purpose": fields.get("purpose"),
        "nextFollowUpAt": fields.get("nextFollowUpAt"),
        "channelPartnerId": fields.get("channelPartnerId"),
        "archived": False,
        "archivedAt": None,
        "createdAt": now,
        "createdBy": actor.uid,
        "updatedAt": now,
        "updatedBy": actor.uid,
        "version": 1,
    }
    return lead, contact


def assignment_plan(actor: Actor, requested: str | None) -> tuple[str | None, str | None]:
    """(explicit assignee, rotation team) for a create: agents and rms get their own leads; admins,
    managers and the system without an assignee rotate (a manager within its team)."""
    if actor.role in {"agent", "rm"}:
        if requested not in (None, actor.uid):
            raise forbidden("You may create leads only for yourself")
        return actor.uid, None
    if requested:
        return requested, None
    return None, actor.team_id if actor.role == "manager" else None


def create_lead(
    *,
    org_id: str,
    actor: Actor,
    data: LeadCreate,
    lead_id: str | None = None,
    attribution: Mapping[str, Any] | None = None,
) -> LeadRecord:
    """Create a lead (actor SYSTEM: a system-created lead, e.g. an inbound WhatsApp from an unknown number).

    `attribution` ({sourceId, campaign, firstSource}) is stored as given: the capture pipeline's stamp.

    One transaction claims the contact keys (409 `duplicateOf` when any is taken), takes the assignee (the
    routing engine's pick when none is given: rules, availability, counters; nobody eligible: the team's
    queue, and its managers are pushed) and writes the lead, its private contact and the routing counters.
    """
    from google.cloud import firestore

    from routing import config as routing_config
    from routing import engine, queue

    actor.require("leads.create")
    conf = store.settings_of(actor, org_id)
    now = clock.now()
    # The flag is read fresh, outside the transaction: every rotating create of the organization would
    # otherwise lock the organization's document too. A flip between this read and the commit is caught by
    # leadmaskguard (this write triggers it and it reads the flag then), as any flip during a write is.
    masked = store.masks_now(org_id)
    lead, contact = new_lead_document(org_id=org_id, actor=actor, data=data, conf=conf, masked=masked, now=now)
    lead.update({key: attribution.get(key) for key in ATTRIBUTION_FIELDS} if attribution else {})
    check_project(org_id, lead["projectId"])
    assignee_id, rotation_team = assignment_plan(actor, data.assignee_id)
    lead_id = lead_id or new_id("l_")
    keys = contact.keys()
    db = clients.db()
    open_lead = is_open(lead["stage"], archived=False)
    if assignee_id is None:
        routing_plan = engine.plan(org_id, lead, default_team=rotation_team, zone=conf.zone)
        due = None  # the engine's claim sets the deadline of its pick
    else:
        # An agent's own lead: it is already in touch with the buyer, so no first-contact deadline (and no read
        # of the routing settings that would only compute one).
        due = None if assignee_id == actor.uid else engine.deadline(routing_config.load(org_id), conf.zone, now)

    def attempt(candidate: engine.Candidate | None) -> tuple[dict[str, Any], engine.Claim]:
        @firestore.transactional
        def apply(transaction: Any) -> tuple[dict[str, Any], engine.Claim]:
            taken = store.taken_key(transaction, org_id, None, keys)
            if taken is not None:
                raise taken
            if assignee_id is not None:
                member = member_for_assignment(transaction, org_id, actor, assignee_id)
                claim = engine.manual_claim(org_id, member, now=now, due=due, by=actor.uid, open_lead=open_lead)
            else:
                claim = engine.claim(transaction, routing_plan, candidate, now=now, open_lead=open_lead)
            stored = {**lead, **claim.fields}
            claim.write(transaction)
            transaction.create(store.ref(org_id, lead_id), stored)
            transaction.create(store.private_ref(org_id, lead_id), contact.document(lead_id, now))
            store.write_keys(transaction, org_id, lead_id, keys, now)
            return stored, claim

        result: tuple[dict[str, Any], engine.Claim] = transactions.run(apply, db)
        return result

    stored, claim = attempt(None) if assignee_id is not None else engine.routed(routing_plan, attempt, now=now)
    if claim.queued:
        queue.announce_queued(org_id, lead_id, team_id=stored["teamId"], queue="team", at=now)
    return LeadRecord.from_document(lead_id, stored)


# ---- read, update, archive, restore, assign ---------------------------------------------------------------


def get_lead(*, caller: Caller, lead_id: str) -> LeadRecord:
    """One visible lead; admins and managers of a masking organization get the raw numbers."""
    return store.shown(caller.org_id, store.get_visible(caller, lead_id), caller)


def update_lead(*, caller: Caller, lead_id: str, data: LeadUpdate, if_match: int | None) -> LeadRecord:
    """Change a visible lead; contact changes move its unique keys in the same transaction, and the assignee's
    first stage move past the first stage is the lead's first contact, stamped in it too."""
    from google.cloud import firestore

    from routing import contact as first_contact
    from routing import queue

    caller.require("leads.update")
    changes = data.model_dump(exclude_unset=True, by_alias=True, mode="python")
    for key in ("name", "primaryPhone", "stage", "emails", "configurations", "tags", "doNotContact", "optIns"):
        if key in changes and changes[key] is None:
            raise invalid(key, "must not be null")
    conf = caller.settings
    check_choices(changes, conf)
    check_project(caller.org_id, changes.get("projectId"))
    new_primary = parse_phone(changes.get("primaryPhone"), conf, "primaryPhone")
    new_alternate = parse_phone(changes.get("alternatePhone"), conf, "alternatePhone")
    touches_contact = any(field in changes for field in store.CONTACT_FIELDS)
    now = clock.now()
    db = clients.db()
    org_id = caller.org_id
    # Read before the transaction, as a create does (leads.store's masking rules): no lead update holds a lock
    # on the organization's document, and a flip meanwhile is caught by `leadmasking`'s rewrite of every lead
    # or, where this write stores phones, by `leadmaskguard`.
    masked = store.masks_now(org_id)

    @firestore.transactional
    def apply(transaction: Any) -> tuple[LeadRecord, Contact | None, bool, bool]:
        lead = store.get_visible(caller, lead_id, transaction=transaction)
        version = check(lead.version, if_match)
        updates: dict[str, Any] = {k: v for k, v in changes.items() if k not in (*store.CONTACT_FIELDS, "optIns")}
        if "optIns" in changes:
            updates["optIns"] = opt_ins(changes["optIns"], lead.opt_ins, by=caller.uid, at=now)
        for key in ("configurations", "tags", "doNotContact"):
            if key in updates:
                updates[key] = list(dict.fromkeys(updates[key]))
        contact = None
        if touches_contact or "name" in changes:
            stored_contact = store.read_contact(org_id, lead_id, transaction=transaction)
            if stored_contact is None and new_primary is None:
                raise precondition("The lead has no stored contact; recreate it")
            old = stored_contact or Contact(None)
            primary = new_primary or old.primary  # None on a lead captured by email alone
            alternate = new_alternate if "alternatePhone" in changes else old.alternate
            emails = [str(e) for e in changes["emails"]] if "emails" in changes else list(old.emails)
            contact = Contact.build(primary, alternate, emails)
            old_keys, new_keys = old.keys(), contact.keys()
            added = {key: field for key, field in new_keys.items() if key not in old_keys}
            taken = store.taken_key(transaction, org_id, lead_id, added)
            if taken is not None:
                raise taken
            for key in old_keys:
                if key not in new_keys:
                    transaction.delete(store.key_ref(org_id, key))
            store.write_keys(transaction, org_id, lead_id, added, now)
            transaction.set(store.private_ref(org_id, lead_id), contact.document(lead_id, now))
            updates.update(contact.view(str(changes.get("name") or lead.name), masked=masked))
        else:
            # A stage or team change can show the lead to someone new (an rm once booked): never with raw numbers.
            updates.update(store.conform(lead, masked=masked))
        if "stage" in changes and first_contact.is_stage_contact(lead.stage, changes["stage"], conf.stages):
            updates.update(first_contact.changes(lead.document(), caller.uid, now))
        if "stage" in changes and changes["stage"] != lead.stage:
            updates["stageHistory"] = store.stage_moved(lead.document(), changes["stage"], now)
        updates.update(version=version + 1, updatedAt=now, updatedBy=caller.uid)
        was_open = is_open(lead.stage, archived=lead.archived)
        now_open = is_open(updates.get("stage", lead.stage), archived=lead.archived)
        counters.shift_open(transaction, org_id, lead.assignee_id, int(now_open) - int(was_open))
        transaction.update(store.ref(org_id, lead_id), updates)
        return lead.updated(updates), contact, masked, was_open and not now_open

    lead, contact, masked, closed = transactions.run(apply, db)
    if closed and lead.assignee_id:
        queue.drain_for(org_id, lead.assignee_id)
    if contact is None:
        contact = store.contact_for_reply(org_id, lead, caller)
    return store.present(lead, caller, contact=contact, org_masks=masked)


def archive_lead(*, caller: Caller, lead_id: str, if_match: int | None) -> None:
    """Delete = archive: hidden from lists, its contact keys released, restorable by an admin for 30 days."""
    caller.require("leads.delete")
    _archive(caller.org_id, lead_id, lambda t: store.get_visible(caller, lead_id, transaction=t), if_match, caller.uid)


def archive_inactive(*, org_id: str, lead_id: str) -> bool:
    """Archive a lead for retention (the system, no caller); False when it is gone or archived already."""

    def visible(transaction: Any) -> LeadRecord:
        lead = store.get(org_id, lead_id, transaction=transaction)
        if lead is None or lead.archived:
            raise not_found("Lead")
        return lead

    try:
        _archive(org_id, lead_id, visible, None, None)
    except ApiError as error:
        if error.code == "NOT_FOUND":
            return False
        raise
    return True


def _archive(org_id: str, lead_id: str, read: Any, if_match: int | None, by: str | None) -> None:
    from google.cloud import firestore

    from routing import queue

    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> str | None:
        lead = read(transaction)
        version = check(lead.version, if_match)
        contact = store.read_contact(org_id, lead_id, transaction=transaction) or Contact(None)
        keys = list(contact.keys())
        for snapshot in store.read_all(transaction, [store.key_ref(org_id, key) for key in keys]):
            if snapshot.exists and snapshot.get("leadId") == lead_id:
                transaction.delete(snapshot.reference)
        transaction.update(
            store.ref(org_id, lead_id),
            {
                "archived": True,
                "archivedAt": now,
                "queue": None,  # an archived lead waits for nobody
                "version": version + 1,
                "updatedAt": now,
                "updatedBy": by,
            },
        )
        released = lead.assignee_id if is_open(lead.stage, archived=False) else None
        counters.shift_open(transaction, org_id, released, -1)
        return released

    released = transactions.run(apply)
    if released:
        queue.drain_for(org_id, released)


def restore_lead(*, caller: Caller, lead_id: str) -> LeadRecord:
    """Bring an archived lead back (admin, within 30 days); 409 `duplicateOf` when its contact was reused."""
    from google.cloud import firestore

    from routing import queue

    if not caller.is_admin:
        raise forbidden("Only admins restore leads")
    now = clock.now()
    org_id = caller.org_id

    @firestore.transactional
    def apply(transaction: Any) -> LeadRecord:
        lead = store.get(org_id, lead_id, transaction=transaction)
        if lead is None:
            raise not_found("Lead")
        if not lead.archived or lead.merged_into:
            raise precondition("This lead is not archived")
        keys = (store.read_contact(org_id, lead_id, transaction=transaction) or Contact(None)).keys()
        masked = store.masks_now(org_id, transaction=transaction)
        taken = store.taken_key(transaction, org_id, lead_id, keys)
        if taken is not None:
            raise taken
        store.write_keys(transaction, org_id, lead_id, keys, now)
        updates = {
            **store.conform(lead, masked=masked),
            "archived": False,
            "archivedAt": None,
            "version": lead.version + 1,
            "updatedAt": now,
            "updatedBy": caller.uid,
        }
        if lead.assignee_id is None and lead.queue is None and is_open(lead.stage, archived=False):
            # Archiving took it out of the team queue: back in, at the end of the line.
            updates.update(queue="team", queuedAt=now)
        counters.shift_open(transaction, org_id, lead.assignee_id, 1 if is_open(lead.stage, archived=False) else 0)
        transaction.update(store.ref(org_id, lead_id), updates)
        return lead.updated(updates)

    restored = transactions.run(apply)
    if restored.queue == "team":
        queue.drain(org_id, restored.team_id)
    return store.shown(org_id, restored, caller)


def assign_lead(*, caller: Caller, lead_id: str, body: AssignBody) -> LeadRecord:
    """Reassign a visible lead to a member the caller may reach (admin: anyone active; manager: its team): history
    (reason manual), a new first-contact deadline unless contacted, and both members' open-lead counts."""
    from google.cloud import firestore

    from routing import config as routing_config
    from routing import engine, queue

    caller.require("leads.assign")
    now = clock.now()
    routing = routing_config.load(caller.org_id)

    @firestore.transactional
    def apply(transaction: Any) -> tuple[LeadRecord, str | None]:
        lead = store.get_visible(caller, lead_id, transaction=transaction)
        member = member_for_assignment(transaction, caller.org_id, caller, body.assignee_id)
        if lead.assignee_id == member["uid"]:
            return lead, None
        opened = is_open(lead.stage, archived=lead.archived)
        due = None if lead.first_contact_at else engine.deadline(routing, caller.settings.zone, now)
        claim = engine.manual_claim(
            caller.org_id,
            member,
            now=now,
            due=due,
            by=caller.uid,
            previous_history=lead.assignment_history,
            open_lead=opened,
        )
        # The new assignee's listener must never receive raw numbers, even before the masking triggers run.
        updates = {
            **store.conform(lead, masked=store.masks_now(caller.org_id, transaction=transaction)),
            **claim.fields,
            "version": lead.version + 1,
            "updatedAt": now,
            "updatedBy": caller.uid,
        }
        claim.write(transaction)
        counters.shift_open(transaction, caller.org_id, lead.assignee_id, -1 if opened else 0)
        transaction.update(store.ref(caller.org_id, lead_id), updates)
        return lead.updated(updates), lead.assignee_id if opened else None

    record, released = transactions.run(apply)
    if released:
        queue.drain_for(caller.org_id, released)
    return store.present(record, caller)


def bulk_assign(*, caller: Caller, body: BulkAssignBody) -> int:
    """Move all of one member's leads, or a list of leads, to one assignee; batched writes; the count moved.

    A retry after a failure moves what is left (leads already moved no longer match)."""
    from google.cloud import firestore

    from routing import config as routing_config
    from routing import engine, queue

    caller.require("leads.assign")
    if (body.from_assignee_id is None) == (body.lead_ids is None):
        raise invalid("fromAssigneeId", "give exactly one of fromAssigneeId and leadIds")
    db = clients.db()
    org_id = caller.org_id
    target = member_for_assignment(None, org_id, caller, body.to_assignee_id)
    masked = store.masks_now(org_id)
    moving: list[tuple[Any, LeadRecord]] = []  # each lead's reference and what it holds, to mask on the way
    if body.from_assignee_id is not None:
        if caller.role == "manager" and not caller.team_id:
            raise forbidden("Managers without a team move no leads")
        query: Any = store.collection(org_id).where(filter=clients.where("assigneeId", "==", body.from_assignee_id))
        query = query.where(filter=clients.where("archived", "==", False))
        if caller.role == "manager":
            query = query.where(filter=clients.where("teamId", "==", caller.team_id))
        fields = ["name", "stage", "assigneeId", "firstContactAt", *store.PHONE_FIELDS]
        for snapshot in query.select(fields).stream():
            moving.append((snapshot.reference, LeadRecord.from_document(snapshot.id, snapshot.to_dict() or {})))
    else:
        ids = list(dict.fromkeys(body.lead_ids or []))
        for snapshot in db.get_all([store.ref(org_id, lead_id) for lead_id in ids]):
            lead = LeadRecord.of(snapshot)
            if lead is None or lead.archived:
                raise not_found(f"Lead {snapshot.id}")
            if not can_see_lead(caller, lead):
                raise forbidden(f"You may not see lead {snapshot.id}")
            if lead.assignee_id != target["uid"]:
                moving.append((snapshot.reference, lead))
    now = clock.now()
    routing = routing_config.load(org_id)
    due = engine.deadline(routing, caller.settings.zone, now)
    entry = {"assigneeId": target["uid"], "at": now, "reason": "manual", "by": caller.uid}
    update = {
        "assigneeId": target["uid"],
        "teamId": target.get("teamId"),
        "assignedAt": now,
        "assignmentHistory": firestore.ArrayUnion([entry]),
        "queue": None,
        "queuedAt": None,
        "version": firestore.Increment(1),
        "updatedAt": now,
        "updatedBy": caller.uid,
    }
    released: set[str] = set()
    for start in range(0, len(moving), 400):
        batch = db.batch()
        shifts: dict[str, int] = {}
        for ref, lead in moving[start : start + 400]:
            # The new assignee's listener never receives raw numbers (the backstop trigger covers a race).
            deadline = {"slaDueAt": None if lead.first_contact_at else due}
            batch.update(ref, {**store.conform(lead, masked=masked), **update, **deadline})
            if is_open(lead.stage, archived=False):
                shifts[target["uid"]] = shifts.get(target["uid"], 0) + 1
                if lead.assignee_id:
                    shifts[lead.assignee_id] = shifts.get(lead.assignee_id, 0) - 1
                    released.add(lead.assignee_id)
        for uid, delta in shifts.items():
            counters.shift_open(batch, org_id, uid, delta)  # in the batch: counts move with the leads
        batch.commit()
    for uid in sorted(released):
        queue.drain_for(org_id, uid)
    return len(moving)


# ---- lists ---------------------------------------------------------------------------------------------


def visible_query(caller: Caller, *, archived: bool = False) -> Any | None:
    """The caller's visible leads (unarchived, or archived ones for admins) as a query (None: sees none)."""
    from google.cloud.firestore_v1.base_query import And, Or

    if archived and not caller.is_admin:
        raise forbidden("Only admins list archived leads")
    query: Any = store.collection(caller.org_id).where(filter=clients.where("archived", "==", archived))
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


def list_leads(*, caller: Caller, query: LeadListQuery) -> tuple[list[LeadRecord], str | None]:
    """A page of visible leads, newest first, filtered; reads at most `limit` documents."""
    built = filtered_query(caller, query)
    if built is None:
        return [], None
    snapshots, cursor = pagination.page(built, order_field="createdAt", limit=query.limit, cursor=query.cursor)
    return [store.present(LeadRecord.from_document(s.id, s.to_dict() or {}), caller) for s in snapshots], cursor


# ---- notes and activity --------------------------------------------------------------------------------------


def add_note(*, caller: Caller, lead_id: str, data: NoteCreate) -> dict[str, Any]:
    """A note on a visible lead."""
    lead = store.get_visible(caller, lead_id)
    note_id = new_id("n_")
    note = {
        "leadId": lead_id,
        "text": data.text,
        "authorId": caller.uid,
        "assigneeId": lead.assignee_id,
        "teamId": lead.team_id,
        "createdAt": clock.now(),
    }
    store.child(caller.org_id, lead_id, "notes").document(note_id).create(note)
    return {"id": note_id, **note}


def list_notes(*, caller: Caller, lead_id: str, page: pagination.PageQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a visible lead's notes, newest first."""
    return _page_of(caller, lead_id, "notes", page)


def list_activity(
    *, caller: Caller, lead_id: str, page: pagination.PageQuery
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a visible lead's history, newest first."""
    return _page_of(caller, lead_id, "activity", page)


def _page_of(
    caller: Caller, lead_id: str, name: str, page: pagination.PageQuery
) -> tuple[list[dict[str, Any]], str | None]:
    store.get_visible(caller, lead_id)
    collection = store.child(caller.org_id, lead_id, name)
    snapshots, cursor = pagination.page(collection, order_field="createdAt", limit=page.limit, cursor=page.cursor)
    return [{"id": s.id, **(s.to_dict() or {})} for s in snapshots], cursor


# ---- stats ---------------------------------------------------------------------------------------------------


def stats(*, caller: Caller) -> dict[str, Any]:
    """Counts by stage and source over the visible leads, never reading leads.

    An admin, a manager or an agent reads its scope's tallies (leads.tallies: a fixed 4-32 reads whatever the
    organization's size). An RM's view (its own leads and its team's booked ones) and an organization counted
    before the tallies existed use count() aggregations (`_aggregated`)."""
    stages, sources = list(caller.settings.stages), list(caller.settings.sources)
    scope = _tally_scope(caller)
    if scope is not None and tallies.counted(caller.org):
        return {**tallies.read(caller.org_id, scope, stages, sources), "aggregationQueries": 0}
    return _aggregated(caller, stages, sources)


def _tally_scope(caller: Caller) -> tallies.Scope | None:
    """The tally holding exactly the leads visible_query gives the caller (None: no single tally does)."""
    if caller.role == "admin":
        return tallies.ORG
    if caller.role == "manager":
        return ("team", caller.team_id) if caller.team_id else None
    if caller.role == "rm" and caller.team_id:
        return None  # its own leads or its team's booked ones
    return ("member", caller.uid)


def _aggregated(caller: Caller, stages: list[str], sources: list[str]) -> dict[str, Any]:
    """The counts with count() aggregations: 1 + len(stages) + len(sources) queries (22 with the default
    settings), each billed one read per 1,000 index entries it counts (at least one): about 21 + 3·N/1000 reads
    for N visible leads. Run concurrently, so latency is about that of the slowest query."""
    from concurrent.futures import ThreadPoolExecutor

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


# ---- the buyer's own requests --------------------------------------------------------------------------------


def record_do_not_contact(org_id: str, lead_id: str, channel: str) -> bool:
    """The buyer asked not to be contacted on `channel` (a spam report or unsubscribe at the email provider):
    added once, in a transaction, as the system's change, so the history shows it as any update; True when it
    was added now."""
    from google.cloud import firestore

    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> bool:
        lead = store.get(org_id, lead_id, transaction=transaction)
        if lead is None or channel in lead.do_not_contact:
            return False
        transaction.update(
            store.ref(org_id, lead_id),
            {
                "doNotContact": [*lead.do_not_contact, channel],
                "version": lead.version + 1,
                "updatedAt": now,
                "updatedBy": SYSTEM.uid,
            },
        )
        return True

    result: bool = transactions.run(apply)
    return result


# ---- masking changes ------------------------------------------------------------------------------------------

# The masking triggers' rewrites are the system's: nobody's change to push to the lead's owner, and no version
# bump to fail a concurrent If-Match.
SYSTEM_REWRITE: dict[str, Any] = {"updatedBy": SYSTEM.uid}


def apply_masking(org_id: str, *, page_size: int = 300) -> int:
    """Rewrite the phones and search tokens of every lead document of the organization from their private
    contacts, masked or raw as its `phoneMasking` flag is now (read again for every page, so events of a flag
    turned on and off quickly, handled in any order, end on the last value); the number of leads rewritten.
    Idempotent: a lead already in the wanted form is left alone."""
    from google.cloud.firestore_v1.field_path import FieldPath

    db = clients.db()
    collection = store.collection(org_id)
    changed, last = 0, None
    while True:
        query = collection.order_by(FieldPath.document_id()).limit(page_size)
        if last is not None:
            query = query.start_after({FieldPath.document_id(): collection.document(last)})
        snapshots = list(query.select(["name", "searchTokens", *store.PHONE_FIELDS]).stream())
        if not snapshots:
            return changed
        contacts = {
            c.reference.parent.parent.id: Contact.of(c.to_dict())
            for c in store.read_all(db, [store.private_ref(org_id, s.id) for s in snapshots])
            if c.exists
        }
        masked = store.masks_now(org_id)
        batch, pending = db.batch(), 0
        for snapshot in snapshots:
            lead = LeadRecord.from_document(snapshot.id, snapshot.to_dict() or {})
            fields = store.wanted_changes(lead, contacts.get(snapshot.id), masked=masked)
            if fields:
                batch.update(snapshot.reference, {**fields, **SYSTEM_REWRITE})
                pending += 1
        if pending:
            batch.commit()
            changed += pending
        last = snapshots[-1].id


def guard_masking(org_id: str, lead_id: str) -> bool:
    """The backstop: bring one lead document in line with the organization's flag as it is now, in one
    transaction with the lead, the flag and the private contact; True when it had to rewrite it."""
    from google.cloud import firestore

    @firestore.transactional
    def apply(transaction: Any) -> bool:
        lead = store.get(org_id, lead_id, transaction=transaction)
        if lead is None:
            return False
        masked = store.masks_now(org_id, transaction=transaction)
        contact = store.read_contact(org_id, lead_id, transaction=transaction)
        fields = store.wanted_changes(lead, contact, masked=masked)
        if fields:
            transaction.update(store.ref(org_id, lead_id), {**fields, **SYSTEM_REWRITE})
        return bool(fields)

    result: bool = transactions.run(apply)
    return result
