"""Issue 16's proof: two organizations send at the same time, each from its own WhatsApp number and token,
DLT entity and header, email sender, caller id and templates, shown by the exact requests the real adapters
make to the stub servers; an organization without a WhatsApp number is told what to set."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes
from typing import Any

import pytest

from comms import channels, providers
from comms.seed import seed
from core import mail
from devtools.inproc import Response, call
from tests.comms.conftest import make_lead
from tests.comms.stub import Stub, start
from tests.comms.test_calls import plivo_post
from tests.comms.test_messages import accepted_sms, accepted_whatsapp, cloud, plivo
from tests.support.factory import Person, add_person, make_org
from tests.support.ports import CapturingMailer

pytestmark = pytest.mark.http

OWN: dict[str, dict[str, Any]] = {
    "org1": {
        "whatsapp": {"phoneNumberId": "111111111111", "wabaId": "211111111111", "accessToken": "EAAorg1-token-AAAA"},
        "sms": {"dltEntityId": "1101000000000000001", "senderIds": ["ORGONE"]},
        "email": {"fromAddress": "sales@org1.example.com", "fromName": "Org One Homes", "replyTo": None},
        "voice": {"callerIds": ["+918011111111"]},
    },
    "org2": {
        "whatsapp": {"phoneNumberId": "122222222222", "wabaId": "222222222222", "accessToken": "EAAorg2-token-BBBB"},
        "sms": {"dltEntityId": "1101000000000000002", "senderIds": ["ORGTWO"]},
        "email": {"fromAddress": "hello@org2.example.com", "fromName": None, "replyTo": "desk@org2.example.com"},
        "voice": {"callerIds": ["+918022222222"]},
    },
}
# org2's own templates, registered through the API: another DLT id and WhatsApp name than org1's seeded ones.
ORG2_SMS = {
    "channel": "sms",
    "dltTemplateId": "1107170000000000222",
    "category": "utility",
    "text": "Hi {#var#} - ORGTWO",
}
ORG2_WA = {
    "channel": "whatsapp",
    "name": "org2_welcome",
    "language": "en",
    "category": "utility",
    "components": [{"type": "BODY", "text": "Welcome to Org Two, {{1}}"}],
    "status": "APPROVED",
}
TEMPLATES = {  # org -> (DLT template id, WhatsApp template name)
    "org1": ("1107170000000000001", "site_visit_reminder"),
    "org2": ("1107170000000000222", "org2_welcome"),
}


def _org(org_id: str) -> tuple[Person, Person, str]:
    admin = make_org(org_id)
    agent = add_person(org_id, "agent", "north")
    seed(org_id)
    channels.save(org_id, OWN[org_id])
    return (
        admin,
        agent,
        make_lead(org_id, assignee=agent.uid, phone="98765 43210" if org_id == "org1" else "98765 43211"),
    )


def _sends(org_id: str, agent: Person, lead_id: str) -> list[Response]:
    dlt, name = TEMPLATES[org_id]
    lead = {"leadId": lead_id}
    return [
        call("POST", "/comms/sms", token=agent.token(), json_body=lead | {"templateId": dlt, "params": ["Asha"]}),
        call(
            "POST", "/comms/whatsapp", token=agent.token(), json_body=lead | {"templateName": name, "params": ["Asha"]}
        ),
        call("POST", "/comms/email", token=agent.token(), json_body=lead | {"subject": "Hello", "body": "Welcome"}),
        call("POST", "/comms/voip/session", token=agent.token(), json_body=lead),
    ]


def test_two_organizations_send_at_once_each_from_its_own_channels(db: Any, stub: Stub, clock: Any) -> None:
    people = {org_id: _org(org_id) for org_id in ("org1", "org2")}
    admin2 = people["org2"][0]
    for template in (ORG2_SMS, ORG2_WA):
        assert call("POST", "/comms/templates", token=admin2.token(), json_body=template).status == 201
    # one stub per provider, each answering every request as its provider would (the threads interleave)
    graph_stub, server = start()
    stub.default, graph_stub.default = accepted_sms(), accepted_whatsapp()
    providers.install(sms=plivo(stub), whatsapp=cloud(graph_stub))
    mailer = CapturingMailer()
    mail.install(mailer)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            sent = pool.map(lambda org: _sends(org, people[org][1], people[org][2]), people)
            answers = dict(zip(people, sent, strict=True))
    finally:
        server.shutdown()
        server.server_close()
    for replies in answers.values():
        assert [r.status for r in replies] == [201, 201, 201, 201], [r.body for r in replies]
        assert [r.body["status"] for r in replies[:3]] == ["sent", "sent", "sent"], [r.body for r in replies[:3]]
    plivo_bodies = [r.json() for r in stub.requests]
    graph = graph_stub.requests
    assert len(plivo_bodies) == 2 and len(graph) == 2
    for org_id in people:
        own, (dlt, name) = OWN[org_id], TEMPLATES[org_id]
        (sms,) = [b for b in plivo_bodies if b["dlt_entity_id"] == own["sms"]["dltEntityId"]]
        assert (sms["src"], sms["dlt_template_id"]) == (own["sms"]["senderIds"][0], dlt)
        (wa,) = [r for r in graph if r.path == f"/{own['whatsapp']['phoneNumberId']}/messages"]
        assert wa.headers["Authorization"] == f"Bearer {own['whatsapp']['accessToken']}"
        assert wa.json()["template"]["name"] == name
        (email,) = [m for m in map(message_from_bytes, mailer.mime) if own["email"]["fromAddress"] in m["From"]]
        assert email["Reply-To"] == own["email"]["replyTo"]
        # the VoIP call Plivo connects shows the organization's own caller id
        agent, session = people[org_id][1], answers[org_id][3].body
        params = {
            "CallUUID": f"uuid-{org_id}",
            "From": f"sip:{providers.endpoint_username(agent.uid)}@phone.plivo.com",
            "To": f"sip:{session['callId']}@phone.plivo.com",
            "Direction": "outbound",
            "X-PH-CallId": session["callId"],
        }
        assert f'callerId="{own["voice"]["callerIds"][0].lstrip("+")}"' in plivo_post("/voice", params).text
    assert {m["From"] for m in map(message_from_bytes, mailer.mime)} == {
        "Org One Homes <sales@org1.example.com>",
        "hello@org2.example.com",
    }


def test_an_organization_without_its_own_channel_is_told_what_to_set_and_nothing_is_stored(db: Any, clock: Any) -> None:
    from core import tenancy

    _, agent, lead_id = _org("org1")
    lead = {"leadId": lead_id}
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        (
            "whatsapp",
            "whatsapp.phoneNumberId",
            "/comms/whatsapp",
            {"templateName": "site_visit_reminder", "params": ["x"]},
        ),
        ("sms", "sms.dltEntityId", "/comms/sms", {"templateId": "1107170000000000001", "params": ["x"]}),
        ("email", "email.fromAddress", "/comms/email", {"subject": "Hi", "body": "Hello"}),
        ("voice", "voice.callerIds", "/comms/voip/session", {}),
    ]
    for section, setting, path, body in cases:
        channels.save("org1", {section: None})
        refused = call("POST", path, token=agent.token(), json_body=lead | body)
        assert refused.status == 409 and refused.error["code"] == "FAILED_PRECONDITION", (path, refused.body)
        assert refused.error["setting"] == setting and setting in refused.error["message"]
    for collection in ("messages", "calls"):
        assert list(tenancy.org_ref("org1").collection(collection).stream()) == []
