"""SMS and WhatsApp through the real `comms` handler, against provider stubs that check the exact request."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from comms import config, providers
from core import tenancy
from devtools.inproc import call
from tests.comms.conftest import LEAD_PHONE, World, make_lead, set_org_settings
from tests.comms.stub import Scripted, Stub
from tests.support.factory import add_person, make_org

pytestmark = pytest.mark.http

SMS_AUTH_ID = "SAMZJHZDFMNTI4MJAZNZ"
SMS_TOKEN = "local-sms-secret"
UTILITY_SMS = "1107170000000000001"
MARKETING_SMS = "1107170000000000002"


def plivo(stub: Stub, *, attempts: int = 3, timeout: float = 2.0) -> providers.PlivoSmsSender:
    """The real Plivo adapter, pointed at the stub."""
    return providers.PlivoSmsSender(
        api_base=stub.base,
        auth_id=SMS_AUTH_ID,
        auth_token=SMS_TOKEN,
        callback_base=config.get().public_base,
        attempts=attempts,
        backoff_sec=0.01,
        timeout_sec=timeout,
    )


def cloud(stub: Stub, *, attempts: int = 3) -> providers.WhatsAppCloudSender:
    """The real WhatsApp Cloud API adapter, pointed at the stub."""
    return providers.WhatsAppCloudSender(api_base=stub.base, attempts=attempts, backoff_sec=0.01)


def accepted_sms(uuid: str = "9ad7e5a2-8f4b-11ef-a1b2-0242ac110002") -> Scripted:
    """Plivo's 202 answer."""
    return Scripted(202, {"api_id": "a1", "message": "message(s) queued", "message_uuid": [uuid]})


def accepted_whatsapp(wamid: str = "wamid.HBgMOTE5ODc2NTQzMjEwFQIAERgSNTQ") -> Scripted:
    """The Cloud API's answer."""
    return Scripted(
        200,
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "919876543210", "wa_id": "919876543210"}],
            "messages": [{"id": wamid}],
        },
    )


def stored_messages(org_id: str = "org1") -> list[dict[str, Any]]:
    """Every stored message of the organization."""
    return [s.to_dict() or {} for s in tenancy.org_ref(org_id).collection("messages").stream()]


def test_sms_goes_out_on_its_dlt_template_with_plivos_exact_request(world: World, stub: Stub, clock: Any) -> None:
    stub.reply(accepted_sms())
    providers.install(sms=plivo(stub))
    body = {"leadId": world.lead_id, "templateId": UTILITY_SMS, "params": ["Sat 30 Nov, 11:00"]}
    response = call("POST", "/comms/sms", token=world.agent.token(), json_body=body)
    assert response.status == 201, response.body
    assert response.body["status"] == "sent" and response.body["channel"] == "sms"
    assert response.body["providerMessageId"] == "9ad7e5a2-8f4b-11ef-a1b2-0242ac110002"
    assert [step["status"] for step in response.body["statusHistory"]] == ["queued", "sent"]
    (request,) = stub.requests
    assert request.path == f"/v1/Account/{SMS_AUTH_ID}/Message/"
    assert (
        request.headers["Authorization"] == "Basic " + base64.b64encode(f"{SMS_AUTH_ID}:{SMS_TOKEN}".encode()).decode()
    )
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "src": "JUSTOL",
        "dst": LEAD_PHONE,
        "text": "Your site visit is confirmed for Sat 30 Nov, 11:00. - JUSTOL",
        "type": "sms",
        "url": f"{config.get().public_base}/webhooks/sms",
        "method": "POST",
        "dlt_entity_id": "1101000000000000001",
        "dlt_template_id": UTILITY_SMS,
        "dlt_template_category": "service_implicit",
    }


