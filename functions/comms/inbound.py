"""What provider callbacks change: message statuses, inbound WhatsApp, VoIP dial instructions and call results
(webhooks checks the signatures and calls in here)."""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from comms import channels, numbers, providers, service
from comms import config as comms_config
from comms.payloads import SendGridEvent, WhatsAppDelivery, WhatsAppMedia, WhatsAppMessage
from core import clients, clock, tenancy, transactions
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
# SendGrid Event Webhook events: those that move a message's status; those that are the buyer opting out of
# email; the rest (processed, deferred, click, group_resubscribe, ...) change nothing we show.
SENDGRID_STATUSES = {"delivered": "delivered", "open": "read", "bounce": "failed", "dropped": "failed"}
SENDGRID_OPT_OUTS = {"spamreport", "unsubscribe", "group_unsubscribe"}
EMAIL_EVENTS_SEEN = "emailEvents"  # {sha(sg_event_id)}: an event already applied (TTL: SendGrid retries for 72 h)
EMAIL_EVENT_TTL = timedelta(days=7)
MAX_EMAIL_EVENTS = 500  # what one request applies well within its timeout (SendGrid batches up to 768 KB)
EMAIL_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")
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
    skipped: comms.payloads). A buyer's media the Graph API cannot give now (5xx, timeout) ends the delivery in
    503 UNAVAILABLE once every other part is handled: Meta delivers again, and the redelivery writes nothing twice
    and only fetches the media again. Media that can never be fetched (4xx, too large, a type we do not keep) is
    kept on its message as `failed`: 200, so Meta does not retry forever."""
    counts = {"statuses": 0, "messages": 0}
    delivery = WhatsAppDelivery.model_validate(payload)
    if delivery.object != "whatsapp_business_account":
        return counts
    retry_later = False
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
                try:
                    if _inbound_whatsapp(phone_number_id, message, profiles.get(message.sender)):
                        counts["messages"] += 1
                except RetryLater:
                    retry_later = True
    if retry_later:
        raise ApiError("UNAVAILABLE", "A media file could not be fetched from the Graph API; deliver again")
    return counts


class RetryLater(Exception):
    """A part of the delivery that the provider must deliver again (the rest is stored)."""


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


MEDIA_KINDS = ("image", "document", "audio", "video", "sticker")
STOP_WORDS = frozenset({"stop", "unsubscribe"})
START_WORDS = frozenset({"start"})
DEFAULT_OPT_OUT = "You will no longer receive WhatsApp messages from us. Reply START to subscribe again."
DEFAULT_OPT_IN = "You will receive our WhatsApp messages again. Reply STOP to unsubscribe."


@dataclass(frozen=True)
class Content:
    """What an inbound message says, whatever its type: its text (a caption, a location's name, a button's
    title, `[type]` for what has none), the media to fetch, a location, a chosen reply."""

    kind: str
    text: str
    media: WhatsAppMedia | None = None
    location: dict[str, Any] | None = None
    choice: dict[str, Any] | None = None


def content_of(message: WhatsAppMessage) -> Content:
    """The content of an inbound message of any type (pure; a part missing reads as absent)."""
    kind = (message.type or "text")[:40]
    if kind == "text":
        return Content("text", message.text.body or "")
    if kind in MEDIA_KINDS:
        media = getattr(message, kind)
        if media is None or not media.id:
            return Content(kind, f"[{kind}]")
        label = media.caption or (media.filename if kind == "document" else None) or f"[{kind}]"
        return Content(kind, label, media=media)
    if kind == "location":
        place = message.location
        if place.latitude is None or place.longitude is None or not (-90 <= place.latitude <= 90):
            return Content(kind, "[location]")
        where = {
            "latitude": place.latitude,
            "longitude": place.longitude,
            "name": (place.name or "")[:200] or None,
            "address": (place.address or "")[:500] or None,
        }
        return Content(kind, place.name or place.address or "[location]", location=where)
    if kind == "button":
        title = message.button.text or message.button.payload or ""
        return Content(kind, title or "[button]", choice={"id": (message.button.payload or "")[:256], "title": title})
    if kind == "interactive":
        interactive = message.interactive
        chosen = interactive.list_reply if interactive.type == "list_reply" else interactive.button_reply
        title = chosen.title or ""
        choice = {"id": (chosen.id or "")[:256], "title": title, "description": chosen.description}
        return Content(kind, title or "[interactive]", choice=choice)
    return Content(kind, f"[{kind}]")


def command_of(content: Content) -> str | None:
    """ "stop" or "start" when the buyer typed (or tapped) STOP / UNSUBSCRIBE or START, in any case."""
    if content.kind not in ("text", "button", "interactive"):
        return None
    word = content.text.strip().casefold()
    return "stop" if word in STOP_WORDS else "start" if word in START_WORDS else None


def _media_fields(
    org_id: str, lead: LeadRecord, message_id: str, content: Content
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the message's `media`, the pending attachment record) of an inbound media message; (None, None) otherwise."""
    from attachments import service as attachment_service
    from comms import media

    if content.media is None or not content.media.id:
        return None, None
    attachment_id = "att_" + sha256_hex("whatsapp-media", message_id)[:24]
    mime = content.media.mime_type or ""
    kept = media.kept_type(mime)
    name = (content.media.filename or f"whatsapp-{content.kind}")[:150]
    if kept and "." not in name:
        name += media.KEPT_TYPES[kept]
    shown = {"attachmentId": attachment_id, "status": "pending", "contentType": kept or mime[:100], "fileName": name}
    if kept is None:
        return shown | {"attachmentId": None, "status": "failed", "reason": "a file type we do not keep"}, None
    record = attachment_service.received(
        org_id, attachment_id, lead=lead, file_name=name, content_type=kept, size_bytes=0, source="whatsapp"
    )
    return shown | {"reason": None, "mediaId": content.media.id[:200]}, record


