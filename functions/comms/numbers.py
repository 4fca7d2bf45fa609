"""Number routing: which organization a provider's receiving number (WhatsApp or voice) belongs to; the
tables are written by comms.channels.save from each organization's channels."""

from __future__ import annotations

from comms.channels import VOICE_NUMBERS, WHATSAPP_NUMBERS
from core import clients
from core.models import valid_doc_id


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
