"""The `comms` HTTPS function: call logs, VoIP sessions, email, SMS, WhatsApp, templates and messages."""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from comms import config as comms_config
from comms import contact, conversations, service, templates
from comms.models import (
    Call,
    CallCreate,
    CallListQuery,
    Conversation,
    ConversationListQuery,
    EmailCreate,
    Message,
    MessageListQuery,
    SmsCreate,
    Template,
    TemplateCreate,
    TemplateSync,
    TemplateUpdate,
    VoipRegistration,
    VoipSession,
    VoipSessionCreate,
    WhatsAppCreate,
    WhatsAppReply,
)
from core import secrets
from core.caller import Caller
from core.deploy import https_options
from core.http import Call as HttpCall
from core.http import Page, Reply, Router, created, no_content
from core.pagination import PageQuery
from leads import phones

router = Router("comms")


def _messages(messages: list[dict[str, Any]], caller: Caller) -> list[dict[str, Any]]:
    """Messages as this caller may see them: numbers masked for agents and rms of a masking organization
    (numbers stored before masking was turned on included); the router validates them as `Message`."""
    hidden = contact.hides_numbers(caller, messages)
    shown = []
    for message in messages:
        out = dict(message)
        for field in ("to", "sender"):
            if hidden and contact.is_raw_number(out.get(field)):
                out[field] = phones.mask(str(out[field]))
        shown.append(out)
    return shown