def _inbound_whatsapp(phone_number_id: str, message: WhatsAppMessage, profile_name: str | None) -> bool:
    """Log one inbound message in its lead's conversation (creating the lead if unknown), then push its owner,
    answer STOP/START once and fetch its media; a replay writes nothing twice and finishes what was left."""
    from google.cloud import firestore

    from comms import channels, conversations

    org_id = numbers.org_of_whatsapp_number(phone_number_id)
    sender = message.sender or ""
    if org_id is None or not WA_ID.fullmatch(sender) or not message.id:
        log.info("inbound WhatsApp for an unregistered number ignored")
        return False
    doc_id = "wa_" + sha256_hex("whatsapp-inbound", message.id)[:24]
    ref = tenancy.org_ref(org_id).collection("messages").document(doc_id)
    existing = ref.get()
    if existing.exists:
        _after_inbound(org_id, existing.to_dict() or {})
        return False
    e164 = "+" + sender
    lead = _lead_for_inbound(org_id, e164, profile_name)
    if lead is None:
        log.info("inbound WhatsApp from a number that is not a phone number ignored")
        return False
    masked = store.masks_now(org_id)
    content = content_of(message)
    at = _timestamp(message.timestamp)
    media_shown, attachment = _media_fields(org_id, lead, doc_id, content)
    record = service.new_message(
        SYSTEM,
        masked,
        org_id,
        lead,
        "whatsapp",
        "",  # an inbound message is to the organization: no lead number to show
        id=doc_id,
        direction="inbound",
        kind=content.kind,
        sender=phones.mask(e164) if masked else e164,
        text=content.text[:4096],
        media=media_shown,
        location=content.location,
        choice=content.choice,
        attachmentIds=[attachment["id"]] if attachment else [],
        receivedAt=at,
        status="delivered",
        statusHistory=[{"status": "delivered", "at": at, "reason": None}],
        providerMessageId=message.id[:200],
    )
    command = command_of(content)
    reply = None
    if command is not None:
        configured = channels.load(org_id).opt_out_text if command == "stop" else None
        reply = service.new_message(
            SYSTEM,
            masked,
            org_id,
            lead,
            "whatsapp",
            e164,
            id="wa_" + sha256_hex("whatsapp-optout-reply", message.id)[:24],
            kind="text",
            text=(configured or (DEFAULT_OPT_OUT if command == "stop" else DEFAULT_OPT_IN))[:4096],
            optOutReply=command,  # sent to a buyer who just opted out: the confirmation, and nothing else
        )
        reply["dueAt"] = reply["createdAt"]
        record["optOutReplyId"] = reply["id"]

    @firestore.transactional
    def apply(transaction: Any) -> bool:
        if ref.get(transaction=transaction).exists:
            return False
        current = store.get(org_id, lead.id, transaction=transaction) or lead
        conversations.touch(transaction, org_id, current, [record, *([reply] if reply else [])])
        transaction.create(ref, record)
        if attachment is not None:
            transaction.set(_attachment_ref(org_id, attachment["id"]), attachment)
        if reply is not None:
            transaction.update(store.ref(org_id, lead.id), _opt_out_changes(current, command == "stop", at))
            transaction.create(ref.parent.document(reply["id"]), reply)
        return True

    created: bool = transactions.run(apply)
    if not created:
        return False
    _after_inbound(org_id, record)
    return True


def _attachment_ref(org_id: str, attachment_id: str) -> Any:
    return tenancy.org_ref(org_id).collection("attachments").document(attachment_id)


