"""What provider callbacks change: message statuses, inbound WhatsApp, VoIP dial instructions and call results
(webhooks checks the signatures and calls in here)."""

from __future__ import annotations

import contextlib
import logging
import re
from datetime import UTC, datetime
from typing import Any

from comms import channels, numbers, providers, service
from comms import config as comms_config
from comms.payloads import EmailEvent, WhatsAppDelivery, WhatsAppMessage
from core import clients, clock, tenancy
from core.caller import SYSTEM
from core.errors import ApiError
from core.ids import sha256_hex
from core.models import valid_doc_id
from core.org_settings import OrgSettings
from leads import phones, store
from leads.store import LeadRecord

log = logging.getLogger("justo.webhooks")  # callback logs stay under one name, wherever the handling lives

WHATSAPP_STATUSES = {"sent", "delivered", "read", "failed"}
WA_ID = re.compile(r"[0-9]{6,15}")  # a sender's WhatsApp id: its E.164 digits (ASCII: str.isdigit takes "²")
PLIVO_SMS_STATUSES = {
    "sent": "sent",
    "delivered": "delivered",
    "failed": "failed",
    "undelivered": "failed",
    "rejected": "failed",
}
EMAIL_EVENTS = {
    "delivered": "delivered",
    "opened": "read",
    "bounced": "failed",
    "dropped": "failed",
    "failed": "failed",
}
DIAL_OUTCOMES = {
    "completed": "connected",
    "busy": "busy",
    "no-answer": "no-answer",
    "timeout": "no-answer",
    "cancel": "no-answer",
    "failed": "failed",
}


