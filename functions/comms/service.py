"""Calls and messages to leads: stored first, then sent; do-not-contact, opt-in and promotional-window rules."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from comms import channels, contact, providers, rules, templates
from comms.models import (
    CallCreate,
    CallListQuery,
    EmailCreate,
    MessageListQuery,
    SmsCreate,
    WhatsAppCreate,
    WhatsAppReply,
)
from core import clients, clock, pagination, secrets, tenancy, transactions
from core.caller import SYSTEM, Actor, Caller
from core.errors import ApiError, forbidden, invalid, not_found, precondition
from core.ids import new_id, sha256_hex
from core.models import valid_doc_id
from core.org_settings import OrgSettings
from core.visibility import can_see_record
from leads import phones, store
from leads.store import LeadRecord
from routing import contact as first_contact

log = logging.getLogger("justo.comms")

PROVIDER_INDEX = "providerMessages"  # {sha(provider, providerMessageId)} -> orgId, messageId
VOIP_INDEX = "voipCalls"  # {callId} -> orgId, agentId
SEND_CLAIM = timedelta(minutes=5)
TOKEN_LIFETIME_SEC = 600
REGISTRATION_LIFETIME_SEC = 3600  # the app registers again before it ends (a token cannot be revoked early)


def _org_col(org_id: str, name: str) -> Any:
    return tenancy.org_ref(org_id).collection(name)


def provider_key(provider: str, provider_message_id: str) -> str:
    """The index document id of a provider's message id."""
    return sha256_hex(provider, provider_message_id)[:40]


def _refuse_do_not_contact(caller: Caller, lead: LeadRecord, channel: str) -> None:
    if lead.restricted:
        raise precondition("This lead restricted the processing of its data: no contact until it is lifted")
    if not lead.contactable(channel):
        # ids only: no names or numbers in logs
        log.info("do-not-contact refused org=%s lead=%s channel=%s by=%s", caller.org_id, lead.id, channel, caller.uid)
        raise precondition(f"This lead asked not to be contacted by {channel}", channel=channel)


# ---- calls -----------------------------------------------------------------------------------


def log_call(*, caller: Caller, data: CallCreate) -> dict[str, Any]:
    """Store a call the agent made or took on its own phone; the assignee's first one is the lead's first
    contact, stamped in the same transaction."""
    from google.cloud import firestore

    caller.require("comms.call")
    lead_id = data.lead_id or _lead_id_by_phone(caller, data)
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        lead = store.get_visible(caller, lead_id, transaction=transaction)
        record = call_record(
            caller.org_id,
            caller.uid,
            lead,
            now,
            direction=data.direction,
            kind=data.kind,
            startedAt=data.started_at,
            durationSec=data.duration_sec,
            outcome=data.outcome,
            notes=data.notes,
            status="logged",
        )
        transaction.create(_org_col(caller.org_id, "calls").document(record["id"]), record)
        # logged now: a call backdated by its startedAt does not make a response look faster than it was
        first = first_contact.changes(lead.document(), caller.uid, now)
        if first:
            transaction.update(store.ref(caller.org_id, lead.id), first)
        return record

    result: dict[str, Any] = transactions.run(apply)
    return result


def call_record(org_id: str, agent_id: str | None, lead: LeadRecord, now: Any, **fields: Any) -> dict[str, Any]:
    """A new call log of an agent on a lead: ids, owner and team from the lead, then the call's own fields."""
    return {
        "id": new_id("call_"),
        "orgId": org_id,
        "leadId": lead.id,
        "leadOwnerId": lead.assignee_id,
        "agentId": agent_id,
        "teamId": lead.team_id,
        "recordingUrl": None,
        "version": 1,
        "createdAt": now,
        "updatedAt": now,
        **fields,
    }


def _lead_id_by_phone(caller: Caller, data: CallCreate) -> str:
    """The id of the lead with the call's number, or 404."""
    assert data.phone is not None
    default = caller.settings.default_country_code
    parsed = phones.parse(
        data.phone.number, data.phone.country_code, default_country_code=default, field="phone.number"
    )
    lead = store.find_by_phone(caller.org_id, parsed.e164)
    if lead is None:
        raise not_found("Lead with this number")
    return lead.id