def _opt_out_changes(lead: LeadRecord, stop: bool, at: datetime) -> dict[str, Any]:
    """The lead's do-not-contact after a STOP (whatsapp added, with when) or a START (lifted)."""
    channels = [channel for channel in lead.do_not_contact if channel != "whatsapp"]
    if stop:
        channels.append("whatsapp")
    return {
        "doNotContact": channels,
        "optOuts.whatsapp": at if stop else None,
        "version": lead.version + 1,
        "updatedAt": clock.now(),
        "updatedBy": None,
    }


def _after_inbound(org_id: str, record: dict[str, Any]) -> None:
    """What follows a stored inbound message, each step once however often it runs: the owner's push, the
    STOP/START confirmation, the media download (RetryLater when the provider should deliver again)."""
    _push_owner(org_id, record)
    if record.get("optOutReplyId"):
        service.dispatch(org_id, str(record["optOutReplyId"]))
    shown = record.get("media") or {}
    if shown.get("status") == "pending":
        _fetch_media(org_id, record)


def _push_owner(org_id: str, record: dict[str, Any]) -> None:
    """Tell the lead's owner a WhatsApp message came in: the lead's name and a preview, never a number."""
    from comms import conversations
    from core import notify

    lead = store.get(org_id, str(record["leadId"]))
    if lead is None or not lead.assignee_id:
        return
    name = conversations.preview(lead.name).replace("[number]", "").strip() or "Your lead"
    notify.send(
        notify.Push(
            uid=lead.assignee_id,
            kind="whatsapp-message",
            title=f"WhatsApp from {name}"[:80],
            body=conversations.preview(str(record.get("text") or "")),
            data={
                "orgId": org_id,
                "leadId": lead.id,
                "conversationId": conversations.conversation_id(lead.id, "whatsapp"),
                "messageId": str(record["id"]),
            },
            refs=(lead.id,),
        ),
        dedupe_key=f"whatsapp-inbound:{org_id}:{record['id']}",
    )


def _fetch_media(org_id: str, record: dict[str, Any]) -> None:
    """Fetch a buyer's media with the organization's token and store it as the lead's attachment; the message's
    media then shows ready, or failed with the reason (RetryLater for a failure worth a redelivery)."""
    from attachments import service as attachment_service
    from comms import channels, media

    shown = dict(record.get("media") or {})
    try:
        channel = channels.whatsapp(org_id)
        info = media.fetcher().info(channel, str(shown.get("mediaId")))
        if info.file_size > media.MAX_BYTES:
            raise providers.ProviderError("larger than 20 MB")
        if media.kept_type(info.mime_type) not in (None, shown.get("contentType")):
            raise providers.ProviderError("the file is not of the type announced")
        data = media.fetcher().download(channel, info)
        media.checked(info, data)
        stored = attachment_service.store_received(org_id, str(shown["attachmentId"]), data)
    except providers.ProviderError as error:
        if error.retryable:
            log.warning("inbound WhatsApp media not fetched yet org=%s message=%s", org_id, record.get("id"))
            raise RetryLater from error
        stored = {"status": "rejected", "rejectedReason": error.reason}
    except ApiError as error:  # the organization's WhatsApp channel is gone: nothing can fetch it
        stored = {"status": "rejected", "rejectedReason": str(error)[:200]}
    if stored.get("status") == "ready":
        shown.update({"status": "ready", "reason": None, "sizeBytes": stored.get("sizeBytes")})
    else:
        reason = providers.scrub(str(stored.get("rejectedReason") or "failed"))[:200]
        shown.update({"status": "failed", "reason": reason})
        attachment_ref = _attachment_ref(org_id, str(shown["attachmentId"]))
        attachment = attachment_ref.get()
        if attachment.exists and (attachment.to_dict() or {}).get("status") == "pending":
            attachment_ref.update({"status": "rejected", "rejectedReason": reason, "updatedAt": clock.now()})
    tenancy.org_ref(org_id).collection("messages").document(str(record["id"])).update(
        {"media": shown, "updatedAt": clock.now()}
    )


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


def email_events(payload: Any) -> dict[str, int]:
    """A SendGrid Event Webhook batch (a JSON array of events): each applied once by its sg_event_id; an event
    of another shape, kind or message is skipped and the others still apply. Once MAX_EMAIL_EVENTS are applied,
    UNAVAILABLE asks SendGrid to deliver the batch again: its retry finds those as duplicates and goes on."""
    counts = {"applied": 0, "duplicate": 0, "skipped": 0}
    for raw in payload if isinstance(payload, list) else []:
        if counts["applied"] >= MAX_EMAIL_EVENTS:
            log.warning("email event batch cut after %d applied events: delivered again", MAX_EMAIL_EVENTS)
            raise ApiError("UNAVAILABLE", "Too many events in one delivery; deliver again for the rest")
        counts[_email_event(raw)] += 1
    return counts


def scrub_reason(text: str) -> str:
    """A provider's failure reason as agents may read it: no email address or phone number, at most 200 chars."""
    return providers.scrub(EMAIL_ADDRESS.sub("[address]", text))[:200]


