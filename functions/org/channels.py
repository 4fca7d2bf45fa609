"""`/org/channels`: the organization's own WhatsApp number, DLT entity and headers, email sender and voice
numbers as admins read and change them (stored by comms.channels), and a test message per channel.

Credentials are write-only: a read shows `{set, last4}`; the stored document holds them sealed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from comms import channels, providers, rules, templates
from core import audit, clock
from core.caller import Caller
from core.errors import ApiError, invalid, precondition
from core.ids import new_id
from leads import phones
from org.models import ChannelsUpdate, ChannelTest

log = logging.getLogger("justo.org")

# What each section cannot be without, after a PATCH merged into it.
REQUIRED = {
    "whatsapp": ("phoneNumberId", "wabaId", "accessToken"),
    "sms": ("dltEntityId", "senderIds"),
    "email": ("fromAddress",),
    "voice": ("callerIds",),
}
TEST_TEMPLATE = ("hello_world", "en_US")  # Meta's sample template, present on every Business Account
TEST_SMS_VALUE = "TEST"


def _secret_state(stored: Any) -> dict[str, Any]:
    if isinstance(stored, Mapping) and isinstance(stored.get("sealed"), str):
        return {"set": True, "last4": stored.get("last4")}
    return {"set": False, "last4": None}


def view(document: Mapping[str, Any] | None) -> dict[str, Any]:
    """The API's ChannelsConfig of a stored document: credentials as `{set, last4}`, never sealed or clear."""
    data = document or {}
    parsed = channels.parse("", data, open_secrets=False)
    wa = data.get("whatsapp") if isinstance(data.get("whatsapp"), Mapping) else None
    return {
        "whatsapp": None
        if parsed.whatsapp is None or wa is None
        else {
            "phoneNumberId": parsed.whatsapp.phone_number_id,
            "wabaId": parsed.whatsapp.waba_id or None,
            "displayPhoneNumber": wa.get("displayPhoneNumber"),
            "accessToken": _secret_state(wa.get("accessToken")),
        },
        "sms": None
        if parsed.sms is None
        else {"dltEntityId": parsed.sms.dlt_entity_id, "senderIds": list(parsed.sms.sender_ids)},
        "email": None
        if parsed.email is None
        else {
            "fromAddress": parsed.email.from_address,
            "fromName": parsed.email.from_name,
            "replyTo": parsed.email.reply_to,
        },
        "voice": None if parsed.voice is None else {"callerIds": list(parsed.voice.caller_ids)},
        "optOutText": parsed.opt_out_text,
        "version": max(parsed.version, 1),
        "updatedAt": data.get("updatedAt"),
    }


def get_channels(*, caller: Caller) -> dict[str, Any]:
    """The organization's channels (admin)."""
    caller.require("settings.manage")
    snapshot = channels.ref(caller.org_id).get()
    return view(snapshot.to_dict() if snapshot.exists else None)


def _caller_ids(caller: Caller, numbers: list[str]) -> list[str]:
    """The numbers in E.164 (the organization's country code by default), each once; 400 naming the entry."""
    found: list[str] = []
    for index, number in enumerate(numbers):
        field = f"voice.callerIds.{index}"
        try:
            e164 = phones.parse(number, None, default_country_code=caller.settings.default_country_code, field=field)
        except ApiError:
            raise invalid(field, "not a valid phone number") from None
        if e164.e164 in found:
            raise invalid(field, "listed twice")
        found.append(e164.e164)
    return found


def _complete(document: Mapping[str, Any], sections: set[str]) -> None:
    """400 naming the first field a changed section is left without."""
    for section in sorted(sections):
        stored = document.get(section)
        if stored is None:
            continue
        for field in REQUIRED[section]:
            if not stored.get(field):
                raise invalid(f"{section}.{field}", "required (give it, or null to remove the section)")


def update_channels(*, caller: Caller, data: ChannelsUpdate, if_match: int | None) -> dict[str, Any]:
    """Change the channels (admin): each section given merges into the stored one, null removes it; the
    token is sealed, the routing tables follow, the change is audited (section names only); 412 on a stale
    If-Match, 409 naming the field for a number another organization uses."""
    caller.require("settings.manage")
    changes: dict[str, Any] = {}
    for name in data.model_fields_set:
        alias = ChannelsUpdate.model_fields[name].alias or name
        value = getattr(data, name)
        if value is None or name == "opt_out_text":
            changes[alias] = value
            continue
        section = value.model_dump(exclude_unset=True, by_alias=True)
        if name == "voice" and "callerIds" in section:
            section["callerIds"] = _caller_ids(caller, section["callerIds"])
        changes[alias] = section
    if not changes:
        return get_channels(caller=caller)
    sections = {key for key, value in changes.items() if key in REQUIRED and value is not None}
    stored = channels.save(
        caller.org_id,
        changes,
        by=caller.uid,
        if_match=if_match,
        merge=True,
        complete=lambda document: _complete(document, sections),
        audited=True,
    )
    return view(stored)


