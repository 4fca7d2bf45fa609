"""The `webhooks` HTTPS function: providers call it; every request is authenticated by its signature."""

from __future__ import annotations

import logging
from typing import Any

from firebase_functions import https_fn

from comms import config as comms_config
from comms import inbound
from core import clock, secrets
from core.deploy import https_options
from core.errors import ApiError, invalid
from core.http import Call, Reply, Router
from core.ids import same
from leads.capture.models import CaptureOutcome
from webhooks import signatures

log = logging.getLogger("justo.webhooks")
router = Router("webhooks")


def _forged(provider: str) -> ApiError:
    log.warning("webhook signature rejected provider=%s", provider)
    return ApiError("UNAUTHENTICATED", "Invalid signature")


def _public_url(call: Call) -> str:
    """The URL the provider called (and signed): the public base, the function and the sub-path."""
    query = call.request.query_string.decode()
    return f"{comms_config.get().public_base}/webhooks{call.request.path}" + (f"?{query}" if query else "")


def _plivo_params(call: Call, auth_token: str, provider: str) -> dict[str, str]:
    """The form parameters of a Plivo callback whose V3 signature checks out, or 401."""
    call.raw_body()  # bounded read
    params = {key: str(value) for key, value in call.request.form.items()}
    header = call.header("X-Plivo-Signature-V3") or call.header("X-Plivo-Signature-Ma-V3")
    if not signatures.valid_plivo_signature(
        auth_token, "POST", _public_url(call), params, call.header("X-Plivo-Signature-V3-Nonce"), header
    ):
        raise _forged(provider)
    return params


def _hub_handshake(call: Call) -> Reply:
    """Meta's verification handshake: echo hub.challenge when hub.verify_token matches (WhatsApp and Lead Ads
    are one Meta app, with one verify token)."""
    args = call.request.args
    token = str(args.get("hub.verify_token", ""))
    if args.get("hub.mode") != "subscribe" or not same(token, secrets.value(secrets.WHATSAPP_VERIFY_TOKEN)):
        raise ApiError("PERMISSION_DENIED", "Verification token mismatch")
    return Reply(str(args.get("hub.challenge", "")), content_type="text/plain")


def _hub_signed(call: Call, provider: str) -> dict[str, Any]:
    """The body of a Meta delivery whose X-Hub-Signature-256 checks out under the app secret, or 401."""
    body = call.raw_body()
    if not signatures.valid_hub_signature(
        secrets.value(secrets.WHATSAPP_APP_SECRET), body, call.header("X-Hub-Signature-256")
    ):
        raise _forged(provider)
    return _json_object(call)


@router.get("/whatsapp", public=True)
def whatsapp_verify(call: Call) -> Reply:
    """Meta's verification handshake of the WhatsApp webhook."""
    return _hub_handshake(call)


@router.post("/whatsapp", public=True)
def whatsapp_event(call: Call) -> Reply:
    """WhatsApp statuses and inbound messages, X-Hub-Signature-256 checked first."""
    payload = _hub_signed(call, "whatsapp")
    return Reply({"received": inbound.whatsapp_event(payload)})


@router.get("/meta", public=True)
def meta_verify(call: Call) -> Reply:
    """Meta's verification handshake of the Lead Ads (page `leadgen`) webhook."""
    return _hub_handshake(call)


@router.post("/meta", public=True)
def meta_leadgen(call: Call) -> Reply:
    """Lead Ads `leadgen` changes, X-Hub-Signature-256 checked first; each lead read from the Graph API and
    captured once. A lead the Graph API cannot give now answers 503 (the others captured): Meta delivers again."""
    from core.provider_calls import ProviderError
    from leads.capture import meta

    payload = _hub_signed(call, "meta")
    try:
        counts = meta.receive_delivery(payload)
    except ProviderError as error:
        raise ApiError("UNAVAILABLE", "A lead could not be read from the Graph API; deliver again") from error
    return Reply({"received": counts})


