"""Provider ports and adapters: Plivo SMS (DLT), WhatsApp Cloud API, Plivo voice; the outbox on the emulators.

Production adapters speak each provider's real HTTP API; 5xx answers, timeouts and connection errors
are retried with exponential backoff, anything else fails at once with the provider's reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Protocol
from xml.sax.saxutils import quoteattr

from comms import config as comms_config
from comms.channels import SmsChannel, WhatsAppChannel
from core import outbox

# re-exported: comms callers and tests name them as providers.ProviderError, providers.scrub, ...
from core.provider_calls import USER_AGENT as USER_AGENT
from core.provider_calls import ProviderError as ProviderError
from core.provider_calls import call_json
from core.provider_calls import scrub as scrub
from core.provider_calls import with_retries as with_retries


@dataclass(frozen=True)
class OutgoingSms:
    """An SMS on a DLT template."""

    message_id: str
    lead_id: str
    to: str  # E.164
    text: str
    template_id: str
    dlt_category: str  # transactional, service_implicit, service_explicit, promotional
    sender_id: str  # one of the organization's DLT-registered headers


WHATSAPP_MEDIA_KINDS = ("image", "document", "audio", "video")


@dataclass(frozen=True)
class OutgoingWhatsApp:
    """A WhatsApp message: a template (kind "template"), or, inside the customer-service window, free-form text
    or media fetched by link (kind "text", "image", "document", "audio", "video")."""

    message_id: str
    lead_id: str
    to: str  # E.164
    template_name: str = ""
    language: str = "en"
    params: tuple[str, ...] = ()
    # {type: text, text} or {type: image|document|video, link, filename}: the header's parameter
    header: dict[str, str] | None = None
    button_params: tuple[str, ...] = ()
    # the position of each URL button that button_params fill, among all the template's buttons (default 0, 1, ...)
    button_indexes: tuple[int, ...] = ()
    kind: str = "template"
    text: str = ""  # the body of a text message, or a media message's caption
    media_link: str = ""
    filename: str = ""


class SmsSender(Protocol):
    """Sends an SMS from an organization's DLT entity and header; the provider's message id, or ProviderError."""

    def send(self, channel: SmsChannel, sms: OutgoingSms) -> str:
        """Send one SMS."""
        ...


class WhatsAppSender(Protocol):
    """Sends a WhatsApp message from an organization's number; the provider's message id, or ProviderError."""

    def send(self, channel: WhatsAppChannel, message: OutgoingWhatsApp) -> str:
        """Send one message."""
        ...


def _post(url: str, *, headers: dict[str, str], body: dict[str, Any], timeout: float) -> dict[str, Any]:
    """POST JSON once (core.provider_calls.call_json); a 2xx without a JSON object reads as {}."""
    payload = call_json("POST", url, headers=headers, timeout=timeout, content=json.dumps(body).encode(), empty={})
    return payload if isinstance(payload, dict) else {}


class PlivoSmsSender:
    """Plivo Message API (`POST /v1/Account/{auth_id}/Message/`) with India's DLT parameters."""

    def __init__(
        self,
        *,
        api_base: str,
        auth_id: str,
        auth_token: str,
        callback_base: str,
        attempts: int = 3,
        backoff_sec: float = 0.5,
        timeout_sec: float = 10,
    ) -> None:
        self.api_base, self.auth_id, self.auth_token = api_base.rstrip("/"), auth_id, auth_token
        self.callback_base = callback_base
        self.attempts, self.backoff_sec, self.timeout_sec = attempts, backoff_sec, timeout_sec

    def request(self, channel: SmsChannel, sms: OutgoingSms) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The exact URL, headers and JSON body of the send."""
        basic = base64.b64encode(f"{self.auth_id}:{self.auth_token}".encode()).decode()
        headers = {
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        body = {
            "src": sms.sender_id,
            "dst": sms.to,
            "text": sms.text,
            "type": "sms",
            "url": f"{self.callback_base}/webhooks/sms",
            "method": "POST",
            "dlt_entity_id": channel.dlt_entity_id,
            "dlt_template_id": sms.template_id,
            "dlt_template_category": sms.dlt_category,
        }
        return f"{self.api_base}/v1/Account/{self.auth_id}/Message/", headers, body

    def send(self, channel: SmsChannel, sms: OutgoingSms) -> str:
        """Send with retries; the provider's message_uuid."""
        url, headers, body = self.request(channel, sms)
        payload = with_retries(
            lambda: _post(url, headers=headers, body=body, timeout=self.timeout_sec),
            attempts=self.attempts,
            backoff_sec=self.backoff_sec,
        )
        uuids = payload.get("message_uuid") or []
        if not uuids:
            raise ProviderError("provider answered without a message id")
        return str(uuids[0])


