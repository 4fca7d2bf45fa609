"""The lead store: the one module that knows where a lead lives, what its documents hold, and who sees what.

A lead is three kinds of document, written together in one transaction or batch:
- `orgs/{orgId}/leads/{leadId}`: the `LeadRecord`, what the app's listeners read;
- `orgs/{orgId}/leads/{leadId}/private/contact`: the raw phones and emails (`Contact`), for admins,
  managers and the server (dialling, sending), never readable by agents through the rules;
- `orgs/{orgId}/leadKeys/{key}`: one per phone (E.164) and email of every unarchived lead, naming it, so a
  second lead with any of them is refused (409 `duplicateOf`).
Notes and the activity history are subcollections of the lead (`child`).

Phone masking, the rules kept here once:
- What a write stores is decided from the organization's `phoneMasking` flag read fresh for that write
  (`masks_now`, one read; inside the write's transaction, except for a lead's creation and update, which read
  it just before so that concurrent writes do not all lock the organization's document, or stand on the read
  this same request's authentication made moments ago, `tenancy.org_now`), never from the per-instance cache
  behind `Caller.org`: a lead written in the first seconds after an admin turns masking on is masked like any
  later one. A flip during a write is caught by `leadmaskguard`, which that write triggers.
- Where the organization masks, the lead document holds masked phones and the search tokens of the full
  numbers only (`leads.search`); the private contact holds the raw phones.
- Two triggers converge documents on the flag as it is now: `leadmasking` rewrites every lead when the flag
  changes; `leadmaskguard`, the backstop, re-checks a lead whenever its phones, name or tokens are written.
- Replies decide per actor (`present`): admins, managers and the system get raw numbers, agents and rms
  masked ones whenever the organization (as the caller's instance knows it) masks or the stored document is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import tenancy
from core.caller import SYSTEM, Actor, Caller
from core.errors import ApiError, forbidden, invalid, not_found
from core.ids import sha256_hex
from core.org_settings import OrgSettings
from core.visibility import can_see_lead
from leads import phones, search

PHONE_FIELDS = ("primaryPhone", "alternatePhone")
CONTACT_FIELDS = (*PHONE_FIELDS, "emails")
RAW_ROLES = frozenset({"admin", "manager", SYSTEM.role})


# ---- where leads live ---------------------------------------------------------------------------------------


def collection(org_id: str) -> Any:
    """The organization's leads collection."""
    return tenancy.org_ref(org_id).collection("leads")


def every_organization() -> Any:
    """The leads of every organization, as one collection-group query (the platform's sweeps)."""
    from core import clients

    return clients.db().collection_group("leads")


def ref(org_id: str, lead_id: str) -> Any:
    """A lead's document reference."""
    return collection(org_id).document(lead_id)


def child(org_id: str, lead_id: str, name: str) -> Any:
    """One of a lead's subcollections: notes, activity (private holds only the contact)."""
    return ref(org_id, lead_id).collection(name)


def private_ref(org_id: str, lead_id: str) -> Any:
    """The document with a lead's raw phones and emails."""
    return child(org_id, lead_id, "private").document("contact")


def key_ref(org_id: str, key: str) -> Any:
    """A unique-contact key document."""
    return tenancy.org_ref(org_id).collection("leadKeys").document(key)


def contact_key(kind: str, value: str) -> str:
    """The key document id of one phone (E.164) or email (lower case)."""
    return sha256_hex(f"{kind}:{value}")


def read_all(reader: Any, refs: list[Any]) -> list[Any]:
    """Snapshots of refs through a transaction or client (none for no refs: the API refuses an empty read)."""
    return list(reader.get_all(refs)) if refs else []


def duplicate_error(lead_id: str, field: str) -> ApiError:
    """409 naming the existing lead."""
    return ApiError(
        "ALREADY_EXISTS",
        "A lead with this phone number or email exists",
        fields={field: "already belongs to another lead"},
        duplicateOf=lead_id,
    )


