"""Number routing: which organization a provider's receiving number (WhatsApp or voice) belongs to."""

from __future__ import annotations

from core import clients
from core.models import valid_doc_id

WHATSAPP_NUMBERS = "whatsappNumbers"  # {phone_number_id} -> orgId
VOICE_NUMBERS = "voiceNumbers"  # {digits of an organization's Plivo number} -> orgId


def register_whatsapp_number(org_id: str, phone_number_id: str) -> None:
    """Route inbound WhatsApp messages of a Cloud API phone number id to an organization."""
    clients.db().collection(WHATSAPP_NUMBERS).document(phone_number_id).set({"orgId": org_id})


def register_voice_number(org_id: str, e164: str) -> None:
    """Route inbound calls to an organization's Plivo number to that organization."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    clients.db().collection(VOICE_NUMBERS).document(digits).set({"orgId": org_id})


def org_of_whatsapp_number(phone_number_id: str) -> str | None:
    """The organization a WhatsApp phone number id routes to, or None."""
    if not valid_doc_id(phone_number_id):
        return None
    snapshot = clients.db().collection(WHATSAPP_NUMBERS).document(phone_number_id).get()
    return str((snapshot.to_dict() or {}).get("orgId")) if snapshot.exists else None


def org_of_voice_number(called: str) -> str | None:
    """The organization a dialled number (its digits) routes to, or None."""
    if not 0 < len(called) <= 15:
        return None
    snapshot = clients.db().collection(VOICE_NUMBERS).document(called).get()
    return str((snapshot.to_dict() or {})["orgId"]) if snapshot.exists else None