def _json_object(call: Call) -> dict[str, Any]:
    """The signed body as a JSON object, read with the API's bounds (core.http.Call.json)."""
    payload = call.json()
    if not isinstance(payload, dict):
        raise invalid("body", "must be a JSON object")
    return payload


@router.post("/sms", public=True)
def sms_report(call: Call) -> Reply:
    """Plivo SMS delivery reports, V3-signed with the SMS account's auth token."""
    params = _plivo_params(call, secrets.value(secrets.SMS_WEBHOOK_SECRET), "sms")
    return Reply({"applied": inbound.sms_report(params)})


def _sendgrid_key() -> str:
    """The verification key of SendGrid's signed event webhook; production refuses to serve email events
    without SendGrid's own (unset, the development key whose private half is in this repository, or not a key)."""
    from core import settings

    key = settings.require("SENDGRID_WEBHOOK_PUBLIC_KEY", comms_config.get().sendgrid_webhook_key, "email events")
    if settings.get().emulator:
        return key
    if "".join(key.split()) == comms_config.DEV_SENDGRID_PUBLIC_KEY:
        raise settings.SettingsError("SENDGRID_WEBHOOK_PUBLIC_KEY is the development key: set SendGrid's own")
    try:
        signatures.sendgrid_public_key(key)
    except ValueError as error:
        raise settings.SettingsError(f"SENDGRID_WEBHOOK_PUBLIC_KEY is not a P-256 public key: {error}") from error
    return key


@router.post("/email", public=True)
def email_event(call: Call) -> Reply:
    """SendGrid's Event Webhook: a JSON array of events, its ECDSA signature (X-Twilio-Email-Event-Webhook-
    Signature over the X-Twilio-Email-Event-Webhook-Timestamp value and the raw body) checked first, and a
    timestamp older than 10 minutes refused as a replay."""
    body = call.raw_body()
    if not signatures.valid_sendgrid_signature(
        _sendgrid_key(),
        call.header("X-Twilio-Email-Event-Webhook-Timestamp"),
        body,
        call.header("X-Twilio-Email-Event-Webhook-Signature"),
        now=clock.now().timestamp(),
    ):
        raise _forged("email")
    events = call.json()
    if not isinstance(events, list):
        raise invalid("body", "must be a JSON array of events")
    return Reply({"received": inbound.email_events(events)})


@router.post("/voice", public=True)
def voice_answer(call: Call) -> Reply:
    """Plivo's answer URL: the XML that dials the lead's number with the organization's caller ID."""
    params = _plivo_params(call, secrets.value(secrets.VOICE_AUTH_TOKEN), "voice")
    content_type, xml = inbound.voice_answer(params)
    return Reply(xml, content_type=content_type)


@router.post("/voice/status", public=True)
def voice_status(call: Call) -> Reply:
    """Plivo's Dial action: the call's outcome and duration."""
    params = _plivo_params(call, secrets.value(secrets.VOICE_AUTH_TOKEN), "voice")
    inbound.voice_status(str(call.request.args.get("callId", "")), params)
    return Reply('<?xml version="1.0" encoding="utf-8"?>\n<Response></Response>', content_type="application/xml")


@router.post("/voice/recording", public=True)
def voice_recording(call: Call) -> Reply:
    """Plivo's recording callback: the recording link."""
    params = _plivo_params(call, secrets.value(secrets.VOICE_AUTH_TOKEN), "voice")
    return Reply({"applied": inbound.voice_recording(str(call.request.args.get("callId", "")), params)})


# ---- lead capture -------------------------------------------------------------------------------------------