def test_5xx_is_retried_with_the_same_request_and_sends_one_message(world: World, stub: Stub, clock: Any) -> None:
    stub.reply(Scripted(503, {"error": "busy"}), Scripted(500), accepted_sms("uuid-after-retries"))
    providers.install(sms=plivo(stub))
    body = {"leadId": world.lead_id, "templateId": UTILITY_SMS, "params": ["today 5 pm"]}
    response = call("POST", "/comms/sms", token=world.agent.token(), json_body=body)
    assert response.status == 201 and response.body["status"] == "sent"
    assert len(stub.requests) == 3 and len({r.body for r in stub.requests}) == 1
    assert [m["providerMessageId"] for m in stored_messages()] == ["uuid-after-retries"]


def test_a_refused_send_fails_at_once_with_the_providers_reason(world: World, stub: Stub, clock: Any) -> None:
    stub.reply(Scripted(400, {"api_id": "x", "error": "dlt_template_id does not match the text"}))
    providers.install(sms=plivo(stub))
    body = {"leadId": world.lead_id, "templateId": UTILITY_SMS, "params": ["today"]}
    response = call("POST", "/comms/sms", token=world.agent.token(), json_body=body)
    assert response.status == 201 and response.body["status"] == "failed"
    assert "dlt_template_id does not match the text" in response.body["failureReason"]
    assert len(stub.requests) == 1
    assert stored_messages()[0]["status"] == "failed"


def test_timeouts_are_retried_then_the_message_is_marked_failed(world: World, stub: Stub, clock: Any) -> None:
    stub.default = Scripted(202, {"message_uuid": ["late"]}, delay=0.8)
    providers.install(sms=plivo(stub, attempts=2, timeout=0.2))
    body = {"leadId": world.lead_id, "templateId": UTILITY_SMS, "params": ["today"]}
    response = call("POST", "/comms/sms", token=world.agent.token(), json_body=body)
    assert response.body["status"] == "failed" and response.body["failureReason"] == "provider timed out"
    assert len(stub.requests) == 2


def test_idempotency_key_retry_sends_nothing_new(world: World, stub: Stub, clock: Any) -> None:
    stub.reply(accepted_sms("only-once"))
    providers.install(sms=plivo(stub))
    body = {"leadId": world.lead_id, "templateId": UTILITY_SMS, "params": ["today"]}
    headers = {"Idempotency-Key": "sms-1"}
    first = call("POST", "/comms/sms", token=world.agent.token(), json_body=body, headers=headers)
    again = call("POST", "/comms/sms", token=world.agent.token(), json_body=body, headers=headers)
    assert first.status == again.status == 201 and first.body["id"] == again.body["id"]
    assert len(stub.requests) == 1 and len(stored_messages()) == 1


def test_whatsapp_template_uses_the_cloud_apis_exact_request(world: World, stub: Stub, clock: Any) -> None:
    stub.reply(accepted_whatsapp())
    providers.install(whatsapp=cloud(stub))
    body = {"leadId": world.lead_id, "templateName": "site_visit_reminder", "language": "en", "params": ["11:00"]}
    response = call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=body)
    assert response.status == 201, response.body
    assert response.body["status"] == "sent" and response.body["providerMessageId"].startswith("wamid.")
    (request,) = stub.requests
    assert request.path == "/109876543210/messages"
    assert request.headers["Authorization"] == "Bearer EAAtest"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "919876543210",
        "type": "template",
        "template": {
            "name": "site_visit_reminder",
            "language": {"code": "en"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "11:00"}]}],
        },
    }


def test_whatsapp_needs_the_leads_opt_in_and_respects_do_not_contact(world: World, stub: Stub, clock: Any) -> None:
    providers.install(whatsapp=cloud(stub), sms=plivo(stub))
    no_opt_in = make_lead("org1", assignee=world.agent.uid, phone="98765 00001", emails=(), opt_ins=())
    blocked = make_lead(
        "org1", assignee=world.agent.uid, phone="98765 00002", emails=(), do_not_contact=("whatsapp", "sms")
    )
    body = {"templateName": "site_visit_reminder", "language": "en", "params": ["11:00"]}
    refused = call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=body | {"leadId": no_opt_in})
    assert refused.status == 409 and refused.error["code"] == "FAILED_PRECONDITION"
    dnc = call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=body | {"leadId": blocked})
    assert dnc.status == 409 and dnc.error["code"] == "FAILED_PRECONDITION" and dnc.error["channel"] == "whatsapp"
    sms = {"leadId": blocked, "templateId": UTILITY_SMS, "params": ["today"]}
    assert call("POST", "/comms/sms", token=world.agent.token(), json_body=sms).status == 409
    assert stub.requests == [] and stored_messages() == []