def _message(message: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """One message as this caller may see it."""
    return _messages([message], caller)[0]


@router.get("/calls", query=CallListQuery, items=Call)
def list_calls(call: HttpCall) -> Page:
    """A page of call logs, newest first (a lead's with ?leadId=)."""
    items, cursor = service.list_calls(caller=call.caller, query=call.query(CallListQuery))
    return Page(items, cursor)


@router.post("/calls", idempotent=True, body=CallCreate, response=Call, status=201)
def log_call(call: HttpCall) -> Reply:
    """Log a call made or taken on the agent's phone."""
    record = service.log_call(caller=call.caller, data=call.body(CallCreate))
    return created(record)


@router.post("/voip/session", idempotent=True, body=VoipSessionCreate, response=VoipSession, status=201)
def start_voip(call: HttpCall) -> Reply:
    """Start a VoIP call to a lead: the provider token, the call id and TURN credentials."""
    session = service.start_voip(caller=call.caller, lead_id=call.body(VoipSessionCreate).lead_id)
    return created(session)


@router.post("/voip/token", fresh=True, idempotent=True, response=VoipRegistration)
def voip_token(call: HttpCall) -> dict[str, Any]:
    """A token the app registers with to receive calls (and place them), without starting a call."""
    return service.voip_registration(caller=call.caller)


@router.post("/email", idempotent=True, body=EmailCreate, response=Message, status=201)
def send_email(call: HttpCall) -> Reply:
    """Email the lead, with ready attachments; answers with the stored message."""
    return created(_message(service.send_email(caller=call.caller, data=call.body(EmailCreate)), call.caller))


@router.get("/templates", items=Template)
def list_templates(call: HttpCall) -> Page:
    """The organization's registered SMS and WhatsApp templates."""
    return Page(service.list_templates(caller=call.caller))


@router.post("/templates", fresh=True, idempotent=True, body=TemplateCreate, response=Template, status=201)
def create_template(call: HttpCall) -> Reply:
    """Register an SMS (DLT) or WhatsApp (Cloud API components) template (admin)."""
    return created(templates.create(caller=call.caller, data=call.body(TemplateCreate)))


@router.post("/templates/sync", fresh=True, response=TemplateSync)
def sync_templates(call: HttpCall) -> dict[str, int]:
    """Read the WhatsApp templates and their approval status from the organization's Business Account (admin)."""
    return templates.sync(caller=call.caller)


@router.patch("/templates/{template_id}", fresh=True, body=TemplateUpdate, response=Template)
def update_template(call: HttpCall) -> dict[str, Any]:
    """Change a template's text or components, category or status (admin)."""
    data = call.body(TemplateUpdate)
    return templates.update(
        caller=call.caller, template_id=call.params["template_id"], data=data, if_match=call.if_match()
    )


@router.delete("/templates/{template_id}", fresh=True, status=204)
def delete_template(call: HttpCall) -> Reply:
    """Remove a template (admin)."""
    templates.delete(caller=call.caller, template_id=call.params["template_id"])
    return no_content()


@router.post("/sms", idempotent=True, body=SmsCreate, response=Message, status=201)
def send_sms(call: HttpCall) -> Reply:
    """Send an SMS on a registered DLT template; answers with the stored message."""
    return created(_message(service.send_sms(caller=call.caller, data=call.body(SmsCreate)), call.caller))


@router.post("/whatsapp", idempotent=True, body=WhatsAppCreate, response=Message, status=201)
def send_whatsapp(call: HttpCall) -> Reply:
    """Send a WhatsApp template message; answers with the stored message."""
    return created(_message(service.send_whatsapp(caller=call.caller, data=call.body(WhatsAppCreate)), call.caller))


@router.get("/messages", query=MessageListQuery, items=Message)
def list_messages(call: HttpCall) -> Page:
    """A page of messages with their status history, newest first (a lead's with ?leadId=)."""
    items, cursor = service.list_messages(caller=call.caller, query=call.query(MessageListQuery))
    return Page(_messages(items, call.caller), cursor)


@router.get("/messages/{message_id}", response=Message)
def get_message(call: HttpCall) -> dict[str, Any]:
    """One message with its status history."""
    message = service.get_message(caller=call.caller, message_id=call.params["message_id"])
    return _message(message, call.caller)


@router.post("/whatsapp/reply", idempotent=True, body=WhatsAppReply, response=Message, status=201)
def send_whatsapp_reply(call: HttpCall) -> Reply:
    """A free-form WhatsApp reply (text or a ready attachment) inside the 24-hour window; outside it 409."""
    return created(_message(service.send_reply(caller=call.caller, data=call.body(WhatsAppReply)), call.caller))


@router.get("/conversations", query=ConversationListQuery, items=Conversation)
def list_conversations(call: HttpCall) -> Page:
    """The WhatsApp threads the caller may see, newest activity first."""
    query = call.query(ConversationListQuery)
    items, cursor = conversations.list_conversations(
        caller=call.caller,
        lead_id=query.lead_id,
        assignee_id=query.assignee_id,
        unread=query.unread,
        limit=query.limit,
        cursor=query.cursor,
    )
    return Page(items, cursor)


@router.get("/conversations/{conversation_id}/messages", query=PageQuery, items=Message)
def conversation_messages(call: HttpCall) -> Page:
    """A thread, newest first: inbound and outbound messages with their statuses and media."""
    page = call.query(PageQuery)
    items, cursor = conversations.thread(
        caller=call.caller, conv_id=call.params["conversation_id"], limit=page.limit, cursor=page.cursor
    )
    return Page(_messages(items, call.caller), cursor)


@router.post("/conversations/{conversation_id}/read", response=Conversation)
def mark_conversation_read(call: HttpCall) -> dict[str, Any]:
    """Mark a thread read (unreadCount 0); idempotent."""
    return conversations.mark_read(caller=call.caller, conv_id=call.params["conversation_id"])


# The senders' credentials (SMS, WhatsApp, email), the voice token for SDK tokens, TURN for app-to-app calls.
SECRETS = secrets.names(
    secrets.SMS_WEBHOOK_SECRET,
    secrets.CHANNELS_KEY,
    secrets.VOICE_AUTH_TOKEN,
    secrets.TURN_SECRET,
    secrets.MAIL,
)


@https_fn.on_request(**https_options(secrets=SECRETS))
def comms(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `comms`."""
    comms_config.get()  # production refuses to serve without its provider configuration
    return router(req)