def _email_event(raw: Any) -> str:
    """Apply one SendGrid event: "applied", "duplicate" (its sg_event_id was applied before) or "skipped"."""
    if not isinstance(raw, dict):
        return "skipped"
    event = SendGridEvent.model_validate(raw)
    kind = (event.event or "").lower()
    status = SENDGRID_STATUSES.get(kind)
    message_id = event.justo_message_id or ""
    if (status is None and kind not in SENDGRID_OPT_OUTS) or not event.sg_event_id or not valid_doc_id(message_id):
        return "skipped"
    seen = clients.db().collection(EMAIL_EVENTS_SEEN).document(sha256_hex("sendgrid-event", event.sg_event_id)[:40])
    if seen.get().exists:
        return "duplicate"
    # the organization comes from our own index of the message id, never from the event
    found = service.status_by_provider_id("email", message_id)
    if found is None:
        log.info("email event for an unknown message ignored")
        return "skipped"
    org_id, message_id = found
    at = _timestamp(event.timestamp)
    if status is not None:
        reason = None
        if status == "failed":
            what = "blocked" if kind == "bounce" and (event.type or "").lower() == "blocked" else kind
            reason = scrub_reason(f"{what}: {event.reason}" if event.reason else what)
        service.apply_status(org_id, message_id, status, at=at, reason=reason)
    else:
        _email_opt_out(org_id, message_id)
    now = clock.now()
    # written after the effects: a crash in between is redelivered and applies again, each effect being idempotent
    seen.set({"orgId": org_id, "messageId": message_id, "event": kind, "at": now, "expiresAt": now + EMAIL_EVENT_TTL})
    return "applied"


def _email_opt_out(org_id: str, message_id: str) -> None:
    """The buyer reported the email as spam or unsubscribed: do-not-contact by email on the message's lead."""
    from leads.service import record_do_not_contact

    snapshot = tenancy.org_ref(org_id).collection("messages").document(message_id).get()
    lead_id = str((snapshot.to_dict() or {}).get("leadId") or "") if snapshot.exists else ""
    if valid_doc_id(lead_id) and record_do_not_contact(org_id, lead_id, "email"):
        log.info("email opt-out recorded org=%s lead=%s", org_id, lead_id)


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
    """A lead calls the organization's number: log the call and ring the lead's owner in the app. An unknown
    number becomes a lead (source `call`) routed as any new lead, and its new owner is rung; a lead nobody owns
    (waiting in the managers' queue) gets a missed call on its log and the caller is hung up on."""
    from google.api_core.exceptions import AlreadyExists

    called = "".join(ch for ch in params.get("To", "") if ch.isdigit())
    calling = "".join(ch for ch in params.get("From", "") if ch.isdigit())
    org_id = numbers.org_of_voice_number(called)
    if org_id is None or not 0 < len(calling) <= 15:
        log.info("inbound call to an unregistered number refused")
        return "application/xml", HANGUP
    lead = store.find_by_phone(org_id, "+" + calling) or _lead_for_caller(org_id, "+" + calling)
    if lead is None:
        log.info("inbound call from a number that is not a phone number org=%s", org_id)
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
        outcome=None if owner else "no-answer",
        notes="",
        status="dialing" if owner else "completed",
        providerCallId=(params.get("CallUUID") or "")[:200] or None,
    )
    batch = clients.db().batch()
    batch.create(tenancy.org_ref(org_id).collection("calls").document(call_id), record)
    batch.create(
        clients.db().collection(service.VOIP_INDEX).document(call_id),
        {"orgId": org_id, "agentId": owner, "createdAt": now},
    )
    with contextlib.suppress(AlreadyExists):  # Plivo retried the answer request: the call is already logged
        batch.commit()
    if not owner:
        log.info("inbound call for an unassigned lead org=%s lead=%s: missed", org_id, lead.id)
        return "application/xml", HANGUP
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


def _lead_for_caller(org_id: str, e164: str) -> LeadRecord | None:
    """A new lead for an unknown number calling the organization (source `call` where the organization keeps
    that source), created and routed as any new lead; None when the number is not a valid phone number."""
    import phonenumbers

    from leads.models import LeadCreate
    from leads.service import create_lead

    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    sources = OrgSettings.of(tenancy.load_org(org_id)).sources
    data = LeadCreate.model_validate(
        {
            "name": "Inbound caller",  # the number is the only thing known, and a name is shown unmasked
            "primaryPhone": {"countryCode": f"+{parsed.country_code}", "number": str(parsed.national_number)},
            "source": "call" if "call" in sources else None,
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
        return store.get(org_id, str(duplicate))  # the same caller's other call created it a moment ago


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

    result: bool = transactions.run(apply)
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