def test_bad_template_and_params_are_400_naming_the_field(world: World, clock: Any) -> None:
    token = world.agent.token()
    unknown = call("POST", "/comms/sms", token=token, json_body={"leadId": world.lead_id, "templateId": "999"})
    assert unknown.status == 400 and "templateId" in unknown.error["fields"]
    count = call("POST", "/comms/sms", token=token, json_body={"leadId": world.lead_id, "templateId": UTILITY_SMS})
    assert count.status == 400 and "params" in count.error["fields"]
    missing = call("POST", "/comms/whatsapp", token=token, json_body={"leadId": world.lead_id})
    assert missing.status == 400 and "templateName" in missing.error["fields"]


def test_an_agent_cannot_message_another_agents_lead(world: World, clock: Any) -> None:
    body = {"leadId": world.lead_id, "templateId": UTILITY_SMS, "params": ["today"]}
    assert call("POST", "/comms/sms", token=world.other_agent.token(), json_body=body).status == 403
    make_org("org2")
    outsider = add_person("org2", "admin")
    assert call("POST", "/comms/sms", token=outsider.token(), json_body=body).status == 404


def test_promotional_messages_wait_for_the_window_and_go_out_when_it_opens(
    world: World, stub: Stub, clock: Any
) -> None:
    from comms.service import send_due

    providers.install(whatsapp=cloud(stub))
    clock.at = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # 21:30 in Asia/Kolkata
    body = {"leadId": world.lead_id, "templateName": "new_launch_offer", "language": "en", "params": ["Skyline"]}
    queued = call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=body)
    assert queued.status == 201 and queued.body["status"] == "queued"
    opens = datetime.fromisoformat(queued.body["sendAfter"])
    assert opens == datetime(2026, 11, 26, 3, 30, tzinfo=UTC)  # 09:00 the next morning in Asia/Kolkata
    utility = {"leadId": world.lead_id, "templateName": "site_visit_reminder", "language": "en", "params": ["9 am"]}
    stub.reply(accepted_whatsapp("wamid.utility"))
    assert call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=utility).body["status"] == "sent"
    assert len(stub.requests) == 1
    clock.at = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 08:30: still closed
    assert send_due() == 0
    clock.at = datetime(2026, 11, 26, 3, 31, tzinfo=UTC)
    stub.reply(accepted_whatsapp("wamid.launch"))
    assert send_due() == 1 and send_due() == 0
    assert len(stub.requests) == 2 and stub.requests[1].json()["template"]["name"] == "new_launch_offer"
    listed = call("GET", f"/comms/messages?leadId={world.lead_id}", token=world.agent.token())
    launch = next(m for m in listed.body["items"] if m["template"] == "new_launch_offer")
    assert launch["status"] == "sent" and launch["providerMessageId"] == "wamid.launch"


def test_masking_org_agents_never_see_the_raw_number_but_the_provider_gets_it(
    world: World, stub: Stub, clock: Any
) -> None:
    set_org_settings("org1", phoneMasking=True)
    lead_id = make_lead("org1", assignee=world.agent.uid, phone="91234 56789", emails=())
    stub.reply(accepted_whatsapp("wamid.masked"))
    providers.install(whatsapp=cloud(stub))
    body = {"leadId": lead_id, "templateName": "site_visit_reminder", "language": "en", "params": ["11:00"]}
    sent = call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=body)
    assert sent.status == 201 and sent.body["to"] == "+91 91XXXXXX89"
    assert stub.requests[0].json()["to"] == "919123456789"
    listed = call("GET", f"/comms/messages?leadId={lead_id}", token=world.agent.token())
    assert listed.status == 200 and "9123456789" not in listed.text and "91234" not in listed.text
    assert "9123456789" not in json.dumps(stored_messages(), default=str)