# ---- phones and the raw contact ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredPhone:
    """A phone as the lead document holds it: raw (with its E.164 form) or masked (`e164` None)."""

    country_code: str
    number: str
    e164: str | None
    masked: str | None

    @classmethod
    def of(cls, value: Any) -> StoredPhone | None:
        """The phone of a stored map; None when absent or not a phone."""
        if not isinstance(value, Mapping) or not value.get("countryCode"):
            return None
        e164 = value.get("e164")
        masked = value.get("masked")
        return cls(
            str(value["countryCode"]),
            str(value.get("number") or ""),
            str(e164) if e164 else None,
            str(masked) if masked else None,
        )

    @classmethod
    def from_parsed(cls, parsed: phones.ParsedPhone, *, masked: bool) -> StoredPhone:
        """The stored form of a valid phone: raw, or masked where the organization masks numbers."""
        display = phones.mask(parsed.e164, parsed.country_code)
        if masked:
            return cls(parsed.country_code, display.split(" ", 1)[1], None, display)
        return cls(parsed.country_code, parsed.national, parsed.e164, display)

    @property
    def parsed(self) -> phones.ParsedPhone | None:
        """The raw phone, or None when this one is masked."""
        return phones.ParsedPhone(self.country_code, self.number, self.e164) if self.e164 else None

    def hidden(self) -> StoredPhone:
        """This phone as an agent of a masking organization sees it."""
        display = self.masked or phones.mask(self.e164 or "", self.country_code)
        return StoredPhone(self.country_code, display.split(" ", 1)[-1], None, display)

    def document(self) -> dict[str, str | None]:
        """The stored map."""
        return {"countryCode": self.country_code, "number": self.number, "e164": self.e164, "masked": self.masked}


@dataclass(frozen=True, slots=True)
class Contact:
    """A lead's raw phones and emails, as `private/contact` holds them."""

    primary: phones.ParsedPhone | None
    alternate: phones.ParsedPhone | None = None
    emails: tuple[str, ...] = ()

    @classmethod
    def build(
        cls, primary: phones.ParsedPhone | None, alternate: phones.ParsedPhone | None, emails: Iterable[str]
    ) -> Contact:
        """A new contact from parsed input; 400 when the alternate repeats the primary, or when nothing reaches the
        buyer (no phone and no email: a lead captured by email alone has no phone). Emails lower-cased, once."""
        if alternate is not None and primary is not None and alternate.e164 == primary.e164:
            raise invalid("alternatePhone.number", "the same as primaryPhone")
        if primary is None and alternate is not None:
            raise invalid("primaryPhone", "required with an alternatePhone")
        unique = tuple(dict.fromkeys(str(email).lower() for email in emails))
        if primary is None and not unique:
            raise invalid("primaryPhone", "required (or an email)")
        return cls(primary, alternate, unique)

    @classmethod
    def of(cls, document: Mapping[str, Any] | None) -> Contact:
        """The contact of a stored map (a private contact, or an unmasked lead document)."""
        document = document or {}
        emails = (e.get("address") if isinstance(e, Mapping) else e for e in document.get("emails") or [])
        return cls(
            _raw(document.get("primaryPhone")),
            _raw(document.get("alternatePhone")),
            tuple(e.strip() for e in emails if isinstance(e, str) and "@" in e and "*" not in e),  # never a masked one
        )

    @property
    def phones(self) -> tuple[phones.ParsedPhone, ...]:
        """The raw phones present, primary first."""
        return tuple(p for p in (self.primary, self.alternate) if p is not None)

    def keys(self) -> dict[str, str]:
        """key -> the field it comes from, one per phone (E.164) and email."""
        keys: dict[str, str] = {}
        for field, phone in zip(PHONE_FIELDS, (self.primary, self.alternate), strict=True):
            if phone is not None:
                keys.setdefault(contact_key("phone", phone.e164), field)
        for index, email in enumerate(self.emails):
            keys.setdefault(contact_key("email", email.lower()), f"emails.{index}")
        return keys

    def document(self, lead_id: str, now: datetime) -> dict[str, Any]:
        """The private contact document."""
        return {
            "primaryPhone": self.primary.raw() if self.primary else None,
            "alternatePhone": self.alternate.raw() if self.alternate else None,
            "emails": list(self.emails),
            "leadId": lead_id,
            "updatedAt": now,
        }

    def view(self, name: str, *, masked: bool) -> dict[str, Any]:
        """What the lead document holds of this contact: phones (masked where the org masks), their search
        tokens (full numbers only where masked) and the emails."""
        return {**self.masked_view(name, masked=masked), "emails": list(self.emails)}

    def masked_view(self, name: str, *, masked: bool) -> dict[str, Any]:
        """The part of the lead document that depends on the masking flag: its phones and search tokens."""
        stored = {
            field: StoredPhone.from_parsed(phone, masked=masked).document() if phone else None
            for field, phone in zip(PHONE_FIELDS, (self.primary, self.alternate), strict=True)
        }
        pairs = [(phone.e164, phone.national) for phone in self.phones]
        return {**stored, "searchTokens": search.lead_tokens(name, pairs, masked=masked)}


