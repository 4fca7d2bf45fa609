"""Phone masking: where an organization masks numbers, no agent or rm learns a raw one through any path.

The rules, kept here once:
- What a write stores is decided from the organization's `phoneMasking` flag read fresh for that write
  (`masks_now`, one read; inside the write's transaction, except for lead creation, which reads it just before
  so that concurrent creates do not all lock the organization's document), never from the per-instance cache
  behind `Caller.org`: a lead written in the first seconds after an admin turns masking on is masked like any
  later one. A flip during a write is caught by `leadmaskguard`, which that write triggers.
- Where the organization masks, the lead document (what the agent's listener reads) holds masked phones and
  the search tokens of the full numbers only (`leads.search`); `private/contact` holds the raw phones, for
  admins, managers and the server (dialling, sending).
- Two triggers converge documents on the flag as it is now: `leadmasking` rewrites every lead when the flag
  changes; `leadmaskguard`, the backstop, re-checks a lead whenever its phones, name or tokens are written,
  so a writer that used a stale setting (or a new writer that forgot) is corrected within a second.
- Replies decide per caller: admins and managers get raw numbers, agents and rms masked ones whenever the
  organization (as the caller's instance knows it) masks or the stored document is masked.
"""

from __future__ import annotations

from typing import Any

from core import tenancy
from core.caller import Caller
from core.org_settings import OrgSettings
from leads import phones, search

PHONE_FIELDS = ("primaryPhone", "alternatePhone")
RAW_ROLES = frozenset({"admin", "manager"})


def org_masks(org: dict[str, Any]) -> bool:
    """True when the organization (a document as read) hides lead phone numbers from agents and rms."""
    return OrgSettings.of(org).phone_masking


def masks_now(org_id: str, *, transaction: Any = None) -> bool:
    """The organization's flag read now, inside the transaction when one is given; never the instance cache."""
    if transaction is None:
        return org_masks(tenancy.load_org(org_id, fresh=True) or {})
    snapshot = tenancy.org_ref(org_id).get(field_paths=["settings.phoneMasking"], transaction=transaction)
    return org_masks(snapshot.to_dict() or {} if snapshot.exists else {})


def sees_raw(caller: Caller | None) -> bool:
    """Admins, managers and the system (None) see raw numbers; agents and rms only where the org does not mask."""
    return caller is None or caller.role in RAW_ROLES


def hidden_from(caller: Caller | None) -> bool:
    """True when this caller gets masked numbers (its organization as its instance last read it)."""
    return caller is not None and not sees_raw(caller) and org_masks(caller.org)


def _parsed(raw: Any) -> phones.ParsedPhone | None:
    if not isinstance(raw, dict) or not raw.get("e164"):
        return None
    return phones.ParsedPhone(str(raw["countryCode"]), str(raw["number"]), str(raw["e164"]))


def phone_fields(contact: dict[str, Any], *, masked: bool) -> dict[str, Any]:
    """primaryPhone and alternatePhone as the lead document holds them, from raw phones."""
    out: dict[str, Any] = {}
    for field in PHONE_FIELDS:
        parsed = _parsed(contact.get(field))
        out[field] = parsed.stored(masked=masked) if parsed else None
    return out


def tokens(name: str, contact: dict[str, Any], *, masked: bool) -> list[str]:
    """The lead's search tokens from its name and raw phones (full numbers only where masked)."""
    pairs = [(p.e164, p.national) for p in (_parsed(contact.get(field)) for field in PHONE_FIELDS) if p]
    return search.lead_tokens(name, pairs, masked=masked)


def lead_view(name: str, contact: dict[str, Any], *, masked: bool) -> dict[str, Any]:
    """Everything of a lead document that depends on the masking flag: its phones and search tokens."""
    return {**phone_fields(contact, masked=masked), "searchTokens": tokens(name, contact, masked=masked)}


def holds_raw(lead: dict[str, Any]) -> bool:
    """True when a lead document (or reply) carries a raw number."""
    return any(_parsed(lead.get(field)) is not None for field in PHONE_FIELDS)


def holds_masked(lead: dict[str, Any]) -> bool:
    """True when a lead document carries a masked number (the raw one is then only in private/contact)."""
    return any(isinstance(lead.get(f), dict) and not lead[f].get("e164") for f in PHONE_FIELDS if lead.get(f))


def conform(lead: dict[str, Any], *, masked: bool) -> dict[str, Any]:
    """The updates that mask a lead document still holding raw numbers where the organization masks, from the
    document alone (so any transaction that touches a lead can afford it); {} when nothing is to hide."""
    if not masked or not holds_raw(lead):
        return {}
    return lead_view(str(lead.get("name") or ""), {field: lead.get(field) for field in PHONE_FIELDS}, masked=True)


def mask_phone(phone: dict[str, Any]) -> dict[str, Any]:
    """A stored phone (raw or masked) as an agent of a masking organization sees it."""
    display = phone.get("masked") or phones.mask(str(phone.get("e164") or ""), str(phone["countryCode"]))
    return {**phone, "number": str(display).split(" ", 1)[-1], "e164": None, "masked": display}
