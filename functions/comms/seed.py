"""The registered templates every local organization starts with (API.md "Local seed")."""

from __future__ import annotations

from typing import Any

from core import clock, tenancy
from core.org_settings import OrgSettings

TEMPLATES: dict[str, dict[str, Any]] = {
    "wa-site-visit-reminder": {
        "channel": "whatsapp",
        "name": "site_visit_reminder",
        "templateId": None,
        "category": "utility",
        "language": "en",
        "params": ["visitTime"],
        "text": "Reminder: your site visit is at {{1}}. Reply to this message if you need to reschedule.",
    },
    "wa-new-launch-offer": {
        "channel": "whatsapp",
        "name": "new_launch_offer",
        "templateId": None,
        "category": "marketing",
        "language": "en",
        "params": ["projectName"],
        "text": "New launch: {{1}} is now open with introductory prices. Reply YES to know more.",
    },
    "sms-visit-confirmation": {
        "channel": "sms",
        "name": "visit_confirmation",
        "templateId": "1107170000000000001",
        "category": "utility",
        "dltCategory": "service_implicit",
        "language": "en",
        "params": ["visitTime"],
        "text": "Your site visit is confirmed for {#var#}. - JUSTOL",
    },
    "sms-launch-offer": {
        "channel": "sms",
        "name": "launch_offer",
        "templateId": "1107170000000000002",
        "category": "marketing",
        "dltCategory": "promotional",
        "language": "en",
        "params": ["projectName"],
        "text": "{#var#} launch offer: book a site visit this week. - JUSTOL",
    },
}


def local_phone_number_id(org_id: str) -> str:
    """The WhatsApp Cloud API phone number id the local seed routes to an organization."""
    return f"local-{org_id}"


def local_voice_number(org_id: str) -> str:
    """The Plivo number the local seed routes to an organization (a distinct fake number per org)."""
    return "+9180" + str(int.from_bytes(org_id.encode(), "big") % 10**8).zfill(8)


def local_channels(org_id: str) -> dict[str, dict[str, Any]]:
    """The organization's own channels in the local seed: a WhatsApp number, DLT entity and header, email
    sender and voice number of its own, so two local organizations send from different ones."""
    digits = str(int.from_bytes(org_id.encode(), "big") % 10**12).zfill(12)
    return {
        "whatsapp": {
            "phoneNumberId": local_phone_number_id(org_id),
            "wabaId": f"local-waba-{org_id}",
            "accessToken": f"local-token-{org_id}",
        },
        "sms": {"dltEntityId": "1101" + digits[:15], "senderIds": ["JUSTOL"]},
        "email": {"fromAddress": f"sales@{org_id}.example.com", "fromName": None, "replyTo": None},
        "voice": {"callerIds": [local_voice_number(org_id)]},
    }


def seed(org_id: str, members: Any = None) -> list[str]:
    """Write (or refresh) the organization's templates and, unless it has its own, its local channels: WhatsApp
    number, DLT entity, email sender and voice number, which is also its VoIP caller id (API.md "Local seed":
    every comms feature works in the demo); members is unused."""
    from google.cloud import firestore

    from comms import channels

    if not channels.ref(org_id).get().exists:  # an admin's own channels stay
        channels.save(org_id, local_channels(org_id))
    org = tenancy.org_ref(org_id)
    if not OrgSettings.of(org.get().to_dict()).caller_id:  # an admin's own choice stays
        org.update({"settings.callerId": local_voice_number(org_id), "settingsVersion": firestore.Increment(1)})
        tenancy.cache.forget(org.path)
    templates = tenancy.org_ref(org_id).collection("templates")
    now = clock.now()
    for template_id, template in TEMPLATES.items():
        templates.document(template_id).set({**template, "createdAt": now, "updatedAt": now})
    return list(TEMPLATES)