def _raw(value: Any) -> phones.ParsedPhone | None:
    phone = StoredPhone.of(value)
    return phone.parsed if phone else None


def read_contact(org_id: str, lead_id: str, *, transaction: Any = None) -> Contact | None:
    """The lead's private contact; None when it has none (one read)."""
    snapshot = private_ref(org_id, lead_id).get(transaction=transaction)
    return Contact.of(snapshot.to_dict()) if snapshot.exists else None


def write_keys(
    writer: Any, org_id: str, lead_id: str, keys: Mapping[str, str], now: datetime, *, create: bool = False
) -> None:
    """Claim keys for the lead in a transaction or batch: set after the transaction read them free, create
    where nothing read them (a batch of imported leads: a key taken meanwhile fails the write)."""
    write = writer.create if create else writer.set
    for key, field in keys.items():
        write(key_ref(org_id, key), {"leadId": lead_id, "field": field, "createdAt": now})


def taken_key(reader: Any, org_id: str, lead_id: str | None, keys: Mapping[str, str]) -> ApiError | None:
    """The 409 for the first key held by another lead (lead_id None: by any), or None when all are free."""
    for snapshot in read_all(reader, [key_ref(org_id, key) for key in keys]):
        if snapshot.exists and snapshot.get("leadId") != lead_id:
            return duplicate_error(str(snapshot.get("leadId")), keys[snapshot.id])
    return None


# ---- the record ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadRecord:
    """A lead document as stored, typed. `extra` keeps fields this type does not name, so a rewrite of a
    document written by a newer version loses nothing. Every field has a default so that a partial read
    (`select`) or a hand-edited document still makes a record; only full reads are written back."""

    id: str
    org_id: str = ""
    name: str = ""
    stage: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1
    salutation: str | None = None
    primary_phone: StoredPhone | None = None
    alternate_phone: StoredPhone | None = None
    emails: tuple[str, ...] = ()
    search_tokens: tuple[str, ...] = ()
    location: Mapping[str, Any] | None = None
    budget: Mapping[str, Any] | None = None
    configurations: tuple[str, ...] = ()
    source: str | None = None
    project_id: str | None = None
    assignee_id: str | None = None
    team_id: str | None = None
    tags: tuple[str, ...] = ()
    do_not_contact: tuple[str, ...] = ()
    opt_ins: tuple[Mapping[str, Any], ...] = ()
    purpose: str | None = None
    next_follow_up_at: datetime | None = None
    channel_partner_id: str | None = None
    archived: bool = False
    archived_at: datetime | None = None
    merged_into: str | None = None
    merged_from: tuple[str, ...] = ()
    source_id: str | None = None
    campaign: Mapping[str, Any] | None = None
    first_source: str | None = None
    enquiries: tuple[Mapping[str, Any], ...] = ()
    last_enquired_at: datetime | None = None
    assignment_history: tuple[Mapping[str, Any], ...] = ()
    assigned_at: datetime | None = None
    queue: str | None = None
    queued_at: datetime | None = None
    first_contact_at: datetime | None = None
    first_contact_seconds: int | None = None
    sla_due_at: datetime | None = None
    sla_reassignments: int = 0
    restricted: bool = False  # the buyer restricted processing (DPDP): kept, never contacted nor exported
    restricted_at: datetime | None = None
    created_by: str | None = None
    updated_by: str | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_document(cls, lead_id: str, document: Mapping[str, Any]) -> LeadRecord:
        """The record of a stored lead document."""
        values: dict[str, Any] = {"id": lead_id}
        extra = dict(document)
        for name, stored in _STORED.items():
            if stored in extra:
                values[name] = _read(name, extra.pop(stored))
        return cls(**values, extra=extra)

    @classmethod
    def of(cls, snapshot: Any) -> LeadRecord | None:
        """The record of a document snapshot; None when the lead does not exist."""
        return cls.from_document(snapshot.id, snapshot.to_dict() or {}) if snapshot.exists else None

    def document(self) -> dict[str, Any]:
        """The stored document (camelCase, without the id)."""
        out = dict(self.extra)
        for name, stored in _STORED.items():
            value = getattr(self, name)
            if isinstance(value, StoredPhone):
                value = value.document()
            elif isinstance(value, tuple):
                value = [dict(item) if isinstance(item, Mapping) else item for item in value]
            elif isinstance(value, Mapping):
                value = dict(value)
            out[stored] = value
        return out

    def reply(self) -> dict[str, Any]:
        """The document with its id: what the API's `Lead` model and CSV rows are made from."""
        return {"id": self.id, **self.document()}

    def updated(self, changes: Mapping[str, Any]) -> LeadRecord:
        """The record after a stored update (camelCase fields, as given to Firestore's update)."""
        return LeadRecord.from_document(self.id, {**self.document(), **changes})

    @property
    def visible(self) -> bool:
        """True unless archived (merged leads are archived too)."""
        return not self.archived

    @property
    def holds_raw(self) -> bool:
        """True when the document carries a raw number."""
        return any(phone is not None and phone.e164 for phone in (self.primary_phone, self.alternate_phone))

    @property
    def holds_masked(self) -> bool:
        """True when the document carries a masked number (the raw one is then only in the private contact)."""
        return any(phone is not None and not phone.e164 for phone in (self.primary_phone, self.alternate_phone))

    @property
    def contact(self) -> Contact:
        """The raw contact the document itself holds (phones only where it is unmasked)."""
        return Contact(
            self.primary_phone.parsed if self.primary_phone else None,
            self.alternate_phone.parsed if self.alternate_phone else None,
            self.emails,
        )

    def contactable(self, channel: str) -> bool:
        """False when the buyer asked not to be contacted on this channel, or restricted processing."""
        return not self.restricted and channel not in self.do_not_contact

    def opted_in(self, channel: str) -> bool:
        """True when the buyer's opt-in for this channel is recorded."""
        return any(item.get("channel") == channel for item in self.opt_ins)