def list_calls(*, caller: Caller, query: CallListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of calls: a lead's (when the caller sees the lead) or the caller's visible ones."""
    return _list(caller, "calls", query.lead_id, query.limit, query.cursor)


def _list(
    caller: Caller, collection: str, lead_id: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    ref: Any = _org_col(caller.org_id, collection)
    if lead_id:
        store.get_visible(caller, lead_id)
        ref = ref.where(filter=clients.where("leadId", "==", lead_id))
    elif caller.role == "manager":
        if caller.team_id is None:
            return [], None
        ref = ref.where(filter=clients.where("teamId", "==", caller.team_id))
    elif caller.role != "admin":
        ref = ref.where(filter=clients.where("agentId", "==", caller.uid))
    snapshots, next_cursor = pagination.page(ref, order_field="createdAt", limit=limit, cursor=cursor)
    return [s.to_dict() or {} for s in snapshots], next_cursor


def start_voip(*, caller: Caller, lead_id: str) -> dict[str, Any]:
    """Create the call log of a VoIP call and the agent's SDK token and TURN credentials."""
    caller.require("comms.call")
    lead = store.get_visible(caller, lead_id)
    _refuse_do_not_contact(caller, lead, "call")
    channels.voice(caller.org_id)  # 409 naming voice.callerIds before anything is stored
    if not store.dialable(caller.org_id, lead):
        raise precondition("This lead has no phone number to call")
    now = clock.now()
    record = call_record(
        caller.org_id,
        caller.uid,
        lead,
        now,
        direction="outbound",
        kind="voip",
        startedAt=now,
        durationSec=0,
        outcome=None,
        notes="",
        status="dialing",
        providerCallId=None,
    )
    call_id = record["id"]
    batch = clients.db().batch()
    batch.create(_org_col(caller.org_id, "calls").document(call_id), record)
    batch.create(
        clients.db().collection(VOIP_INDEX).document(call_id),
        {"orgId": caller.org_id, "agentId": caller.uid, "createdAt": now},
    )
    batch.commit()
    # the agent dialling from the app is a call as much as one logged afterwards (no transaction: a guarded one)
    first_contact.stamp(store.ref(caller.org_id, lead.id), caller.uid, now)
    return {"callId": call_id, **_sdk_login(caller, token_id=call_id, now=now, lifetime_sec=TOKEN_LIFETIME_SEC)}


def voip_registration(*, caller: Caller) -> dict[str, Any]:
    """What the agent's app registers its endpoint with to receive calls (a lead calling the organization's
    number rings its owner there), without starting one: the SDK token, the endpoint and TURN credentials.
    Nothing is stored; members who may not call get 403, and sessions that are over 401 (read fresh)."""
    caller.require("comms.call")
    now = clock.now()
    login = _sdk_login(caller, token_id=new_id("reg_"), now=now, lifetime_sec=REGISTRATION_LIFETIME_SEC)
    return {**login, "endpoint": providers.endpoint_username(caller.uid)}


def _sdk_login(caller: Caller, *, token_id: str, now: datetime, lifetime_sec: int) -> dict[str, Any]:
    """The provider token of the caller's endpoint and TURN credentials for app-to-app calls."""
    from comms import config

    voice = providers.voice()
    token = voice.access_token(uid=caller.uid, token_id=token_id, now=now.timestamp(), lifetime_sec=lifetime_sec)
    username, credential = rules.turn_credentials(secret=secrets.value(secrets.TURN_SECRET), uid=caller.uid, now=now)
    return {
        "provider": voice.name,
        "accessToken": token,
        "expiresAt": now + timedelta(seconds=lifetime_sec),
        "iceServers": [{"urls": list(config.get().turn_urls), "username": username, "credential": credential}],
    }


# ---- templates -------------------------------------------------------------------------------


def list_templates(*, caller: Caller) -> list[dict[str, Any]]:
    """The organization's registered templates."""
    return templates.list_templates(caller=caller)


# ---- messages --------------------------------------------------------------------------------


def new_message(
    actor: Actor, masked: bool, org_id: str, lead: LeadRecord, channel: str, to: str, **fields: Any
) -> dict[str, Any]:
    """A message record (outbound and queued unless fields say otherwise); `to` masked where the organization
    masks (the flag as read for this send)."""
    now = clock.now()
    return {
        "id": new_id("msg_"),
        "orgId": org_id,
        "leadId": lead.id,
        "leadOwnerId": lead.assignee_id,
        "agentId": lead.assignee_id if actor is SYSTEM else actor.uid,
        "sentBy": None if actor is SYSTEM else actor.uid,  # who sent it: only a member's send is first contact
        "teamId": lead.team_id,
        "channel": channel,
        "direction": "outbound",
        "to": phones.mask(to) if masked and channel != "email" else to,
        "template": None,
        "category": None,
        "subject": None,
        "text": "",
        "params": [],
        "status": "queued",
        "statusHistory": [{"status": "queued", "at": now, "reason": None}],
        "providerMessageId": None,
        "failureReason": None,
        "sendAfter": None,
        "attachmentIds": [],
        "createdAt": now,
        "updatedAt": now,
        **fields,
    }


def send_sms(*, caller: Caller, data: SmsCreate) -> dict[str, Any]:
    """Store an SMS on a DLT template, then send it (or queue it outside the promotional window)."""
    caller.require("comms.send")
    lead = store.get_visible(caller, data.lead_id)
    _refuse_do_not_contact(caller, lead, "sms")
    template = templates.find(caller.org_id, channel="sms", templateId=data.template_id)
    if template is None:
        raise invalid("templateId", "no registered SMS template with this DLT id")
    templates.check_sms(template, data.params)
    phone = store.dialable(caller.org_id, lead)
    if not phone:
        raise precondition("This lead has no phone number")
    sender = channels.sms(caller.org_id)
    dlt_category = template.get("dltCategory") or rules.DLT_CATEGORY.get(str(template.get("category")), "promotional")
    header = sender.header_for(str(dlt_category))
    if header is None:
        kind = "6-digit (promotional)" if dlt_category == "promotional" else "6-letter (transactional, service)"
        raise precondition(
            f"The organization has no {kind} DLT header for this template; an admin adds one to sms.senderIds",
            setting="sms.senderIds",
        )
    message = new_message(
        caller,
        store.masks_now(caller.org_id),
        caller.org_id,
        lead,
        "sms",
        phone,
        senderId=header,
        template=data.template_id,
        category=template.get("category"),
        dltCategory=dlt_category,
        text=rules.fill_dlt_text(str(template.get("text") or ""), data.params),
        params=list(data.params),
    )
    return _store_and_send(caller.settings, caller.org_id, message)


def send_whatsapp(*, caller: Caller, data: WhatsAppCreate) -> dict[str, Any]:
    """Store a WhatsApp template message, then send it; needs the lead's recorded opt-in."""
    caller.require("comms.send")
    lead = store.get_visible(caller, data.lead_id)
    _refuse_do_not_contact(caller, lead, "whatsapp")
    template = templates.find(caller.org_id, channel="whatsapp", name=data.template_name, language=data.language)
    if template is None:
        raise invalid("templateName", "no registered WhatsApp template with this name and language")
    button_indexes = templates.check_whatsapp(template, data.params, data.header, data.button_params)
    if not lead.opted_in("whatsapp"):
        raise precondition("The lead has not opted in to WhatsApp messages", channel="whatsapp")
    phone = store.dialable(caller.org_id, lead)
    if not phone:
        raise precondition("This lead has no phone number")
    number = channels.whatsapp(caller.org_id)
    header = _whatsapp_header(caller.org_id, lead, data)
    message = new_message(
        caller,
        store.masks_now(caller.org_id),
        caller.org_id,
        lead,
        "whatsapp",
        phone,
        senderId=number.phone_number_id,
        kind="template",
        template=data.template_name,
        language=data.language,
        category=template.get("category"),
        text=" | ".join(data.params),
        params=list(data.params),
        header=header,
        buttonParams=list(data.button_params),
        buttonIndexes=list(button_indexes),
        attachmentIds=[header["attachmentId"]] if header and header.get("attachmentId") else [],
    )
    return _store_and_send(caller.settings, caller.org_id, message)


# Free-form media a reply can carry, by the attachment's type (WhatsApp's own media types).
REPLY_MEDIA = {
    "image/jpeg": "image",
    "image/png": "image",
    "application/pdf": "document",
    "audio/ogg": "audio",
    "audio/mpeg": "audio",
    "audio/aac": "audio",
    "audio/mp4": "audio",
    "audio/amr": "audio",
    "video/mp4": "video",
    "video/3gpp": "video",
}


def send_reply(*, caller: Caller, data: WhatsAppReply) -> dict[str, Any]:
    """A free-form WhatsApp reply (text, or a ready attachment of the lead) inside the customer-service window,
    stored in the lead's conversation and sent; outside the window 409 (a template is what may go out)."""
    from attachments import service as attachment_service
    from comms import conversations

    if data.text is None and data.attachment_id is None:
        raise invalid("text", "give text or attachmentId")
    caller.require("comms.send")
    lead = store.get_visible(caller, data.lead_id)
    _refuse_do_not_contact(caller, lead, "whatsapp")
    phone = store.dialable(caller.org_id, lead)
    if not phone:
        raise precondition("This lead has no phone number")
    number = channels.whatsapp(caller.org_id)
    snapshot = conversations.ref(caller.org_id, conversations.conversation_id(lead.id, "whatsapp")).get()
    window = (snapshot.to_dict() or {}).get("windowOpenUntil") if snapshot.exists else None
    if window is None or window <= clock.now():
        raise precondition(
            "The lead has not written in the last 24 hours: WhatsApp allows only a template; send a template instead",
            windowOpenUntil=clock.rfc3339(window) if window else None,
        )
    kind, attachment_ids = "text", []
    if data.attachment_id is not None:
        record = attachment_service.load(caller.org_id, data.attachment_id)
        if record is None or record.get("leadId") != lead.id:
            raise invalid("attachmentId", "no such attachment on this lead")
        if record.get("status") != "ready":
            raise invalid("attachmentId", "the upload is not complete")
        if record.get("contentType") not in REPLY_MEDIA:
            raise invalid("attachmentId", "WhatsApp sends JPEG or PNG images, PDF documents, audio and MP4 video")
        kind, attachment_ids = REPLY_MEDIA[str(record["contentType"])], [data.attachment_id]
    message = new_message(
        caller,
        store.masks_now(caller.org_id),
        caller.org_id,
        lead,
        "whatsapp",
        phone,
        senderId=number.phone_number_id,
        kind=kind,
        text=data.text or "",
        attachmentIds=attachment_ids,
    )
    return _store_and_send(caller.settings, caller.org_id, message)


# WhatsApp fetches header media by link: the types it takes for each header type, among our attachments.
HEADER_MEDIA = {"image": ("image/jpeg", "image/png"), "document": ("application/pdf",), "video": ()}
HEADER_LINK_MINUTES = 60  # the link is made when the message goes out; the provider fetches it at once


def _whatsapp_header(org_id: str, lead: LeadRecord, data: WhatsAppCreate) -> dict[str, Any] | None:
    """The header to store: text, or a ready attachment of the lead of a type WhatsApp shows in that header."""
    from attachments import service as attachment_service

    if data.header is None:
        return None
    if data.header.type == "text":
        return {"type": "text", "text": data.header.text, "attachmentId": None}
    record = attachment_service.load(org_id, str(data.header.attachment_id))
    if record is None or record.get("leadId") != lead.id:
        raise invalid("header.attachmentId", "no such attachment on this lead")
    if record.get("status") != "ready":
        raise invalid("header.attachmentId", "the upload is not complete")
    allowed = HEADER_MEDIA[data.header.type]
    if record.get("contentType") not in allowed:
        wanted = ", ".join(allowed) if allowed else "a video, which attachments cannot hold (images and PDF only)"
        raise invalid("header.attachmentId", f"a {data.header.type} header shows {wanted}")
    return {"type": data.header.type, "attachmentId": record["id"], "text": None}


def _outgoing_header(org_id: str, message: dict[str, Any]) -> dict[str, str] | None:
    """The stored header as the provider takes it (a fresh link to the approved file for media)."""
    from attachments import service as attachment_service

    header = message.get("header")
    if not header:
        return None
    if header["type"] == "text":
        return {"type": "text", "text": str(header["text"])}
    record = attachment_service.load(org_id, str(header["attachmentId"]))
    if record is None or record.get("status") != "ready":
        raise providers.ProviderError("the header's attachment is no longer available")
    link = attachment_service.download_link(record, minutes=HEADER_LINK_MINUTES)
    return {"type": str(header["type"]), "link": link, "filename": str(record.get("fileName") or "")}


def _store_and_send(settings: OrgSettings, org_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """Store the message; send now, or leave it queued until the promotional window opens."""
    if message.get("category") == "marketing":
        message["sendAfter"] = rules.promotional_send_after(clock.now(), settings.time_zone)
    # dueAt lets the scheduled sender pick up a message whose immediate send never finished.
    message["dueAt"] = message["sendAfter"] or message["createdAt"]
    if message["channel"] == "whatsapp":
        from comms import conversations

        conversations.store_outbound(org_id, message)  # the lead's conversation moves with it, atomically
    else:
        _org_col(org_id, "messages").document(message["id"]).create(message)
    if message["sendAfter"] is not None:
        return message
    return dispatch(org_id, message["id"])


def _claim(org_id: str, message_id: str) -> dict[str, Any] | None:
    """Mark a queued message as being sent (one sender at a time); None when it is not ours to send."""
    from google.cloud import firestore

    ref = _org_col(org_id, "messages").document(message_id)
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any] | None:
        snapshot = ref.get(transaction=transaction)
        message = snapshot.to_dict() if snapshot.exists else None
        if not message or message.get("status") != "queued":
            return None
        claimed = message.get("sendingSince")
        if claimed is not None and claimed > now - SEND_CLAIM:
            return None
        transaction.update(ref, {"sendingSince": now})
        return message

    result: dict[str, Any] | None = transactions.run(apply)
    return result


def dispatch(org_id: str, message_id: str) -> dict[str, Any]:
    """Send one stored, queued message through its provider; record sent or failed with the reason."""
    message = _claim(org_id, message_id)
    ref = _org_col(org_id, "messages").document(message_id)
    if message is None:
        return ref.get().to_dict() or {}
    lead = store.get(org_id, str(message["leadId"]))
    channel = str(message["channel"])
    try:
        if lead is None or lead.archived:
            raise providers.ProviderError("the lead no longer exists")
        if not lead.contactable(channel) and not message.get("optOutReply"):  # STOP's one confirmation goes out
            raise providers.ProviderError(f"the lead asked not to be contacted by {channel}")
        phone = store.dialable(org_id, lead)
        if not phone:
            raise providers.ProviderError("the lead has no phone number")
        if channel == "sms":
            sms = _channel(channels.sms, org_id)
            provider_id = providers.sms_sender().send(
                sms,
                providers.OutgoingSms(
                    message_id=message_id,
                    lead_id=lead.id,
                    to=phone,
                    text=str(message.get("text") or ""),
                    template_id=str(message["template"]),
                    dlt_category=str(message.get("dltCategory") or "promotional"),
                    sender_id=_sender_id(
                        sms, message.get("senderId"), str(message.get("dltCategory") or "promotional")
                    ),
                ),
            )
        else:
            provider_id = providers.whatsapp_sender().send(
                _channel(channels.whatsapp, org_id), _outgoing_whatsapp(org_id, message_id, lead, phone, message)
            )
    except providers.ProviderError as error:
        log.warning("message send failed org=%s message=%s channel=%s", org_id, message_id, channel)
        apply_status(org_id, message_id, "failed", at=clock.now(), reason=_without_credentials(org_id, error.reason))
        return ref.get().to_dict() or {}
    mark_sent(org_id, message_id, provider=channel, provider_message_id=provider_id)
    _first_contact(org_id, message)
    return ref.get().to_dict() or {}


def _outgoing_whatsapp(
    org_id: str, message_id: str, lead: LeadRecord, phone: str, message: dict[str, Any]
) -> providers.OutgoingWhatsApp:
    """The stored WhatsApp message as the provider takes it: a template, or a free-form reply (text, or media by a
    fresh link to the lead's ready attachment)."""
    from attachments import service as attachment_service

    kind = str(message.get("kind") or "template")
    if kind == "template":
        return providers.OutgoingWhatsApp(
            message_id=message_id,
            lead_id=lead.id,
            to=phone,
            template_name=str(message["template"]),
            language=str(message.get("language") or "en"),
            params=tuple(message.get("params") or ()),
            header=_outgoing_header(org_id, message),
            button_params=tuple(message.get("buttonParams") or ()),
            button_indexes=tuple(int(i) for i in message.get("buttonIndexes") or ()),
        )
    link, filename = "", ""
    if kind != "text":
        record = attachment_service.load(org_id, str((message.get("attachmentIds") or [""])[0]))
        if record is None or record.get("status") != "ready":
            raise providers.ProviderError("the attachment is no longer available")
        link = attachment_service.download_link(record, minutes=HEADER_LINK_MINUTES)
        filename = str(record.get("fileName") or "")
    return providers.OutgoingWhatsApp(
        message_id=message_id,
        lead_id=lead.id,
        to=phone,
        kind=kind,
        text=str(message.get("text") or "") if kind == "text" else "",
        media_link=link,
        filename=filename,
    )


def _without_credentials(org_id: str, reason: str) -> str:
    """A provider's reason as stored and shown: a token the provider echoed back is cut out."""
    token = channels.load(org_id).whatsapp
    return reason.replace(token.access_token, "[token]") if token and token.access_token else reason


def _channel(read: Any, org_id: str) -> Any:
    """The organization's channel as the message goes out; one removed since the message was queued fails it."""
    try:
        return read(org_id)
    except ApiError as error:
        raise providers.ProviderError(str(error)) from None


def _sender_id(sms: channels.SmsChannel, chosen: Any, dlt_category: str) -> str:
    """The header a queued SMS was stored with while the organization still has it registered, else one of the
    kind its category goes out from, else its default."""
    return str(chosen) if chosen in sms.sender_ids else sms.header_for(dlt_category) or sms.sender_id


def _first_contact(org_id: str, message: dict[str, Any]) -> None:
    """A message that went out is the lead's first contact when its sender is the lead's assignee."""
    if message.get("direction") == "outbound" and message.get("sentBy"):
        first_contact.stamp(store.ref(org_id, str(message["leadId"])), str(message["sentBy"]), clock.now())


def mark_sent(org_id: str, message_id: str, *, provider: str, provider_message_id: str) -> None:
    """Record the provider's id (and its index, for webhooks) and the sent status."""
    db = clients.db()
    batch = db.batch()
    batch.set(
        db.collection(PROVIDER_INDEX).document(provider_key(provider, provider_message_id)),
        {"orgId": org_id, "messageId": message_id, "provider": provider},
    )
    batch.update(_org_col(org_id, "messages").document(message_id), {"providerMessageId": provider_message_id})
    batch.commit()
    apply_status(org_id, message_id, "sent", at=clock.now())


def apply_status(org_id: str, message_id: str, status: str, *, at: datetime, reason: str | None = None) -> bool:
    """Move a message forward (never back) and keep the change in its history; True when status changed."""
    from google.cloud import firestore

    ref = _org_col(org_id, "messages").document(message_id)

    @firestore.transactional
    def apply(transaction: Any) -> bool:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            return False
        message = snapshot.to_dict() or {}
        history = list(message.get("statusHistory") or [])
        if any(step.get("status") == status for step in history):
            return False  # a duplicate event
        history.append({"status": status, "at": at, "reason": reason})
        history.sort(key=lambda step: step["at"])
        changes: dict[str, Any] = {"statusHistory": history, "updatedAt": clock.now()}
        forward = rules.moves_forward(str(message.get("status")), status)
        if forward:
            changes["status"] = status
            changes["sendingSince"] = None
            if status == "failed":
                changes["failureReason"] = reason or "failed"
        transaction.update(ref, changes)
        return forward

    result: bool = transactions.run(apply)
    return result


def status_by_provider_id(provider: str, provider_message_id: str) -> tuple[str, str] | None:
    """(orgId, messageId) of a provider's message id, or None."""
    snapshot = clients.db().collection(PROVIDER_INDEX).document(provider_key(provider, provider_message_id)).get()
    if not snapshot.exists:
        return None
    data = snapshot.to_dict() or {}
    return str(data["orgId"]), str(data["messageId"])


def send_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Send queued messages that are due (promotional ones once their window opens, and any immediate send
    that never finished), across organizations; how many went out."""
    now = now or clock.now()
    query = (
        clients.db()
        .collection_group("messages")
        .where(filter=clients.where("status", "==", "queued"))
        .where(filter=clients.where("dueAt", "<=", now))
        .limit(limit)
    )
    sent = 0
    for snapshot in query.stream():
        message = snapshot.to_dict() or {}
        org_id = snapshot.reference.parent.parent.id
        if message.get("channel") not in ("sms", "whatsapp"):
            continue
        result = dispatch(org_id, snapshot.id)
        sent += int(result.get("status") == "sent")
    return sent


def send_email(*, caller: Caller, data: EmailCreate) -> dict[str, Any]:
    """Store an email to the lead with its ready attachments, then send it through the Mailer."""
    from attachments import service as attachment_service
    from core import mail

    caller.require("comms.send")
    lead = store.get_visible(caller, data.lead_id)
    _refuse_do_not_contact(caller, lead, "email")
    address = store.email_address(caller.org_id, lead)
    if not address:
        raise precondition("This lead has no email address")
    sender = channels.email(caller.org_id)
    files = []
    for index, attachment_id in enumerate(data.attachment_ids):
        record = attachment_service.load(caller.org_id, attachment_id)
        if record is None or record.get("leadId") != lead.id:
            raise invalid(f"attachmentIds.{index}", "no such attachment on this lead")
        if record.get("status") != "ready":
            raise invalid(f"attachmentIds.{index}", "the upload is not complete")
        files.append(
            mail.Attachment(
                filename=str(record["fileName"]),
                content_type=str(record["contentType"]),
                data=attachment_service.read_bytes(record),
            )
        )
    masked = store.masks_now(caller.org_id)
    message = new_message(
        caller,
        masked,
        caller.org_id,
        lead,
        "email",
        contact.mask_email(address) if masked else address,
        subject=data.subject,
        text=data.body,
        attachmentIds=list(data.attachment_ids),
        senderId=sender.from_address,
    )
    ref = _org_col(caller.org_id, "messages").document(message["id"])
    ref.create(message)
    email = mail.Email(
        to=address,
        subject=data.subject,
        text=data.body,
        attachments=tuple(files),
        refs=(lead.id, message["id"]),
        headers=mail.sendgrid_headers(justoMessageId=message["id"]),
        sender=sender.sender,
        reply_to=sender.reply_to,
    )
    try:
        mail.mailer().send(email)
    except Exception as error:  # noqa: BLE001 - SMTP refusals and connection errors alike
        log.warning("email send failed org=%s message=%s: %s", caller.org_id, message["id"], type(error).__name__)
        apply_status(
            caller.org_id, message["id"], "failed", at=clock.now(), reason=f"mail server: {type(error).__name__}"
        )
        return ref.get().to_dict() or {}
    batch = clients.db().batch()
    batch.set(
        clients.db().collection(PROVIDER_INDEX).document(provider_key("email", message["id"])),
        {"orgId": caller.org_id, "messageId": message["id"], "provider": "email"},
    )
    batch.update(ref, {"providerMessageId": message["id"]})
    batch.commit()
    apply_status(caller.org_id, message["id"], "sent", at=clock.now())
    _first_contact(caller.org_id, message)
    return ref.get().to_dict() or {}


def list_messages(*, caller: Caller, query: MessageListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of messages: a lead's (when the caller sees the lead) or the caller's visible ones."""
    return _list(caller, "messages", query.lead_id, query.limit, query.cursor)


def get_message(*, caller: Caller, message_id: str) -> dict[str, Any]:
    """One message the caller may see."""
    if not valid_doc_id(message_id):
        raise not_found("Message")
    snapshot = _org_col(caller.org_id, "messages").document(message_id).get()
    if not snapshot.exists:
        raise not_found("Message")
    message = snapshot.to_dict() or {}
    if not can_see_record(caller, owner_id=message.get("agentId"), team_id=message.get("teamId")):
        try:
            store.get_visible(caller, str(message.get("leadId")))
        except ApiError:
            raise forbidden("You may not see this message") from None
    return message