def test_message_lists_follow_visibility(world: World, stub: Stub, clock: Any) -> None:
    stub.default = accepted_sms("u-vis")
    providers.install(sms=plivo(stub))
    body = {"leadId": world.lead_id, "templateId": UTILITY_SMS, "params": ["today"]}
    sent = call("POST", "/comms/sms", token=world.agent.token(), json_body=body).body
    own = call("GET", "/comms/messages", token=world.agent.token()).body["items"]
    assert [m["id"] for m in own] == [sent["id"]]
    assert call("GET", "/comms/messages", token=world.other_agent.token()).body["items"] == []
    assert call("GET", f"/comms/messages?leadId={world.lead_id}", token=world.other_agent.token()).status == 403
    team = call("GET", "/comms/messages", token=world.manager.token()).body["items"]
    assert [m["id"] for m in team] == [sent["id"]]
    assert call("GET", f"/comms/messages/{sent['id']}", token=world.other_agent.token()).status == 403
    templates = call("GET", "/comms/templates", token=world.agent.token()).body["items"]
    assert {(t["channel"], t["category"]) for t in templates} == {
        ("whatsapp", "utility"),
        ("whatsapp", "marketing"),
        ("sms", "utility"),
        ("sms", "marketing"),
    }


def test_numbers_stored_before_masking_was_turned_on_are_masked_for_agents(
    world: World, stub: Stub, clock: Any
) -> None:
    stub.reply(accepted_sms("before-masking"))
    providers.install(sms=plivo(stub))
    body = {"leadId": world.lead_id, "templateId": UTILITY_SMS, "params": ["today"]}
    sent = call("POST", "/comms/sms", token=world.agent.token(), json_body=body).body
    assert sent["to"] == LEAD_PHONE
    set_org_settings("org1", phoneMasking=True)
    agent_view = call("GET", f"/comms/messages/{sent['id']}", token=world.agent.token())
    assert agent_view.body["to"] == "+91 98XXXXXX10" and "9876543210" not in agent_view.text
    admin_view = call("GET", f"/comms/messages/{sent['id']}", token=world.admin.token())
    assert admin_view.body["to"] == LEAD_PHONE


def test_a_send_interrupted_midway_is_kept_and_finished_by_the_scheduled_sender(world: World, clock: Any) -> None:
    from datetime import timedelta

    from comms.service import send_due

    class CrashesOnce:
        def __init__(self) -> None:
            self.calls = 0

        def send(self, channel: Any, sms: providers.OutgoingSms) -> str:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("instance died mid-send")
            return "uuid-recovered"

    sender = CrashesOnce()
    providers.install(sms=sender)
    body = {"leadId": world.lead_id, "templateId": UTILITY_SMS, "params": ["today"]}
    crashed = call("POST", "/comms/sms", token=world.agent.token(), json_body=body)
    assert crashed.status == 500 and "instance died" not in crashed.text
    (stored,) = stored_messages()
    assert stored["status"] == "queued"
    assert send_due() == 0  # another sender may still be at it
    clock.at = clock.at + timedelta(minutes=6)
    assert send_due() == 1
    (recovered,) = stored_messages()
    assert recovered["status"] == "sent" and recovered["providerMessageId"] == "uuid-recovered"


def test_ids_that_are_not_ours_are_refused_cleanly(world: World, clock: Any) -> None:
    token = world.agent.token()
    odd = ",./;'[]\\-=<>?:\"{}|_+!@#$%^&*()`~"
    email = call("POST", "/comms/email", token=token, json_body={"leadId": odd, "subject": "Hi", "body": "x"})
    assert email.status == 400 and "leadId" in email.error["fields"]
    listed = call("GET", "/comms/messages?leadId=..", token=token)
    assert listed.status == 400 and "leadId" in listed.error["fields"]
    assert call("GET", "/comms/messages/__x__", token=token).status == 404
    header = {"leadId": world.lead_id, "subject": "Hi\r\nBcc: all@example.com", "body": "x"}
    injected = call("POST", "/comms/email", token=token, json_body=header)
    assert injected.status == 400 and "subject" in injected.error["fields"]