# Fields the system keeps for routing and the first-response SLA: never a user's "updated" line nor a
# "lead updated" push (their moves show as entries of their own: assigned, sla-missed).
ROUTING_FIELDS = (
    "firstContactAt",
    "firstContactSeconds",
    "slaDueAt",
    "slaReassignments",
    "assignmentHistory",
    "assignedAt",
    "queue",
    "queuedAt",
)

# Each stage a lead entered and when, oldest first (`stageHistory`: [{stage, at}]), appended in the transaction
# that moves the stage; the reports' funnel is counted from it. A lead written before it existed reads as
# having entered its current stage at its creation. The last STAGE_HISTORY_KEPT entries are kept.
STAGE_HISTORY_KEPT = 50


def stage_history(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A lead document's stage entries, oldest first (its current stage since creation when none are stored)."""
    stored = [
        {"stage": entry["stage"], "at": entry["at"]}
        for entry in document.get("stageHistory") or ()
        if isinstance(entry, Mapping) and isinstance(entry.get("stage"), str) and isinstance(entry.get("at"), datetime)
    ]
    if stored:
        return stored
    created = document.get("createdAt")
    stage = document.get("stage")
    return [{"stage": stage, "at": created}] if isinstance(stage, str) and isinstance(created, datetime) else []


def stage_moved(document: Mapping[str, Any], stage: str, at: datetime) -> list[dict[str, Any]]:
    """The `stageHistory` to store when a lead moves to `stage` at `at`."""
    return [*stage_history(document), {"stage": stage, "at": at}][-STAGE_HISTORY_KEPT:]


_TUPLES = {
    "emails",
    "search_tokens",
    "configurations",
    "tags",
    "do_not_contact",
    "opt_ins",
    "merged_from",
    "enquiries",
    "assignment_history",
}
_STORED = {
    field.name: "".join(word.capitalize() if i else word for i, word in enumerate(field.name.split("_")))
    for field in dataclasses.fields(LeadRecord)
    if field.name not in ("id", "extra")
}


def _read(name: str, value: Any) -> Any:
    if name in ("primary_phone", "alternate_phone"):
        return StoredPhone.of(value)
    if name in _TUPLES:
        return tuple(value or ())
    if name == "version":
        return int(value or 1)
    if name == "sla_reassignments":
        return int(value or 0)
    if name in ("archived", "restricted"):
        return bool(value)
    return value


# ---- reading ------------------------------------------------------------------------------------------------


def get(org_id: str, lead_id: str, *, transaction: Any = None) -> LeadRecord | None:
    """The lead, archived or not; None when it does not exist (one read)."""
    return LeadRecord.of(ref(org_id, lead_id).get(transaction=transaction))


def get_visible(caller: Caller, lead_id: str, *, transaction: Any = None) -> LeadRecord:
    """The lead, or 404 when absent, archived or of another organization, 403 when the caller may not see it."""
    lead = get(caller.org_id, lead_id, transaction=transaction)
    if lead is None or lead.archived:
        raise not_found("Lead")
    if not can_see_lead(caller, lead):
        raise forbidden("You may not see this lead")
    return lead


def find_by_phone(org_id: str, e164: str) -> LeadRecord | None:
    """The unarchived lead whose primary or alternate number is e164, through the unique contact keys."""
    key = key_ref(org_id, contact_key("phone", e164)).get()
    if not key.exists:
        return None
    lead = get(org_id, str(key.get("leadId")))
    return lead if lead is not None and lead.visible else None


def dialable(org_id: str, lead: LeadRecord) -> str | None:
    """The lead's primary number to dial or send to: from the private contact, else the unmasked document."""
    contact = read_contact(org_id, lead.id)
    primary = (contact.primary if contact else None) or lead.contact.primary
    return primary.e164 if primary else None


def email_address(org_id: str, lead: LeadRecord) -> str | None:
    """The lead's first email address (raw, from the private contact, else the document)."""
    contact = read_contact(org_id, lead.id)
    emails = (contact.emails if contact else ()) or lead.emails
    return emails[0] if emails else None


# ---- masking and presenting ---------------------------------------------------------------------------------


def masks_now(org_id: str, *, transaction: Any = None) -> bool:
    """The organization's flag read now, inside the transaction when one is given; never the instance cache
    (outside a transaction, the read this request's authentication made moments ago is as fresh as another)."""
    if transaction is None:
        return OrgSettings.of(tenancy.org_now(org_id)).phone_masking
    snapshot = tenancy.org_ref(org_id).get(field_paths=["settings.phoneMasking"], transaction=transaction)
    return OrgSettings.of(snapshot.to_dict() if snapshot.exists else None).phone_masking


def sees_raw(actor: Actor) -> bool:
    """Admins, managers and the system see raw numbers; agents and rms only where the org does not mask."""
    return actor.role in RAW_ROLES


def hidden_from(actor: Actor) -> bool:
    """True when this actor gets masked numbers (its organization as its instance last read it)."""
    return isinstance(actor, Caller) and not sees_raw(actor) and actor.settings.phone_masking


def conform(lead: LeadRecord, *, masked: bool) -> dict[str, Any]:
    """The updates that mask a lead document still holding raw numbers where the organization masks, from the
    document alone (so any transaction that touches a lead can afford it); {} when nothing is to hide."""
    if not masked or not lead.holds_raw:
        return {}
    return lead.contact.masked_view(lead.name, masked=True)


def wanted_changes(lead: LeadRecord, contact: Contact | None, *, masked: bool) -> dict[str, Any]:
    """The fields of a lead document that differ from what the masking flag wants (phones, search tokens);
    without a private contact only masking is possible, from the document's own numbers."""
    if contact is None:
        return conform(lead, masked=masked)
    stored = lead.document()
    wanted = contact.masked_view(lead.name, masked=masked)
    return {key: value for key, value in wanted.items() if stored.get(key) != value}


def present(
    lead: LeadRecord, actor: Actor, *, contact: Contact | None = None, org_masks: bool | None = None
) -> LeadRecord:
    """The lead as this actor may see it: masked phones for agents and rms of a masking organization
    (`org_masks` when the caller read the flag fresh, else its instance's copy), raw ones (from `contact`,
    when given) for the others. A stored masked phone stays masked for agents whatever the flag says."""
    masks = hidden_from(actor) if org_masks is None else org_masks and not sees_raw(actor)
    if masks:
        return dataclasses.replace(
            lead,
            primary_phone=lead.primary_phone.hidden() if lead.primary_phone else None,
            alternate_phone=lead.alternate_phone.hidden() if lead.alternate_phone else None,
        )
    if contact is not None and sees_raw(actor):
        primary, alternate = contact.primary, contact.alternate
        return dataclasses.replace(
            lead,
            primary_phone=StoredPhone.from_parsed(primary, masked=False) if primary else None,
            alternate_phone=StoredPhone.from_parsed(alternate, masked=False) if alternate else None,
        )
    return lead


def contact_for_reply(org_id: str, lead: LeadRecord, actor: Actor) -> Contact | None:
    """The raw contact a reply to this actor needs: only for those who see raw numbers, and only when the
    stored document is masked (one read)."""
    if not sees_raw(actor) or not lead.holds_masked:
        return None
    return read_contact(org_id, lead.id)


def shown(org_id: str, lead: LeadRecord, actor: Actor) -> LeadRecord:
    """`present` with the raw contact read where this actor needs it."""
    return present(lead, actor, contact=contact_for_reply(org_id, lead, actor))


def settings_of(actor: Actor, org_id: str) -> OrgSettings:
    """The organization's settings as the actor knows them (the system reads them through the instance cache)."""
    if isinstance(actor, Caller):
        return actor.settings
    return OrgSettings.of(tenancy.load_org(org_id))
