"""Numbers on message and call records: who gets them masked (the lead's own numbers are `leads.store`'s).

What a message or call record stores, and what a reply shows, is decided from the organization's masking
flag read fresh (`store.masks_now`), never from the per-instance cache alone (leads.store has the rules)."""

from __future__ import annotations

from typing import Any

from core.caller import Caller
from leads import store


def is_raw_number(value: Any) -> bool:
    """True for an E.164 number as records store it unmasked (+919876543210)."""
    return isinstance(value, str) and value.startswith("+") and value[1:].isdigit()


def hides_numbers(caller: Caller, records: list[dict[str, Any]], fields: tuple[str, ...] = ("to", "sender")) -> bool:
    """True when the numbers in these records must be masked for this caller: an agent or rm of a masking
    organization. When the instance's copy of the organization says it does not mask but a record holds a
    raw number, the flag is read again first (an admin may have turned masking on seconds ago)."""
    if store.sees_raw(caller):
        return False
    if store.hidden_from(caller):
        return True
    if not any(is_raw_number(record.get(field)) for record in records for field in fields):
        return False
    return store.masks_now(caller.org_id)


def mask_email(address: str) -> str:
    """An email as agents of a masking organization see it: r***@example.com."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"
