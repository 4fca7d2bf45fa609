"""Call logs, VoIP sessions and the voice webhook through the real handlers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from comms import config, providers
from core import clients, tenancy
from devtools.inproc import Response, call
from tests.comms.conftest import World, make_lead, set_org_settings
from webhooks.signatures import plivo_v3_signature

pytestmark = pytest.mark.http

VOICE_TOKEN = "local-voice-token"


def plivo_post(path: str, params: dict[str, str], *, token: str = VOICE_TOKEN, nonce: str = "31627598112") -> Response:
    """POST form params to a webhooks path the way Plivo does, signed with V3."""
    url = f"{config.get().public_base}/webhooks{path}"
    signature = plivo_v3_signature(token, "POST", url, params, nonce)
    headers = {"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": nonce}
    return call(
        "POST",
        f"/webhooks{path}",
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_calls_are_logged_listed_and_kept_to_those_who_may_see_them(world: World, clock: Any) -> None:
    body = {
        "leadId": world.lead_id,
        "direction": "outbound",
        "kind": "phone",
        "startedAt": "2026-11-25T05:50:00Z",
        "durationSec": 125,
        "outcome": "callback-requested",
        "notes": "Call back after Diwali",
    }
    logged = call("POST", "/comms/calls", token=world.agent.token(), json_body=body)
    assert logged.status == 201, logged.body
    assert logged.body["outcome"] == "callback-requested" and logged.body["agentId"] == world.agent.uid
    assert logged.body["teamId"] == "north" and logged.body["status"] == "logged"
    listed = call("GET", f"/comms/calls?leadId={world.lead_id}", token=world.agent.token())
    assert [c["id"] for c in listed.body["items"]] == [logged.body["id"]]
    assert call("GET", "/comms/calls", token=world.manager.token()).body["items"][0]["id"] == logged.body["id"]
    assert call("GET", "/comms/calls", token=world.other_agent.token()).body["items"] == []
    assert call("POST", "/comms/calls", token=world.other_agent.token(), json_body=body).status == 403
    bad = call("POST", "/comms/calls", token=world.agent.token(), json_body=body | {"outcome": "maybe"})
    assert bad.status == 400 and "outcome" in bad.error["fields"]


def test_an_inbound_call_logged_by_someone_else_alerts_the_leads_owner(world: World, clock: Any) -> None:
    from triggers.comms_activity import call_changed

    body = {
        "leadId": world.lead_id,
        "direction": "inbound",
        "startedAt": "2026-11-25T05:58:00Z",
        "durationSec": 40,
        "outcome": "interested",
    }
    logged = call("POST", "/comms/calls", token=world.manager.token(), json_body=body)
    assert logged.status == 201
    stored = tenancy.org_ref("org1").collection("calls").document(logged.body["id"]).get().to_dict()
    assert call_changed("org1", logged.body["id"], None, stored) == 1
    assert call_changed("org1", logged.body["id"], None, stored) == 0  # a replayed event writes nothing
    feed = [
        s.to_dict()
        for s in clients.db().collection("users").document(world.agent.uid).collection("notifications").stream()
    ]
    assert [(f["kind"], f["data"]["leadId"]) for f in feed] == [("call-alert", world.lead_id)]
    activity = call("GET", f"/leads/{world.lead_id}/activity", token=world.agent.token())
    assert any(item["type"] == "called" and "Inbound" in item["summary"] for item in activity.body["items"])


def test_voip_session_gives_a_scoped_token_and_turn_credentials(world: World, clock: Any) -> None:
    response = call("POST", "/comms/voip/session", token=world.agent.token(), json_body={"leadId": world.lead_id})
    assert response.status == 201, response.body
    session = response.body
    assert session["provider"] == "plivo" and session["callId"].startswith("call_")
    header, claims, signature = session["accessToken"].split(".")
    expected = hmac.new(VOICE_TOKEN.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert _b64decode(signature) == expected
    assert json.loads(_b64decode(header)) == {"typ": "JWT", "cty": "plivo;v=1", "alg": "HS256"}
    payload = json.loads(_b64decode(claims))
    assert payload["sub"] == providers.endpoint_username(world.agent.uid)
    assert payload["grants"] == {"voice": {"incoming_allow": True, "outgoing_allow": True}}
    assert payload["jti"] == session["callId"] and payload["iss"] == "LOCALAUTHID"
    assert payload["exp"] - payload["nbf"] == 600 and payload["nbf"] == int(clock.at.timestamp())
    (ice,) = session["iceServers"]
    expiry, _, uid = ice["username"].partition(":")
    assert uid == world.agent.uid and int(expiry) == int(clock.at.timestamp()) + 3600
    digest = hmac.new(b"local-turn-secret", ice["username"].encode(), hashlib.sha1).digest()
    assert ice["credential"] == base64.b64encode(digest).decode()
    stored = tenancy.org_ref("org1").collection("calls").document(session["callId"]).get().to_dict()
    assert stored["status"] == "dialing" and stored["kind"] == "voip" and stored["agentId"] == world.agent.uid


def test_masked_lead_is_dialled_by_voip_without_the_agent_ever_seeing_the_number(world: World, clock: Any) -> None:
    set_org_settings("org1", phoneMasking=True, callRecording=True)
    lead_id = make_lead("org1", assignee=world.agent.uid, phone="99887 76655", emails=())
    session = call("POST", "/comms/voip/session", token=world.agent.token(), json_body={"leadId": lead_id})
    assert session.status == 201 and "9988776655" not in session.text
    call_id = session.body["callId"]
    answer_params = {
        "CallUUID": "b7b3c1f0-0000-4000-8000-000000000001",
        "From": f"sip:{providers.endpoint_username(world.agent.uid)}@phone.plivo.com",
        "To": f"sip:{call_id}@phone.plivo.com",
        "Direction": "outbound",
        "X-PH-CallId": call_id,
    }
    answer = plivo_post("/voice", answer_params)
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("application/xml")
    assert "<Number>919988776655</Number>" in answer.text
    assert 'callerId="918045678900"' in answer.text
    status_url = f"{config.get().public_base}/webhooks/voice/status?callId={call_id}"
    assert f'action="{status_url}"' in answer.text and "<Record " in answer.text
    ended = {"CallUUID": answer_params["CallUUID"], "DialStatus": "completed", "DialBLegDuration": "95"}
    assert plivo_post(f"/voice/status?callId={call_id}", ended).status == 200
    assert plivo_post(f"/voice/status?callId={call_id}", ended | {"DialStatus": "failed"}).status == 200
    recording = {"RecordUrl": "https://media.plivo.com/v1/Account/MA/Recording/r1.mp3", "RecordingID": "r1"}
    assert plivo_post(f"/voice/recording?callId={call_id}", recording).status == 200
    listed = call("GET", f"/comms/calls?leadId={lead_id}", token=world.agent.token())
    (logged,) = listed.body["items"]
    assert logged["status"] == "completed" and logged["outcome"] == "connected" and logged["durationSec"] == 95
    assert logged["recordingUrl"] == recording["RecordUrl"] and logged["version"] == 2
    assert "9988776655" not in listed.text
    lead = call("GET", f"/leads/{lead_id}", token=world.agent.token())
    assert lead.status == 200 and "9988776655" not in lead.text


def test_forged_or_foreign_voice_requests_change_nothing(world: World, clock: Any) -> None:
    session = call("POST", "/comms/voip/session", token=world.agent.token(), json_body={"leadId": world.lead_id})
    call_id = session.body["callId"]
    params = {
        "CallUUID": "c1",
        "From": f"sip:{providers.endpoint_username(world.agent.uid)}@phone.plivo.com",
        "X-PH-CallId": call_id,
    }
    forged = plivo_post("/voice", params, token="not-the-token")
    assert forged.status == 401 and "<Number>" not in forged.text
    forged_status = plivo_post(f"/voice/status?callId={call_id}", {"DialStatus": "completed"}, token="guess")
    assert forged_status.status == 401
    other = params | {"From": f"sip:{providers.endpoint_username(world.other_agent.uid)}@phone.plivo.com"}
    hijack = plivo_post("/voice", other)
    assert hijack.status == 200 and "<Hangup" in hijack.text and "<Number>" not in hijack.text
    stored = tenancy.org_ref("org1").collection("calls").document(call_id).get().to_dict()
    assert stored["status"] == "dialing" and stored["providerCallId"] is None and stored["version"] == 1


def test_voip_to_a_do_not_call_lead_is_refused(world: World, clock: Any) -> None:
    lead_id = make_lead("org1", assignee=world.agent.uid, phone="90000 11111", emails=(), do_not_contact=("call",))
    refused = call("POST", "/comms/voip/session", token=world.agent.token(), json_body={"leadId": lead_id})
    assert refused.status == 409 and refused.error["code"] == "FAILED_PRECONDITION"
    assert list(tenancy.org_ref("org1").collection("calls").stream()) == []


def test_a_call_from_a_known_number_is_logged_on_its_lead(world: World, clock: Any) -> None:
    body = {
        "phone": {"number": "098765 43210"},
        "direction": "inbound",
        "startedAt": "2026-11-25T05:40:00Z",
        "durationSec": 60,
        "outcome": "interested",
    }
    logged = call("POST", "/comms/calls", token=world.agent.token(), json_body=body)
    assert logged.status == 201 and logged.body["leadId"] == world.lead_id
    unknown = call(
        "POST", "/comms/calls", token=world.agent.token(), json_body=body | {"phone": {"number": "90000 99999"}}
    )
    assert unknown.status == 404
    both = call("POST", "/comms/calls", token=world.agent.token(), json_body=body | {"leadId": world.lead_id})
    assert both.status == 400
    bad = call("POST", "/comms/calls", token=world.agent.token(), json_body=body | {"phone": {"number": "12"}})
    assert bad.status == 400 and "phone.number" in bad.error["fields"]


def test_a_lead_calling_the_orgs_number_rings_its_owner_who_gets_a_call_alert(world: World, clock: Any) -> None:
    from comms import channels
    from triggers.comms_activity import call_changed

    channels.save("org1", {"voice": {"callerIds": ["+918045678900"]}})
    params = {"CallUUID": "in-0001", "From": "919876543210", "To": "918045678900", "Direction": "inbound"}
    answer = plivo_post("/voice", params)
    assert answer.status == 200
    assert f"<User>sip:{providers.endpoint_username(world.agent.uid)}@phone.plivo.com</User>" in answer.text
    assert 'callerId="919876543210"' in answer.text
    assert plivo_post("/voice", params).text == answer.text  # Plivo's retry logs nothing new
    (stored,) = [s.to_dict() for s in tenancy.org_ref("org1").collection("calls").stream()]
    assert (
        stored["direction"] == "inbound" and stored["leadId"] == world.lead_id and stored["agentId"] == world.agent.uid
    )
    assert call_changed("org1", stored["id"], None, stored) == 1
    feed = clients.db().collection("users").document(world.agent.uid).collection("notifications").stream()
    assert [(f.to_dict()["kind"], f.to_dict()["title"]) for f in feed] == [("call-alert", "A lead of yours is calling")]
    stranger = plivo_post("/voice", params | {"CallUUID": "in-0002", "From": "919000000001"})
    assert "<User>sip:justo" in stranger.text  # a new lead, routed, rings its owner (tests/comms/test_inbound_calls)
    assert len(list(tenancy.org_ref("org1").collection("calls").stream())) == 2


def test_the_app_registers_for_incoming_calls_with_a_token_of_its_own_endpoint(world: World, clock: Any) -> None:
    response = call("POST", "/comms/voip/token", token=world.agent.token())
    assert response.status == 200, response.body
    registration = response.body
    endpoint = providers.endpoint_username(world.agent.uid)
    assert registration["provider"] == "plivo" and registration["endpoint"] == endpoint
    header, claims, signature = registration["accessToken"].split(".")
    expected = hmac.new(VOICE_TOKEN.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert _b64decode(signature) == expected
    assert json.loads(_b64decode(header)) == {"typ": "JWT", "cty": "plivo;v=1", "alg": "HS256"}
    payload = json.loads(_b64decode(claims))
    assert payload["sub"] == endpoint and payload["iss"] == "LOCALAUTHID"
    assert payload["grants"] == {"voice": {"incoming_allow": True, "outgoing_allow": True}}
    assert payload["nbf"] == int(clock.at.timestamp()) and payload["exp"] - payload["nbf"] == 3600
    assert registration["expiresAt"] == "2026-11-25T07:00:00Z"
    (ice,) = registration["iceServers"]
    assert ice["username"].endswith(f":{world.agent.uid}")
    assert list(tenancy.org_ref("org1").collection("calls").stream()) == []  # registering starts no call
    again = call("POST", "/comms/voip/token", token=world.agent.token(), headers={"Idempotency-Key": "reg-1"})
    same = call("POST", "/comms/voip/token", token=world.agent.token(), headers={"Idempotency-Key": "reg-1"})
    assert again.status == same.status == 200 and again.body == same.body
    other = call("POST", "/comms/voip/token", token=world.other_agent.token()).body
    assert json.loads(_b64decode(other["accessToken"].split(".")[1]))["sub"] != endpoint
    set_org_settings("org1", rolePermissions={"agent": {"comms.call": False}})
    assert call("POST", "/comms/voip/token", token=world.agent.token()).status == 403
    # read fresh: a member deactivated a moment ago (this instance still caches it), or an organization whose
    # subscription lapsed, gets none
    assert call("GET", "/comms/calls", token=world.manager.token()).status == 200
    tenancy.org_ref("org1").collection("members").document(world.manager.uid).update({"active": False})
    assert call("GET", "/comms/calls", token=world.manager.token()).status == 200  # the cached window
    assert call("POST", "/comms/voip/token", token=world.manager.token()).status == 401
    tenancy.org_ref("org1").update({"subscriptionEndsAt": clock.at - timedelta(days=1)})
    assert call("POST", "/comms/voip/token", token=world.other_agent.token()).status == 403


def test_voip_needs_the_organizations_caller_id(world: World, clock: Any) -> None:
    from comms import channels

    channels.save("org1", {"voice": None})
    refused = call("POST", "/comms/voip/session", token=world.agent.token(), json_body={"leadId": world.lead_id})
    assert refused.status == 409 and refused.error["setting"] == "voice.callerIds"
    assert list(tenancy.org_ref("org1").collection("calls").stream()) == []
