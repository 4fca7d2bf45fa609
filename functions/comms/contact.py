"""A lead's reachable contact: raw numbers from `private/contact` where the organization masks them.

What a message or call record stores, and what a reply shows, is decided from the organization's masking
flag read fresh (`masks_now`), never from the per-instance cache alone (leads.masking has the rules)."""

from __future__ import annotations

from typing import Any

from core import tenancy
from core.caller import Caller

MASKED_ROLES = frozenset({"agent", "rm"})


def masking(org: dict[str, Any]) -> bool:
    """True when the organization (as read) masks lead phone numbers from agents."""
    from leads.masking import org_masks

    return org_masks(org)


def masks_now(org_id: str) -> bool:
    """The organization's masking flag read now (one document read), not the instance's cached copy."""
    from leads.masking import masks_now as read_now

    return read_now(org_id)


def is_raw_number(value: Any) -> bool:
    """True for an E.164 number as records store it unmasked (+919876543210)."""
    return isinstance(value, str) and value.startswith("+") and value[1:].isdigit()


def hides_numbers(caller: Caller, records: list[dict[str, Any]], fields: tuple[str, ...] = ("to", "sender")) -> bool:
    """True when the numbers in these records must be masked for this caller: an agent or rm of a masking
    organization. When the instance's copy of the organization says it does not mask but a record holds a
    raw number, the flag is read again first (an admin may have turned masking on seconds ago)."""
    if caller.role not in MASKED_ROLES:
        return False
    if masking(caller.org):
        return True
    if not any(is_raw_number(record.get(field)) for record in records for field in fields):
        return False
    return masks_now(caller.org_id)


def mask(e164: str) -> str:
    """A phone as agents of a masking organization see it: +91 98XXXXXX10."""
    import phonenumbers

    try:
        parsed = phonenumbers.parse(e164, None)
        prefix, national = f"+{parsed.country_code}", str(parsed.national_number)
    except phonenumbers.NumberParseException:
        prefix, national = "", "".join(ch for ch in e164 if ch.isdigit())
    if len(national) <= 4:
        return f"{prefix} {'X' * len(national)}".strip()
    return f"{prefix} {national[:2]}{'X' * (len(national) - 4)}{national[-2:]}".strip()


def mask_email(address: str) -> str:
    """An email as agents of a masking organization see it: r***@example.com."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def _private(org_id: str, lead_id: str) -> dict[str, Any]:
    ref = tenancy.org_ref(org_id).collection("leads").document(lead_id).collection("private").document("contact")
    snapshot = ref.get()
    return snapshot.to_dict() or {} if snapshot.exists else {}


def _e164(phone: Any) -> str | None:
    if isinstance(phone, dict):
        value = phone.get("e164")
        if isinstance(value, str) and value.startswith("+") and value[1:].isdigit():
            return value
    return None


def raw_phone(org_id: str, lead: dict[str, Any]) -> str | None:
    """The lead's dialable primary number: from private/contact (raw), else the unmasked lead document."""
    contact = _private(org_id, str(lead["id"]))
    return _e164(contact.get("primaryPhone")) or _e164(lead.get("primaryPhone"))


def raw_email(org_id: str, lead: dict[str, Any]) -> str | None:
    """The lead's first email address (raw, from private/contact)."""
    emails = _private(org_id, str(lead["id"])).get("emails") or lead.get("emails") or []
    for email in emails:
        value = email.get("address") if isinstance(email, dict) else email
        if isinstance(value, str) and "@" in value:
            return value
    return None


def find_lead_by_phone(org_id: str, e164: str) -> dict[str, Any] | None:
    """The unarchived lead whose primary or alternate number is e164, through the unique contact keys."""
    from leads.service import contact_key, key_ref

    key = key_ref(org_id, contact_key("phone", e164)).get()
    if not key.exists:
        return None
    snapshot = tenancy.org_ref(org_id).collection("leads").document(str(key.get("leadId"))).get()
    if not snapshot.exists or (snapshot.to_dict() or {}).get("archived"):
        return None
    return {"id": snapshot.id, **(snapshot.to_dict() or {})}