# ---- a test message per channel ------------------------------------------------------------------


def _result(channel: str, sender: str, provider_id: str | None = None, reason: str | None = None) -> dict[str, Any]:
    status = "sent" if provider_id is not None else "failed"
    return {"channel": channel, "status": status, "providerMessageId": provider_id, "reason": reason, "sender": sender}


def _phone(caller: Caller, to: str) -> str:
    try:
        return phones.parse(to, None, default_country_code=caller.settings.default_country_code, field="to").e164
    except ApiError:
        raise invalid("to", "not a valid phone number") from None


def _email(to: str) -> str:
    from pydantic import EmailStr, TypeAdapter, ValidationError

    try:
        return str(TypeAdapter(EmailStr).validate_python(to))
    except ValidationError:
        raise invalid("to", "not an email address") from None


def test_channel(*, caller: Caller, data: ChannelTest) -> dict[str, Any]:
    """Send a test message on one channel from the organization's own number, header or address (admin):
    WhatsApp Meta's `hello_world` template, SMS a registered DLT template (the one named, else the first
    approved utility one) with each variable `TEST`, email a short note; voice has nothing to send (400).
    Answers with what the provider said; nothing is stored but an audit entry (the channel only)."""
    caller.require("settings.manage")
    message_id = new_id("test_")
    if data.channel == "voice":
        raise invalid("channel", "voice has nothing to send: calls are placed from the app")
    if data.channel == "whatsapp":
        number = channels.whatsapp(caller.org_id)
        outgoing = providers.OutgoingWhatsApp(
            message_id=message_id,
            lead_id="",
            to=_phone(caller, data.to),
            template_name=TEST_TEMPLATE[0],
            language=TEST_TEMPLATE[1],
        )
        result = _send(
            lambda: providers.whatsapp_sender().send(number, outgoing),
            "whatsapp",
            number.phone_number_id,
            secret=number.access_token,
        )
    elif data.channel == "sms":
        sms = channels.sms(caller.org_id)
        to = _phone(caller, data.to)
        template = _test_template(caller.org_id, data.template_id)
        params = [TEST_SMS_VALUE] * str(template.get("text") or "").count(templates.SLOT)
        outgoing_sms = providers.OutgoingSms(
            message_id=message_id,
            lead_id="",
            to=to,
            text=rules.fill_dlt_text(str(template.get("text") or ""), params),
            template_id=str(template["templateId"]),
            dlt_category=str(template.get("dltCategory") or "service_implicit"),
            sender_id=sms.sender_id,
        )
        result = _send(lambda: providers.sms_sender().send(sms, outgoing_sms), "sms", sms.sender_id)
    else:
        result = _test_email(caller, _email(data.to), message_id)
    audit.record(caller.org_id, "channels.tested", actor=caller.uid, channel=data.channel, status=result["status"])
    return result


def _send(send: Any, channel: str, sender: str, *, secret: str = "") -> dict[str, Any]:
    """The provider's answer; a refusal's reason without the credential, should the provider echo it."""
    try:
        return _result(channel, sender, provider_id=str(send()))
    except providers.ProviderError as error:
        reason = error.reason.replace(secret, "[token]") if secret else error.reason
        log.info("channel test failed channel=%s: %s", channel, reason)
        return _result(channel, sender, reason=reason)


def _test_template(org_id: str, template_id: str | None) -> dict[str, Any]:
    """The SMS template a test goes out on: the one named, else the first approved utility one."""
    if template_id is not None:
        template = templates.find(org_id, channel="sms", templateId=template_id)
        if template is None:
            raise invalid("templateId", "no registered SMS template with this DLT id")
        if template.get("status", "APPROVED") != "APPROVED":
            raise precondition("This template is not APPROVED", field="templateId")
        return template
    for template in templates.list_for(org_id, "sms"):
        if template.get("status", "APPROVED") == "APPROVED" and template.get("category") == "utility":
            return template
    raise precondition(
        "An SMS test goes out on a registered DLT template; register a utility one in /comms/templates",
        setting="templates",
    )


def _test_email(caller: Caller, to: str, message_id: str) -> dict[str, Any]:
    from core import mail

    sender = channels.email(caller.org_id)
    name = str(caller.org.get("name") or "your organization")
    email = mail.Email(
        to=to,
        subject=f"Test email from {name}",
        text=f"This is a test email from {name}, sent by Justo Lead at {clock.now():%Y-%m-%d %H:%M} UTC.",
        refs=(message_id,),
        headers={"X-Justo-Message-Id": message_id},
        sender=sender.sender,
        reply_to=sender.reply_to,
    )
    try:
        mail.mailer().send(email)
    except Exception as error:  # noqa: BLE001 - SMTP refusals and connection errors alike
        log.info("channel test failed channel=email: %s", type(error).__name__)
        return _result("email", sender.from_address, reason=f"mail server: {type(error).__name__}")
    return _result("email", sender.from_address, provider_id=message_id)