def _header_parameter(header: dict[str, str]) -> dict[str, Any]:
    """The Cloud API's parameter of a template header: text, or media fetched by link."""
    kind = header["type"]
    if kind == "text":
        return {"type": "text", "text": header["text"]}
    media: dict[str, str] = {"link": header["link"]}
    if kind == "document" and header.get("filename"):
        media["filename"] = header["filename"]
    return {"type": kind, kind: media}


def _free_form(message: OutgoingWhatsApp) -> dict[str, Any]:
    """The type and object of a free-form message: text, or media by link (a document keeps its file name)."""
    if message.kind == "text":
        return {"type": "text", "text": {"body": message.text, "preview_url": False}}
    media: dict[str, str] = {"link": message.media_link}
    if message.text and message.kind != "audio":  # audio takes no caption
        media["caption"] = message.text
    if message.kind == "document" and message.filename:
        media["filename"] = message.filename
    return {"type": message.kind, message.kind: media}


class WhatsAppCloudSender:
    """WhatsApp Cloud API (`POST /{phone-number-id}/messages`) with each organization's number and token."""

    def __init__(
        self,
        *,
        api_base: str,
        attempts: int = 3,
        backoff_sec: float = 0.5,
        timeout_sec: float = 10,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.attempts, self.backoff_sec, self.timeout_sec = attempts, backoff_sec, timeout_sec

    def request(
        self, channel: WhatsAppChannel, message: OutgoingWhatsApp
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The exact URL, headers and JSON body of the send."""
        headers = {
            "Authorization": f"Bearer {channel.access_token}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        url = f"{self.api_base}/{channel.phone_number_id}/messages"
        recipient = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": message.to.lstrip("+")}
        if message.kind != "template":
            return url, headers, {**recipient, **_free_form(message)}
        template: dict[str, Any] = {"name": message.template_name, "language": {"code": message.language}}
        components = []
        if message.header:
            components.append({"type": "header", "parameters": [_header_parameter(message.header)]})
        if message.params:
            components.append(
                {"type": "body", "parameters": [{"type": "text", "text": value} for value in message.params]}
            )
        for position, value in enumerate(message.button_params):
            parameters = [{"type": "text", "text": value}]
            index = message.button_indexes[position] if position < len(message.button_indexes) else position
            components.append({"type": "button", "sub_type": "url", "index": str(index), "parameters": parameters})
        if components:
            template["components"] = components
        return url, headers, {**recipient, "type": "template", "template": template}

    def send(self, channel: WhatsAppChannel, message: OutgoingWhatsApp) -> str:
        """Send with retries; the wamid of the accepted message."""
        url, headers, body = self.request(channel, message)
        payload = with_retries(
            lambda: _post(url, headers=headers, body=body, timeout=self.timeout_sec),
            attempts=self.attempts,
            backoff_sec=self.backoff_sec,
        )
        messages = payload.get("messages") or []
        if not messages or not messages[0].get("id"):
            raise ProviderError("provider answered without a message id")
        return str(messages[0]["id"])


class OutboxSmsSender:
    """Emulator: the SMS lands in the outbox (channel sms)."""

    def send(self, channel: SmsChannel, sms: OutgoingSms) -> str:
        """Record the SMS, with the header and entity it goes out from; its outbox id stands in for the provider's."""
        return "outbox-" + outbox.record(
            channel="sms",
            to=sms.to,
            text=sms.text,
            refs=[sms.lead_id, sms.message_id],
            templateId=sms.template_id,
            sender=sms.sender_id,
            dltEntityId=channel.dlt_entity_id,
        )


class OutboxWhatsAppSender:
    """Emulator: the WhatsApp message lands in the outbox (channel whatsapp)."""

    def send(self, channel: WhatsAppChannel, message: OutgoingWhatsApp) -> str:
        """Record the message, with the number it goes out from; its outbox id stands in for the provider's."""
        template = message.kind == "template"
        return "outbox-" + outbox.record(
            channel="whatsapp",
            to=message.to,
            subject=message.template_name if template else "",
            text=" | ".join(message.params) if template else message.text,
            refs=[message.lead_id, message.message_id],
            kind=message.kind,
            sender=channel.phone_number_id,
            language=message.language,
            header=message.header,
            buttonParams=list(message.button_params),
            mediaLink=message.media_link or None,
        )


# ---- WhatsApp templates (the Business Management API) ------------------------------------------

TEMPLATE_FIELDS = "name,language,status,category,components"
TEMPLATE_PAGE = 100
MAX_TEMPLATE_PAGES = 50


class TemplateReader(Protocol):
    """Lists the templates of an organization's WhatsApp Business Account with their approval status."""

    def list(self, channel: WhatsAppChannel) -> list[dict[str, Any]]:
        """Every template: {id, name, language, status, category, components}; or ProviderError."""
        ...


class CloudTemplateReader:
    """`GET /{waba-id}/message_templates` with the organization's token, page after page (cursors.after)."""

    def __init__(self, *, api_base: str, attempts: int = 3, backoff_sec: float = 0.5, timeout_sec: float = 10):
        self.api_base = api_base.rstrip("/")
        self.attempts, self.backoff_sec, self.timeout_sec = attempts, backoff_sec, timeout_sec

    def url(self, channel: WhatsAppChannel, after: str | None = None) -> str:
        """The URL of one page (the token goes in the Authorization header, never in a URL that may be logged)."""
        from urllib.parse import urlencode

        query = {"fields": TEMPLATE_FIELDS, "limit": str(TEMPLATE_PAGE)} | ({"after": after} if after else {})
        return f"{self.api_base}/{channel.waba_id}/message_templates?{urlencode(query)}"

    def list(self, channel: WhatsAppChannel) -> list[dict[str, Any]]:
        """Every page; paging.next says whether there is another, cursors.after where it starts (our own URL
        is rebuilt from it, so a next link pointing elsewhere never receives the token)."""
        headers = {"Authorization": f"Bearer {channel.access_token}", "User-Agent": USER_AGENT}
        found: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(MAX_TEMPLATE_PAGES):
            url = self.url(channel, after)
            payload = with_retries(
                lambda url=url: call_json("GET", url, headers=headers, timeout=self.timeout_sec, empty={}),  # type: ignore[misc]
                attempts=self.attempts,
                backoff_sec=self.backoff_sec,
            )
            if not isinstance(payload, dict):
                raise ProviderError("provider answered without a template list")
            found.extend(item for item in payload.get("data") or () if isinstance(item, dict))
            paging: dict[str, Any] = payload["paging"] if isinstance(payload.get("paging"), dict) else {}
            after = ((paging.get("cursors") or {}).get("after") if paging.get("next") else None) or None
            if not after:
                return found
        raise ProviderError("provider listed more template pages than expected")


class LocalTemplateReader:
    """Emulator: Meta stands in as approving every template the organization registered (the demo's sync)."""

    def list(self, channel: WhatsAppChannel) -> list[dict[str, Any]]:
        """The organization's registered WhatsApp templates, each APPROVED."""
        from comms import numbers, templates

        org_id = numbers.org_of_whatsapp_number(channel.phone_number_id)
        if org_id is None:
            return []
        from core import clients

        query = templates.collection(org_id).where(filter=clients.where("channel", "==", "whatsapp"))
        return [
            {**(s.to_dict() or {}), "status": "APPROVED", "id": s.id}
            for s in query.stream()
            if not (s.to_dict() or {}).get("gone")
        ]


# ---- voice -----------------------------------------------------------------------------------


class VoiceProvider(Protocol):
    """Telephony: SDK tokens for the app and call-control instructions for the provider."""

    name: str

    def access_token(self, *, uid: str, token_id: str, now: float, lifetime_sec: int) -> str:
        """A token the provider's mobile SDK logs in with, scoped to one agent's endpoint: it places the app's
        calls and registers the endpoint to receive the calls rung to it."""
        ...

    def dial_instructions(
        self, *, call_id: str, number: str, caller_id: str, record: bool, callback_base: str
    ) -> tuple[str, str]:
        """(content type, body) telling the provider to dial number with caller_id."""
        ...

    def ring_agent(
        self,
        *,
        call_id: str,
        uid: str,
        caller_id: str,
        record: bool,
        callback_base: str,
        caller_name: str | None = None,
    ) -> tuple[str, str]:
        """(content type, body) connecting an inbound call to the agent's app, showing caller_id (and
        caller_name where given)."""
        ...


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def endpoint_username(uid: str) -> str:
    """The Plivo endpoint username of a member: letters and digits only, and one member's alone (a digest of
    the uid: dropping a uid's other characters would give `a-b` and `ab`, of any organizations, one endpoint,
    and one member the other's incoming calls)."""
    return "justo" + hashlib.sha256(f"plivo-endpoint:{uid}".encode()).hexdigest()[:32]


class PlivoVoice:
    """Plivo Voice: HS256 access tokens (the SDK's AccessToken format) and Plivo XML."""

    name = "plivo"

    def __init__(self, *, auth_id: str, auth_token: str) -> None:
        self.auth_id, self.auth_token = auth_id, auth_token

    def access_token(self, *, uid: str, token_id: str, now: float, lifetime_sec: int) -> str:
        """A Plivo JWT for this agent's endpoint (`sub`): outgoing calls, and incoming ones, which only ring the
        endpoint named `sub` (ring_agent dials `sip:<sub>@phone.plivo.com`), so no agent receives another's."""
        header = {"typ": "JWT", "cty": "plivo;v=1", "alg": "HS256"}
        valid_from = int(now)
        claims = {
            "jti": token_id,
            "iss": self.auth_id,
            "sub": endpoint_username(uid),
            "nbf": valid_from,
            "exp": valid_from + lifetime_sec,
            "grants": {"voice": {"incoming_allow": True, "outgoing_allow": True}},
        }
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = hmac.new(self.auth_token.encode(), signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64url(signature)

    def dial_instructions(
        self, *, call_id: str, number: str, caller_id: str, record: bool, callback_base: str
    ) -> tuple[str, str]:
        """Plivo XML: optionally record from answer, then dial the number with the caller ID."""
        return self._dial(call_id, f"<Number>{number.lstrip('+')}</Number>", caller_id, record, callback_base)

    def ring_agent(
        self,
        *,
        call_id: str,
        uid: str,
        caller_id: str,
        record: bool,
        callback_base: str,
        caller_name: str | None = None,
    ) -> tuple[str, str]:
        """Plivo XML: ring the agent's app endpoint, showing caller_id (and callerName, for SIP endpoints)."""
        target = f"<User>sip:{endpoint_username(uid)}@phone.plivo.com</User>"
        return self._dial(call_id, target, caller_id, record, callback_base, caller_name)

    @staticmethod
    def _dial(
        call_id: str, target: str, caller_id: str, record: bool, callback_base: str, caller_name: str | None = None
    ) -> tuple[str, str]:
        status_url = f"{callback_base}/webhooks/voice/status?callId={call_id}"
        lines = ['<?xml version="1.0" encoding="utf-8"?>', "<Response>"]
        if record:
            recording_url = f"{callback_base}/webhooks/voice/recording?callId={call_id}"
            lines.append(
                f"<Record action={quoteattr(recording_url)} callbackUrl={quoteattr(recording_url)} "
                'startOnDialAnswer="true" redirect="false" maxLength="3600" />'
            )
        name = f" callerName={quoteattr(caller_name[:50])}" if caller_name else ""
        lines.append(
            f"<Dial callerId={quoteattr(caller_id.lstrip('+'))}{name} action={quoteattr(status_url)} "
            'method="POST" redirect="false" timeout="45">'
        )
        lines.append(target)
        lines.append("</Dial>")
        lines.append("</Response>")
        return "application/xml", "\n".join(lines)


# ---- the one place adapters are chosen ------------------------------------------------------

_sms: SmsSender | None = None
_whatsapp: WhatsAppSender | None = None
_voice: VoiceProvider | None = None
_templates: TemplateReader | None = None


def whatsapp_templates() -> TemplateReader:
    """The configured TemplateReader: the Business Management API when live, the local stand-in otherwise."""
    global _templates
    if _templates is None:
        config = comms_config.get()
        if config.live:
            _templates = CloudTemplateReader(
                api_base=config.whatsapp_api,
                attempts=config.retry_attempts,
                backoff_sec=config.retry_backoff_sec,
                timeout_sec=config.timeout_sec,
            )
        else:
            _templates = LocalTemplateReader()
    return _templates


def sms_sender() -> SmsSender:
    """The configured SmsSender: Plivo when live, the outbox otherwise."""
    global _sms
    if _sms is None:
        from core import secrets

        config = comms_config.get()
        if config.live:
            _sms = PlivoSmsSender(
                api_base=config.plivo_api,
                auth_id=comms_config.required(config, "PLIVO_SMS_AUTH_ID", "sms"),
                auth_token=secrets.value(secrets.SMS_WEBHOOK_SECRET),
                callback_base=config.public_base,
                attempts=config.retry_attempts,
                backoff_sec=config.retry_backoff_sec,
                timeout_sec=config.timeout_sec,
            )
        else:
            _sms = OutboxSmsSender()
    return _sms


def whatsapp_sender() -> WhatsAppSender:
    """The configured WhatsAppSender: the Cloud API when live, the outbox otherwise."""
    global _whatsapp
    if _whatsapp is None:
        config = comms_config.get()
        if config.live:
            _whatsapp = WhatsAppCloudSender(
                api_base=config.whatsapp_api,
                attempts=config.retry_attempts,
                backoff_sec=config.retry_backoff_sec,
                timeout_sec=config.timeout_sec,
            )
        else:
            _whatsapp = OutboxWhatsAppSender()
    return _whatsapp


def voice() -> VoiceProvider:
    """The telephony provider (Plivo; on the emulators it signs with the local voice token)."""
    global _voice
    if _voice is None:
        from core import secrets

        config = comms_config.get()
        auth_id = comms_config.required(config, "PLIVO_AUTH_ID", "voip") or "LOCALAUTHID"
        _voice = PlivoVoice(auth_id=auth_id, auth_token=secrets.value(secrets.VOICE_AUTH_TOKEN))
    return _voice


def install(
    *,
    sms: SmsSender | None = None,
    whatsapp: WhatsAppSender | None = None,
    voice: VoiceProvider | None = None,
    templates: TemplateReader | None = None,
) -> None:
    """Replace adapters (tests); None restores the configured choice on next use."""
    global _sms, _whatsapp, _voice, _templates
    _sms, _whatsapp, _voice, _templates = sms, whatsapp, voice, templates
