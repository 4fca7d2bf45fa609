"""Provider webhooks through the real `webhooks` handler: signatures, statuses, inbound WhatsApp."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from comms import config, providers
from core import clients, tenancy
from devtools.inproc import Response, call
from tests.comms.conftest import OWN_CHANNELS, World
from tests.comms.stub import Scripted, Stub
from tests.comms.test_messages import accepted_sms, cloud, plivo
from webhooks.signatures import hub_signature, plivo_v3_signature

pytestmark = pytest.mark.http

APP_SECRET = "local-whatsapp-secret"
PHONE_NUMBER_ID = OWN_CHANNELS["whatsapp"]["phoneNumberId"]  # routed to org1 by its channels


def whatsapp_post(payload: dict[str, Any], *, secret: str = APP_SECRET) -> Response:
    """POST a Cloud API webhook delivery, signed as Meta signs it."""
    body = json.dumps(payload).encode()
    headers = {"X-Hub-Signature-256": hub_signature(secret, body)}
    return call("POST", "/webhooks/whatsapp", data=body, content_type="application/json", headers=headers)


def delivery(
    statuses: list[dict[str, Any]] | None = None, messages: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A whatsapp_business_account webhook body."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "918045678900", "phone_number_id": PHONE_NUMBER_ID},
    }
    if statuses:
        value["statuses"] = statuses
    if messages:
        value["messages"] = messages
        value["contacts"] = [{"profile": {"name": "Ravi Kumar"}, "wa_id": messages[0]["from"]}]
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"value": value, "field": "messages"}]}],
    }


def status(wamid: str, name: str, ts: int, **extra: Any) -> dict[str, Any]:
    """One status object."""
    return {"id": wamid, "status": name, "timestamp": str(ts), "recipient_id": "919876543210", **extra}


def sent_whatsapp(world: World, stub: Stub, wamid: str) -> dict[str, Any]:
    """Send a utility WhatsApp template through the Cloud API stub; the stored message."""
    stub.reply(Scripted(200, {"messaging_product": "whatsapp", "messages": [{"id": wamid}]}))
    providers.install(whatsapp=cloud(stub))
    body = {"leadId": world.lead_id, "templateName": "site_visit_reminder", "language": "en", "params": ["11:00"]}
    response = call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=body)
    assert response.status == 201 and response.body["status"] == "sent"
    return dict(response.body)


def message(world: World, message_id: str) -> dict[str, Any]:
    """A message as the agent reads it."""
    response = call("GET", f"/comms/messages/{message_id}", token=world.agent.token())
    assert response.status == 200
    return dict(response.body)


def test_verification_handshake_echoes_the_challenge_only_for_our_token(db: Any) -> None:
    good = call(
        "GET", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=local-verify-token&hub.challenge=1158201444"
    )
    assert good.status == 200 and good.text == "1158201444"
    bad = call("GET", "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444")
    assert bad.status == 403 and "1158201444" not in bad.text


def test_statuses_never_go_back_and_every_change_is_kept(world: World, stub: Stub, clock: Any) -> None:
    sent = sent_whatsapp(world, stub, "wamid.ORDER1")
    base = int(clock.at.timestamp())
    assert whatsapp_post(delivery([status("wamid.ORDER1", "read", base + 60)])).status == 200
    late = whatsapp_post(delivery([status("wamid.ORDER1", "delivered", base + 30)]))
    assert late.status == 200
    assert whatsapp_post(delivery([status("wamid.ORDER1", "delivered", base + 30)])).status == 200  # twice
    seen = message(world, sent["id"])
    assert seen["status"] == "read"
    assert [step["status"] for step in seen["statusHistory"]] == ["queued", "sent", "delivered", "read"]


def test_a_failed_status_records_the_reason(world: World, stub: Stub, clock: Any) -> None:
    sent = sent_whatsapp(world, stub, "wamid.FAIL1")
    errors = [{"code": 131026, "title": "Message undeliverable"}]
    whatsapp_post(delivery([status("wamid.FAIL1", "failed", int(clock.at.timestamp()) + 5, errors=errors)]))
    failed = message(world, sent["id"])
    assert failed["status"] == "failed" and failed["failureReason"] == "Message undeliverable"


def test_a_forged_signature_is_rejected_and_changes_nothing(world: World, stub: Stub, clock: Any) -> None:
    sent = sent_whatsapp(world, stub, "wamid.FORGE1")
    payload = delivery(
        [status("wamid.FORGE1", "read", int(clock.at.timestamp()) + 9)],
        [
            {
                "from": "919000000099",
                "id": "wamid.IN9",
                "timestamp": "1764050000",
                "type": "text",
                "text": {"body": "hi"},
            }
        ],
    )
    forged = whatsapp_post(payload, secret="not-the-app-secret")
    assert forged.status == 401
    unsigned = call("POST", "/webhooks/whatsapp", data=json.dumps(payload), content_type="application/json")
    assert unsigned.status == 401
    assert message(world, sent["id"])["status"] == "sent"
    leads = list(tenancy.org_ref("org1").collection("leads").stream())
    assert len(leads) == 1


def test_inbound_whatsapp_from_a_lead_is_logged_on_it(world: World, clock: Any) -> None:
    inbound = {
        "from": "919876543210",
        "id": "wamid.IN1",
        "timestamp": "1764050000",
        "type": "text",
        "text": {"body": "Is the 3BHK still available?"},
    }
    assert whatsapp_post(delivery(messages=[inbound])).body == {"received": {"statuses": 0, "messages": 1}}
    assert whatsapp_post(delivery(messages=[inbound])).body == {"received": {"statuses": 0, "messages": 0}}
    listed = call("GET", f"/comms/messages?leadId={world.lead_id}", token=world.agent.token())
    (logged,) = listed.body["items"]
    assert logged["direction"] == "inbound" and logged["text"] == "Is the 3BHK still available?"
    assert logged["agentId"] == world.agent.uid


def test_inbound_whatsapp_from_an_unknown_number_creates_a_whatsapp_lead(world: World, clock: Any) -> None:
    inbound = {
        "from": "919111122222",
        "id": "wamid.IN2",
        "timestamp": "1764050000",
        "type": "text",
        "text": {"body": "Price?"},
    }
    assert whatsapp_post(delivery(messages=[inbound])).status == 200
    leads = [s.to_dict() | {"id": s.id} for s in tenancy.org_ref("org1").collection("leads").stream()]
    (new,) = [lead for lead in leads if lead["id"] != world.lead_id]
    assert new["source"] == "whatsapp" and new["name"] == "Ravi Kumar"
    assert new["assigneeId"] in {world.agent.uid, world.other_agent.uid}
    contact = (
        tenancy.org_ref("org1").collection("leads").document(new["id"]).collection("private").document("contact").get()
    )
    assert contact.to_dict()["primaryPhone"]["e164"] == "+919111122222"
    messages = [s.to_dict() for s in tenancy.org_ref("org1").collection("messages").stream()]
    assert [(m["leadId"], m["text"]) for m in messages] == [(new["id"], "Price?")]


def test_plivo_delivery_reports_update_the_sms_and_forged_ones_do_not(world: World, stub: Stub, clock: Any) -> None:
    stub.reply(accepted_sms("dlr-uuid-1"))
    providers.install(sms=plivo(stub))
    body = {"leadId": world.lead_id, "templateId": "1107170000000000001", "params": ["today"]}
    sent = call("POST", "/comms/sms", token=world.agent.token(), json_body=body).body
    url = f"{config.get().public_base}/webhooks/sms"
    report = {"MessageUUID": "dlr-uuid-1", "Status": "delivered", "To": "919876543210", "ErrorCode": "000"}
    nonce = "90121233"
    forged = call(
        "POST",
        "/webhooks/sms",
        data=urlencode(report),
        content_type="application/x-www-form-urlencoded",
        headers={
            "X-Plivo-Signature-V3": plivo_v3_signature("guess", "POST", url, report, nonce),
            "X-Plivo-Signature-V3-Nonce": nonce,
        },
    )
    assert forged.status == 401 and message(world, sent["id"])["status"] == "sent"
    signed = call(
        "POST",
        "/webhooks/sms",
        data=urlencode(report),
        content_type="application/x-www-form-urlencoded",
        headers={
            "X-Plivo-Signature-Ma-V3": plivo_v3_signature("local-sms-secret", "POST", url, report, nonce),
            "X-Plivo-Signature-V3-Nonce": nonce,
        },
    )
    assert signed.status == 200 and signed.body == {"applied": True}
    assert message(world, sent["id"])["status"] == "delivered"


def test_sendgrid_event_batches_are_verified_and_move_the_email_forward(world: World, clock: Any) -> None:
    from core import mail
    from devtools.sendgrid_events import event, signed_headers

    class Recorder:
        def send(self, email: mail.Email) -> None:
            self.sent = email

    mail.install(Recorder())
    sent = call(
        "POST",
        "/comms/email",
        token=world.agent.token(),
        json_body={"leadId": world.lead_id, "subject": "Brochure", "body": "Hello"},
    ).body
    assert sent["status"] == "sent"
    now = clock.at.timestamp()
    body = json.dumps([event(sent["id"], "delivered", at=now), event(sent["id"], "open", at=now + 60)]).encode()

    def post(data: bytes, headers: dict[str, str]) -> Response:
        return call("POST", "/webhooks/email", data=data, content_type="application/json", headers=headers)

    forged = dict(signed_headers(body, at=now)) | {"X-Twilio-Email-Event-Webhook-Timestamp": str(int(now) + 1)}
    assert post(body, forged).status == 401
    assert post(body, signed_headers(body, at=now - 601)).status == 401  # a replay of an old delivery
    assert post(body, {}).status == 401
    assert message(world, sent["id"])["status"] == "sent"
    signed = post(body, signed_headers(body, at=now))
    assert signed.status == 200 and signed.body == {"received": {"applied": 2, "duplicate": 0, "skipped": 0}}
    assert message(world, sent["id"])["status"] == "read"
    again = post(body, signed_headers(body, at=now + 30))  # SendGrid's retry of the same batch
    assert again.status == 200 and again.body == {"received": {"applied": 0, "duplicate": 2, "skipped": 0}}
    not_a_batch = json.dumps({"event": "delivered"}).encode()
    refused = post(not_a_batch, signed_headers(not_a_batch, at=now))
    assert refused.status == 400 and "body" in refused.error["fields"]
    index = clients.db().collection("providerMessages").stream()
    assert len(list(index)) == 1
