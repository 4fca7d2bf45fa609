"""The registered templates every local organization starts with (API.md "Local seed")."""

from __future__ import annotations

from typing import Any

from comms.templates import doc_id, sms_document, whatsapp_document
from core import clock, tenancy
from core.org_settings import OrgSettings


def _whatsapp(name: str, category: str, components: list[dict[str, Any]]) -> dict[str, Any]:
    return whatsapp_document(name, "en", category, "APPROVED", components) | {"gone": False}


def _sms(dlt_id: str, category: str, dlt_category: str, text: str) -> dict[str, Any]:
    return sms_document(dlt_id, category, dlt_category, text, "APPROVED") | {"gone": False}


TEMPLATES: dict[str, dict[str, Any]] = {
    # WhatsApp: the Cloud API's components, as Meta would list them once approved.
    doc_id("whatsapp", "site_visit_reminder", "en"): _whatsapp(
        "site_visit_reminder",
        "utility",
        [
            {
                "type": "BODY",
                "text": "Reminder: your site visit is at {{1}}. Reply to this message if you need to reschedule.",
                "example": {"body_text": [["Sat 30 Nov, 11:00"]]},
            }
        ],
    ),
    doc_id("whatsapp", "new_launch_offer", "en"): _whatsapp(
        "new_launch_offer",
        "marketing",
        [
            {
                "type": "BODY",
                "text": "New launch: {{1}} is now open with introductory prices. Reply YES to know more.",
                "example": {"body_text": [["Skyline Towers"]]},
            }
        ],
    ),
    doc_id("whatsapp", "project_brochure", "en"): _whatsapp(
        "project_brochure",
        "marketing",
        [
            {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::brochure"]}},
            {"type": "BODY", "text": "Here is the brochure of {{1}}, {{2}}.", "example": {"body_text": [["A", "B"]]}},
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Book a visit"},
                    {
                        "type": "URL",
                        "text": "See the project",
                        "url": "https://justo.example.com/p/{{1}}",
                        "example": ["https://justo.example.com/p/skyline"],
                    },
                ],
            },
        ],
    ),
    # SMS: as registered at DLT, one {#var#} per parameter.
    doc_id("sms", "1107170000000000001"): _sms(
        "1107170000000000001", "utility", "service_implicit", "Your site visit is confirmed for {#var#}. - JUSTOL"
    ),
    doc_id("sms", "1107170000000000002"): _sms(
        "1107170000000000002", "marketing", "promotional", "{#var#} launch offer: book a site visit this week. - JUSTOL"
    ),
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
    entity = str(int.from_bytes(org_id.encode(), "big") % 10**15).zfill(15)  # a DLT entity id has 19 digits
    return {
        "whatsapp": {
            "phoneNumberId": local_phone_number_id(org_id),
            "wabaId": f"local-waba-{org_id}",
            "accessToken": f"local-token-{org_id}",
        },
        "sms": {"dltEntityId": "1101" + entity, "senderIds": ["JUSTOL", "100200"]},  # service, promotional
        "email": {"fromAddress": f"sales@{org_id}.example.com", "fromName": None, "replyTo": None},
        "voice": {"callerIds": [local_voice_number(org_id)]},
    }


def seed(org_id: str, members: Any = None) -> list[str]:
    """Write (or refresh) the organization's templates (APPROVED, so the demo sends) and, unless it has its
    own, its local channels: WhatsApp number, DLT entity, email sender and voice number, which is also its VoIP
    caller id (API.md "Local seed": every comms feature works in the demo); members is unused. A caller id
    left in the retired `settings.callerId` becomes the organization's voice number."""
    from google.cloud import firestore

    from comms import channels

    org = tenancy.org_ref(org_id)
    if not channels.ref(org_id).get().exists:  # an admin's own channels stay
        own = local_channels(org_id)
        retired = OrgSettings.untyped(org.get().to_dict()).get("callerId")
        if isinstance(retired, str) and retired:
            own["voice"] = {"callerIds": [retired]}
        channels.save(org_id, own)
    if "callerId" in OrgSettings.untyped(org.get().to_dict()):
        org.update({"settings.callerId": firestore.DELETE_FIELD, "settingsVersion": firestore.Increment(1)})
        tenancy.cache.forget(org.path)
    templates = org.collection("templates")
    now = clock.now()
    for template_id, template in TEMPLATES.items():
        templates.document(template_id).set({**template, "version": 1, "createdAt": now, "updatedAt": now})
    return list(TEMPLATES)