CAPTURE_MAX_BYTES = 256 * 1024
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _capture_source(source_id: str, key: str | None, kinds: frozenset[str]) -> tuple[str, dict[str, Any]]:
    """(orgId, source with its id) when key is the source's: 401 for an unknown source or a wrong key alike
    (nobody learns which sources exist), 409 when it is switched off or of another kind."""
    from leads.capture import sources

    found = sources.by_id(source_id)
    if found is None or not sources.key_matches(found[1], key):
        raise _forged("capture")
    org_id, source = found
    if source.get("kind") not in kinds:
        raise ApiError("FAILED_PRECONDITION", "This capture source does not take payloads at this endpoint")
    if source.get("active") is False:
        raise ApiError("FAILED_PRECONDITION", "This capture source is switched off")
    return org_id, {"id": source_id, **source}


def _bounded(call: Call) -> None:
    length = call.request.content_length
    if length is not None and length > CAPTURE_MAX_BYTES:
        raise ApiError("PAYLOAD_TOO_LARGE", f"A capture payload is at most {CAPTURE_MAX_BYTES} bytes")
    if len(call.raw_body()) > CAPTURE_MAX_BYTES:
        raise ApiError("PAYLOAD_TOO_LARGE", f"A capture payload is at most {CAPTURE_MAX_BYTES} bytes")


def _push_payload(call: Call) -> dict[str, Any]:
    """A push body: form-encoded fields (repeated ones as lists) or a JSON object."""
    content_type = (call.header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        form = call.request.form
        return {key: values[0] if len(values) == 1 else values for key, values in form.lists()}
    return _json_object(call)


def _outcome(capture: Any) -> dict[str, Any]:
    """What a capture receiver answers: {captureId, outcome, leadId}."""
    return {"captureId": capture.id, "outcome": capture.outcome, "leadId": capture.lead_id}


@router.post("/capture/{source_id}", public=True, response=CaptureOutcome)
def capture_push(call: Call) -> dict[str, Any]:
    """Push capture (website, generic, portals, missed calls): JSON or form-encoded, X-Justo-Key or ?key=."""
    from leads.capture import pipeline, sources

    key = call.header("X-Justo-Key") or str(call.request.args.get("key", "")) or None
    org_id, source = _capture_source(call.params["source_id"], key, sources.PUSH_KINDS)
    _bounded(call)
    payload = _push_payload(call)
    return _outcome(pipeline.receive(org_id, source, provider_key=None, payload=payload))


@router.post("/google/{source_id}", public=True, response=CaptureOutcome)
def capture_google(call: Call) -> dict[str, Any]:
    """Google Ads lead form webhook: google_key checked against the source's key; is_test leads tagged test."""
    from leads.capture import pipeline

    _bounded(call)
    payload = _json_object(call)
    key = payload.pop("google_key", None)
    org_id, source = _capture_source(
        call.params["source_id"], key if isinstance(key, str) else None, frozenset({"google"})
    )
    lead_id = payload.get("lead_id")
    campaign = {
        "id": payload.get("campaign_id"),
        "adId": payload.get("adgroup_id"),
        "formId": payload.get("form_id"),
    }
    capture = pipeline.receive(
        org_id,
        source,
        provider_key=str(lead_id) if isinstance(lead_id, str | int) and not isinstance(lead_id, bool) else None,
        payload=payload,
        campaign={k: str(v) for k, v in campaign.items() if isinstance(v, str | int) and not isinstance(v, bool)},
        test=payload.get("is_test") is True,
    )
    return _outcome(capture)


# Every provider's webhook secret; SEARCH_KEY because an inbound WhatsApp message from a new number creates a lead;
# CHANNELS_KEY opens the organization's WhatsApp token (inbound media, the opt-out confirmation).
SECRETS = secrets.names(
    secrets.CHANNELS_KEY,
    secrets.WHATSAPP_APP_SECRET,
    secrets.WHATSAPP_VERIFY_TOKEN,
    secrets.SMS_WEBHOOK_SECRET,
    secrets.VOICE_AUTH_TOKEN,
    secrets.SEARCH_KEY,
    secrets.CAPTURE_KEY_PEPPER,
)


@https_fn.on_request(**https_options(secrets=SECRETS))
def webhooks(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `webhooks`."""
    comms_config.get()  # production refuses to serve without its provider configuration
    return router(req)