def _timestamp(value: str | None) -> datetime:
    """A provider's Unix time in seconds; now when absent or not a storable time."""
    try:
        return datetime.fromtimestamp(int(str(value)), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return clock.now()


def provider_status(provider: str, provider_message_id: str, status: str, *, at: datetime, reason: str | None) -> bool:
    """Apply a delivery status reported by a provider; unknown message ids are ignored."""
    found = service.status_by_provider_id(provider, provider_message_id)
    if found is None:
        log.info("status for an unknown %s message ignored", provider)
        return False
    org_id, message_id = found
    return service.apply_status(org_id, message_id, status, at=at, reason=reason)


def whatsapp_event(payload: dict[str, Any]) -> dict[str, int]:
    """Statuses and inbound messages of one WhatsApp Cloud API webhook delivery (parts of another shape are
    skipped: comms.payloads)."""
    counts = {"statuses": 0, "messages": 0}
    delivery = WhatsAppDelivery.model_validate(payload)
    if delivery.object != "whatsapp_business_account":
        return counts
    for entry in delivery.entry:
        for change in entry.changes:
            value = change.value
            for status in value.statuses:
                if status.status not in WHATSAPP_STATUSES or not status.id:
                    continue
                reason = None
                if status.status == "failed":
                    first = status.errors[0] if status.errors else None
                    why = (first.title or first.message) if first is not None else None
                    # shown to agents in the lead's history: never with the number Meta may quote
                    reason = providers.scrub(why or "failed")[:200]
                provider_status("whatsapp", status.id, status.status, at=_timestamp(status.timestamp), reason=reason)
                counts["statuses"] += 1
            phone_number_id = value.metadata.phone_number_id or ""
            profiles = {contact.wa_id: contact.profile.name for contact in value.contacts}
            for message in value.messages:
                if _inbound_whatsapp(phone_number_id, message, profiles.get(message.sender)):
                    counts["messages"] += 1
    return counts


def _lead_for_inbound(org_id: str, e164: str, profile_name: str | None) -> LeadRecord | None:
    """The lead with this number, or a new one with source whatsapp, assigned as any new lead; None for a
    sender whose number is not a valid phone number (no lead can hold it)."""
    lead = store.find_by_phone(org_id, e164)
    if lead is not None:
        return lead
    import phonenumbers

    from leads.models import LeadCreate
    from leads.service import create_lead

    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    # WhatsApp profile names are often the number itself: a lead's name is shown to agents, its number may not be.
    name = providers.scrub(profile_name or "").replace("[number]", "").strip()[:120]
    data = LeadCreate.model_validate(
        {
            "name": name or "WhatsApp lead",
            "primaryPhone": {"countryCode": f"+{parsed.country_code}", "number": str(parsed.national_number)},
            "source": "whatsapp",
        }
    )
    try:
        return create_lead(org_id=org_id, actor=SYSTEM, data=data)
    except ApiError as error:
        duplicate = error.extra.get("duplicateOf")
        if error.code == "INVALID_ARGUMENT":
            return None
        if error.code != "ALREADY_EXISTS" or not duplicate:
            raise
        return store.get(org_id, str(duplicate))


def _inbound_whatsapp(phone_number_id: str, message: WhatsAppMessage, profile_name: str | None) -> bool:
    """Log one inbound message on its lead (creating the lead if unknown); replays write nothing."""
    from google.api_core.exceptions import AlreadyExists

    org_id = numbers.org_of_whatsapp_number(phone_number_id)
    sender = message.sender or ""
    if org_id is None or not WA_ID.fullmatch(sender) or not message.id:
        log.info("inbound WhatsApp for an unregistered number ignored")
        return False
    doc_id = "wa_" + sha256_hex("whatsapp-inbound", message.id)[:24]
    ref = tenancy.org_ref(org_id).collection("messages").document(doc_id)
    if ref.get().exists:
        return False
    e164 = "+" + sender
    lead = _lead_for_inbound(org_id, e164, profile_name)
    if lead is None:
        log.info("inbound WhatsApp from a number that is not a phone number ignored")
        return False
    masked = store.masks_now(org_id)
    kind = message.type or "text"
    text = (message.text.body or "") if kind == "text" else f"[{kind[:40]}]"
    at = _timestamp(message.timestamp)
    record = service.new_message(
        SYSTEM,
        masked,
        org_id,
        lead,
        "whatsapp",
        "",  # an inbound message is to the organization: no lead number to show
        id=doc_id,
        direction="inbound",
        sender=phones.mask(e164) if masked else e164,
        text=text[:4096],
        status="delivered",
        statusHistory=[{"status": "delivered", "at": at, "reason": None}],
        providerMessageId=message.id[:200],
    )
    try:
        ref.create(record)
    except AlreadyExists:
        return False
    return True


def sms_report(params: dict[str, str]) -> bool:
    """A Plivo delivery report: MessageUUID, Status, ErrorCode."""
    status = PLIVO_SMS_STATUSES.get(params.get("Status", "").lower())
    uuid = params.get("MessageUUID", "")
    if status is None or not uuid:
        return False
    reason = None
    if status == "failed":
        code = params.get("ErrorCode") or "unknown"
        reason = f"{params.get('Status', 'failed').lower()} (Plivo error {code})"
    return provider_status("sms", uuid, status, at=clock.now(), reason=reason)


def email_event(payload: dict[str, Any]) -> bool:
    """An email provider event: {messageId, event, reason?, timestamp?} (comms.payloads.EmailEvent)."""
    event = EmailEvent.model_validate(payload)
    status = EMAIL_EVENTS.get(event.event or "")
    if status is None or not event.message_id:
        return False
    reason = (event.reason or event.event or "failed")[:200] if status == "failed" else None
    return provider_status("email", event.message_id, status, at=_timestamp(event.timestamp), reason=reason)


# ---- voice -----------------------------------------------------------------------------------


def _voip_call(call_id: str) -> tuple[str, Any, dict[str, Any]] | None:
    if not valid_doc_id(call_id):
        return None
    index = clients.db().collection(service.VOIP_INDEX).document(call_id).get()
    if not index.exists:
        return None
    org_id = str((index.to_dict() or {})["orgId"])
    ref = tenancy.org_ref(org_id).collection("calls").document(call_id)
    snapshot = ref.get()
    if not snapshot.exists:
        return None
    return org_id, ref, snapshot.to_dict() or {}


HANGUP = '<?xml version="1.0" encoding="utf-8"?>\n<Response>\n<Hangup reason="rejected" />\n</Response>'


def _header_param(params: dict[str, str], name: str) -> str:
    lowered = name.lower()
    return next((value for key, value in params.items() if key.lower() == lowered), "")


def _inbound_call(params: dict[str, str]) -> tuple[str, str]:
    """A lead calls the organization's number: log the call and ring the lead's owner in the app."""
    from google.api_core.exceptions import AlreadyExists

    called = "".join(ch for ch in params.get("To", "") if ch.isdigit())
    calling = "".join(ch for ch in params.get("From", "") if ch.isdigit())
    org_id = numbers.org_of_voice_number(called)
    if org_id is None or not calling:
        log.info("inbound call to an unregistered number refused")
        return "application/xml", HANGUP
    lead = store.find_by_phone(org_id, "+" + calling)
    if lead is None or not lead.assignee_id:
        log.info("inbound call from an unknown number org=%s", org_id)
        return "application/xml", HANGUP
    owner = lead.assignee_id
    call_id = "call_" + sha256_hex("plivo-inbound", params.get("CallUUID") or calling)[:20]
    now = clock.now()
    record = service.call_record(
        org_id,
        owner,
        lead,
        now,
        id=call_id,
        direction="inbound",
        kind="voip",
        startedAt=now,
        durationSec=0,
        outcome=None,
        notes="",
        status="dialing",
        providerCallId=params.get("CallUUID") or None,
    )
    batch = clients.db().batch()
    batch.create(tenancy.org_ref(org_id).collection("calls").document(call_id), record)
    batch.create(
        clients.db().collection(service.VOIP_INDEX).document(call_id),
        {"orgId": org_id, "agentId": owner, "createdAt": now},
    )
    with contextlib.suppress(AlreadyExists):  # Plivo retried the answer request: the call is already logged
        batch.commit()
    settings = OrgSettings.of(tenancy.load_org(org_id, fresh=True))
    shown_id, shown_name = ring_display(
        settings, calling="+" + calling, called="+" + called, caller_id=_caller_id(org_id)
    )
    return providers.voice().ring_agent(
        call_id=call_id,
        uid=owner,
        caller_id=shown_id,
        caller_name=shown_name,
        record=settings.call_recording,
        callback_base=comms_config.get().public_base,
    )


def _caller_id(org_id: str) -> str | None:
    """The organization's VoIP caller id (voice.callerIds[0] of its channels), or None."""
    voice = channels.load_plain(org_id).voice
    return voice.caller_id if voice else None


def ring_display(settings: OrgSettings, *, calling: str, called: str, caller_id: str | None) -> tuple[str, str | None]:
    """(caller id, caller name) the agent's app shows for a lead's inbound call: the lead's number where the
    organization does not mask; where it masks, the organization's own number (its caller id, else the number
    the lead dialled) and the masked number as the name, so the app's call screen never holds the raw one."""
    if not settings.phone_masking:
        return calling, None
    return caller_id or called, phones.mask(calling)


def voice_answer(params: dict[str, str]) -> tuple[str, str]:
    """Plivo's answer request: an app-placed call dials the lead's raw number; an inbound one rings the owner."""
    call_id = _header_param(params, "X-PH-CallId")
    if (
        not call_id
        and params.get("Direction", "").lower() == "inbound"
        and not params.get("From", "").startswith("sip:")
    ):
        return _inbound_call(params)
    call_id = call_id or params.get("To", "").rpartition(":")[2].partition("@")[0]
    found = _voip_call(call_id)
    if found is None:
        log.info("voice answer for an unknown call refused")
        return "application/xml", HANGUP
    org_id, ref, call = found
    caller_endpoint = params.get("From", "").removeprefix("sip:").partition("@")[0]
    if call.get("status") != "dialing" or caller_endpoint != providers.endpoint_username(str(call.get("agentId"))):
        log.info("voice answer refused org=%s call=%s", org_id, call_id)
        return "application/xml", HANGUP
    settings = OrgSettings.of(tenancy.load_org(org_id))
    lead = store.get(org_id, str(call["leadId"]))
    number = store.dialable(org_id, lead) if lead is not None else None
    caller_id = _caller_id(org_id) or ""
    if lead is None or not number or not caller_id or not lead.contactable("call"):
        log.info("voice answer refused org=%s call=%s: no number, caller id or consent", org_id, call_id)
        return "application/xml", HANGUP
    ref.update({"providerCallId": params.get("CallUUID") or None, "updatedAt": clock.now()})
    return providers.voice().dial_instructions(
        call_id=call_id,
        number=number,
        caller_id=caller_id,
        record=settings.call_recording,
        callback_base=comms_config.get().public_base,
    )


def voice_status(call_id: str, params: dict[str, str]) -> bool:
    """Plivo's Dial action: DialStatus and DialBLegDuration complete the call log (once)."""
    from google.cloud import firestore

    found = _voip_call(call_id)
    outcome = DIAL_OUTCOMES.get(params.get("DialStatus", "").lower())
    if found is None or outcome is None:
        return False
    _, ref, _ = found
    try:
        duration = min(86_400, max(0, int(float(params.get("DialBLegDuration") or 0))))
    except (ValueError, OverflowError):  # "inf" is a float, not an int
        duration = 0

    @firestore.transactional
    def apply(transaction: Any) -> bool:
        call = ref.get(transaction=transaction).to_dict() or {}
        if call.get("status") == "completed":
            return False
        transaction.update(
            ref,
            {
                "status": "completed",
                "outcome": outcome,
                "durationSec": duration if outcome == "connected" else 0,
                "version": int(call.get("version", 1)) + 1,
                "updatedAt": clock.now(),
            },
        )
        return True

    result: bool = apply(clients.db().transaction())
    return result


def voice_recording(call_id: str, params: dict[str, str]) -> bool:
    """Plivo's recording callback: keep the link where the organization records calls."""
    found = _voip_call(call_id)
    url = params.get("RecordUrl", "")
    if found is None or not url.startswith("https://"):
        return False
    org_id, ref, call = found
    if not OrgSettings.of(tenancy.load_org(org_id)).call_recording or call.get("recordingUrl") == url:
        return False
    ref.update({"recordingUrl": url, "updatedAt": clock.now()})
    return True
