"""Every deployed function, started as Cloud Functions starts it with only its declared secrets, answers its
typical requests (HTTPS), handles a representative event (Firestore triggers), a Cloud Scheduler run
(schedules) or a Cloud Tasks delivery (the task queue), with its effects asserted where a user would see them:
responses, stored documents, pushes at FCM, tasks at Cloud Tasks, mail at the SMTP relay, provider calls.

One driver per function in DRIVERS; a function of registry.FUNCTIONS without a driver fails the tier, and so
does any SettingsError or traceback in a function's log, reported with the secrets the function declared."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import jwt
import pytest

from comms.seed import local_channels
from core.caller import SYSTEM
from registry import FUNCTIONS
from tests.prod import harness
from tests.prod.conftest import Member, World
from tests.prod.standins import Standins

pytestmark = pytest.mark.prod

PUBLIC_BASE = f"https://{harness.REGION}-{harness.PROJECT}.cloudfunctions.net"
CUSTOM_TOKEN_AUDIENCE = "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"


@dataclass
class Ctx:
    """What a driver works with: its function, the fleet, the stand-ins and the seeded organization."""

    fn: harness.Function
    fleet: harness.Fleet
    standins: Standins
    world: World

    def call(
        self,
        method: str,
        path: str,
        *,
        member: Member | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """One HTTP request to the function, as the app or a provider sends it."""
        sent = dict(headers or {})
        if member is not None:
            sent["Authorization"] = f"Bearer {member.token()}"
        sent.setdefault("X-Forwarded-For", "203.0.113.7")
        return httpx.request(method, self.fn.url + path, json=json_body, content=content, headers=sent, timeout=60)

    def event(
        self,
        path: str,
        *,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        event_id: str | None = None,
        at: datetime | None = None,
    ) -> httpx.Response:
        """Deliver a Firestore CloudEvent for a write of `path`; the function must acknowledge it."""
        headers, body = harness.document_event(
            self.fn.endpoint, path, before=before, after=after, event_id=event_id, at=at
        )
        response = httpx.post(self.fn.url + "/", content=body, headers=headers, timeout=60)
        assert response.status_code in (200, 204), f"event for {path}: {response.status_code} {response.text[:300]}"
        return response

    def schedule(self, at: datetime | None = None) -> httpx.Response:
        """Run the schedule as Cloud Scheduler does (a POST with its headers)."""
        headers = harness.scheduler_headers(self.fn.name, at or datetime.now(UTC))
        response = httpx.post(self.fn.url + "/", content=b"", headers=headers, timeout=120)
        assert response.status_code == 200, f"scheduled run: {response.status_code} {response.text[:300]}"
        return response


def expect(response: httpx.Response, status: int) -> Any:
    """The JSON body of a response that must have this status."""
    assert response.status_code == status, (
        f"{response.request.method} {urlsplit(str(response.request.url)).path}: "
        f"{response.status_code} {response.text[:400]}"
    )
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    return response.text


def wait_for(what: Callable[[], Any], timeout: float = 30.0, message: str = "") -> Any:
    """Poll until what() is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting: {message}")


# ---- seeding with the admin client ---------------------------------------------------------------


def db() -> Any:
    """The test process's admin client (project justo-prodtest on the Firestore emulator)."""
    from core import clients

    return clients.db()


def org_doc(world: World, *parts: str) -> Any:
    """A document reference under the seeded organization."""
    ref = db().collection("orgs").document(world.org_id)
    for collection, doc_id in zip(parts[::2], parts[1::2], strict=True):
        ref = ref.collection(collection).document(doc_id)
    return ref


def data_of(ref: Any) -> dict[str, Any] | None:
    """A document's data, or None."""
    snapshot = ref.get()
    return snapshot.to_dict() if snapshot.exists else None


def unique_phone() -> str:
    """A valid Indian mobile number no other lead of this run has."""
    return "9" + str(uuid.uuid4().int % 10**9).zfill(9)


def seed_lead(world: World, *, org_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A lead created by the leads service (no triggers run in this tier but the ones a test sends)."""
    from leads.models import LeadCreate
    from leads.service import create_lead

    body = {
        "name": "Asha Buyer",
        "primaryPhone": {"countryCode": "+91", "number": unique_phone()},
        "emails": [f"buyer-{uuid.uuid4().hex[:8]}@example.com"],
        "optIns": ["whatsapp", "sms", "email"],
        "assigneeId": world.agent.uid,
    } | fields
    lead = create_lead(org_id=org_id or world.org_id, actor=SYSTEM, data=LeadCreate.model_validate(body))
    return lead.reply()


def caller_for(world: World, member: Member) -> Any:
    """The service-layer Caller of a seeded member (what its ID token stands for)."""
    from core import tenancy
    from core.caller import caller_of

    record = tenancy.load_member(world.org_id, member.uid, fresh=True) or {}
    return caller_of(world.org_id, member.uid, record, tenancy.load_org(world.org_id, fresh=True) or {})


def seed_message(world: World, lead: dict[str, Any], channel: str, provider_id: str | None) -> str:
    """An outbound message that its provider accepted as `provider_id` (None: as its own id, as emails are)."""
    from comms.service import mark_sent

    message_id = "m" + uuid.uuid4().hex[:16]
    now = datetime.now(UTC)
    org_doc(world, "messages", message_id).set(
        {
            "leadId": lead["id"],
            "agentId": world.agent.uid,
            "teamId": "north",
            "channel": channel,
            "direction": "outbound",
            "to": lead["primaryPhone"]["e164"],
            "template": "site_visit_reminder",
            "status": "queued",
            "statusHistory": [{"status": "queued", "at": now, "reason": None}],
            "createdAt": now,
            "updatedAt": now,
            "version": 1,
        }
    )
    mark_sent(world.org_id, message_id, provider=channel, provider_message_id=provider_id or message_id)
    return message_id


def activity_types(world: World, lead_id: str) -> list[str]:
    """The types of a lead's history entries."""
    ref = org_doc(world, "leads", lead_id).collection("activity")
    return sorted(str((s.to_dict() or {}).get("type")) for s in ref.stream())


def pushes(standins: Standins, member: Member, kind: str, **data: str) -> list[dict[str, Any]]:
    """FCM messages to the member's device of one kind whose data has these values."""
    return [
        m
        for m in standins.pushes_to(member.device_token)
        if (m.get("data") or {}).get("kind") == kind and all((m.get("data") or {}).get(k) == v for k, v in data.items())
    ]


def created_tasks(standins: Standins, **payload: str) -> list[dict[str, Any]]:
    """Cloud Tasks tasks created for the `remind` queue whose payload has these values."""
    found = []
    for record in standins.seen("cloudtasks.googleapis.com", "/queues/remind/tasks", "POST"):
        task = (record.json() or {}).get("task") or {}
        body = json.loads(base64.b64decode(task.get("httpRequest", {}).get("body", "") or b"e30="))
        if all((body.get("data") or {}).get(k) == v for k, v in payload.items()):
            found.append(task | {"decoded": body})
    return found


def reminder_records(subject_id: str) -> list[Any]:
    """The reminder records of one visit, task or lead."""
    from core import clients

    query = db().collection("reminders").where(filter=clients.where("subjectId", "==", subject_id))
    return list(query.stream())


def assert_reaches_remind(standins: Standins, task: dict[str, Any]) -> None:
    """A reminder task targets the deployed `remind` function, authenticated as the function's account."""
    request = task["httpRequest"]
    assert request["url"] == f"{PUBLIC_BASE}/remind", request["url"]
    assert request["oidcToken"]["serviceAccountEmail"] == standins.keys.service_account
    assert task["name"].startswith(f"projects/{harness.PROJECT}/locations/{harness.REGION}/queues/remind/tasks/")


# ---- HTTPS functions ----------------------------------------------------------------------------


def drive_auth(ctx: Ctx) -> None:
    """Login: a code mailed over STARTTLS+AUTH, verified into a custom token the service account signed."""
    agent = ctx.world.rm
    before = len(ctx.standins.smtp.to(agent.email))
    expect(ctx.call("POST", "/otp/request", json_body={"email": agent.email}), 202)
    mail = wait_for(lambda: ctx.standins.smtp.to(agent.email)[before:], message="the login code email")[0]
    assert mail.login == ctx.standins.smtp.user, "the mailer did not log in to the relay"
    code = re.search(r"\b(\d{6})\b", str(mail.message["Subject"]))
    assert code, mail.message["Subject"]
    wrong_code = f"{(int(code.group(1)) + 1) % 10**6:06d}"
    wrong = ctx.call("POST", "/otp/verify", json_body={"email": agent.email, "code": wrong_code})
    assert expect(wrong, 401)["error"]["attemptsLeft"] == 4
    body = expect(ctx.call("POST", "/otp/verify", json_body={"email": agent.email, "code": code.group(1)}), 200)
    assert body["user"] == body["user"] | {"uid": agent.uid, "orgId": ctx.world.org_id, "role": "rm"}
    public_key = ctx.standins.keys.account_key.public_key()
    claims = jwt.decode(body["customToken"], public_key, algorithms=["RS256"], audience=CUSTOM_TOKEN_AUDIENCE)
    assert claims["iss"] == claims["sub"] == ctx.standins.keys.service_account
    assert claims["uid"] == agent.uid and claims["claims"]["orgId"] == ctx.world.org_id
    user = ctx.standins.state.users[agent.uid]
    assert json.loads(user["customAttributes"]) == {"orgId": ctx.world.org_id, "role": "rm", "teamId": "north"}
    expect(ctx.call("POST", "/logout", member=agent), 204)
    assert int(ctx.standins.state.users[agent.uid].get("validSince", 0)) > 0, "logout revoked no refresh tokens"
    expect(ctx.call("GET", "/__/health"), 200)


def drive_members(ctx: Ctx) -> None:
    """The caller's profile; the admin's member list."""
    me = expect(ctx.call("GET", "/me", member=ctx.world.agent), 200)
    assert (me["uid"], me["role"], me["teamId"]) == (ctx.world.agent.uid, "agent", "north")
    listed = expect(ctx.call("GET", "/", member=ctx.world.admin), 200)
    assert {ctx.world.admin.uid, ctx.world.manager.uid, ctx.world.agent.uid} <= {m["uid"] for m in listed["items"]}
    forged = ctx.call("GET", "/me", headers={"Authorization": "Bearer " + _forged_token(ctx.world.agent)})
    expect(forged, 401)


def _forged_token(member: Member) -> str:
    """An ID token with the right claims signed by a key Google never published."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"orgId": member.org_id, "role": "admin", "teamId": None}
    return harness.id_token(other, member.standins.keys.token_kid, member.uid, claims)


def drive_org(ctx: Ctx) -> None:
    """The admin reads settings, teams and the organization's channels (the token only as set and last 4),
    changes the opt-out text, and sends a test WhatsApp (the token opened with the function's own CHANNELS_KEY)
    and a test email (through SMTP)."""
    admin = ctx.world.admin
    settings = expect(ctx.call("GET", "/settings", member=admin), 200)
    assert "stages" in json.dumps(settings)
    teams = expect(ctx.call("GET", "/teams", member=admin), 200)
    assert "north" in {team["id"] for team in teams["items"]}
    forbidden = ctx.call("PATCH", "/settings", member=ctx.world.agent, json_body={"timeZone": "Asia/Kolkata"})
    expect(forbidden, 403)
    own = local_channels(ctx.world.org_id)["whatsapp"]
    read = expect(ctx.call("GET", "/channels", member=admin), 200)
    assert read["whatsapp"]["accessToken"] == {"set": True, "last4": own["accessToken"][-4:]}
    assert own["accessToken"] not in json.dumps(read)
    version = {"If-Match": str(read["version"])}
    changed = ctx.call("PATCH", "/channels", member=admin, json_body={"optOutText": "Unsubscribed."}, headers=version)
    assert expect(changed, 200)["optOutText"] == "Unsubscribed."
    test = {"channel": "whatsapp", "to": unique_phone()}
    assert expect(ctx.call("POST", "/channels/test", member=admin, json_body=test), 200)["status"] == "sent"
    graph = [
        r for r in ctx.standins.seen("127.0.0.1", "/graph/") if r.path.endswith(f"/{own['phoneNumberId']}/messages")
    ]
    assert any(r.headers["Authorization"] == f"Bearer {own['accessToken']}" for r in graph), "the token did not open"
    address = f"channels-{uuid.uuid4().hex[:8]}@example.com"
    sent = ctx.call("POST", "/channels/test", member=admin, json_body={"channel": "email", "to": address})
    assert expect(sent, 200)["status"] == "sent"
    wait_for(lambda: ctx.standins.smtp.to(address), message="the test email at the SMTP relay")


def drive_devices(ctx: Ctx) -> None:
    """Register a device, then forget it."""
    body = {"deviceId": "tablet-1", "fcmToken": "fcm-tablet-token", "platform": "ios", "model": "iPad"}
    expect(ctx.call("POST", "/", member=ctx.world.manager, json_body=body), 201)
    stored = db().collection("users").document(ctx.world.manager.uid).collection("devices").document("tablet-1")
    assert (data_of(stored) or {}).get("fcmToken") == "fcm-tablet-token"
    expect(ctx.call("DELETE", "/tablet-1", member=ctx.world.manager), 204)
    assert data_of(stored) is None


def drive_leads(ctx: Ctx) -> None:
    """An agent creates a lead, lists and reads it; a note."""
    number = unique_phone()
    body = {"name": "Kiran Buyer", "primaryPhone": {"number": number}, "configurations": ["2BHK"]}
    created = expect(ctx.call("POST", "/", member=ctx.world.agent, json_body=body), 201)
    assert created["assigneeId"] == ctx.world.agent.uid and created["primaryPhone"]["e164"] == "+91" + number
    listed = expect(ctx.call("GET", "/?limit=50", member=ctx.world.agent), 200)
    assert created["id"] in {lead["id"] for lead in listed["items"]}
    expect(ctx.call("GET", f"/{created['id']}", member=ctx.world.agent), 200)
    expect(
        ctx.call("POST", f"/{created['id']}/notes", member=ctx.world.agent, json_body={"text": "Wants a park view"}),
        201,
    )
    duplicate = ctx.call("POST", "/", member=ctx.world.agent, json_body=body)
    assert expect(duplicate, 409)["error"]["duplicateOf"] == created["id"]
    source = {"kind": "website", "name": "Site", "source": "website"}
    made = expect(ctx.call("POST", "/sources", member=ctx.world.admin, json_body=source), 201)
    assert made["keyLast4"] == made["key"][-4:]  # hashed under the function's own CAPTURE_KEY_PEPPER
    expect(ctx.call("GET", "/captures", member=ctx.world.admin), 200)


def drive_projects(ctx: Ctx) -> None:
    """The admin adds a project; members list it."""
    body = {"name": "Palm Grove", "city": "Pune", "location": {"lat": 18.52, "lng": 73.85}, "checkinRadiusM": 300}
    created = expect(ctx.call("POST", "/", member=ctx.world.admin, json_body=body), 201)
    listed = expect(ctx.call("GET", "/", member=ctx.world.agent), 200)
    assert created["id"] in {project["id"] for project in listed["items"]}


def drive_tasks(ctx: Ctx) -> None:
    """An agent creates a task and lists it."""
    due = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    created = expect(ctx.call("POST", "/", member=ctx.world.agent, json_body={"title": "Call back", "dueAt": due}), 201)
    listed = expect(ctx.call("GET", "/", member=ctx.world.agent), 200)
    assert created["id"] in {task["id"] for task in listed["items"]}


def _project(world: World) -> str:
    from core import clock

    project_id = "palm-" + uuid.uuid4().hex[:6]
    org_doc(world, "projects", project_id).set(
        {
            "name": "Palm Grove",
            "city": "Pune",
            "address": "Baner Road",
            "location": {"lat": 18.5204, "lng": 73.8567},
            "checkinRadiusM": 300,
            "active": True,
            "version": 1,
            "createdAt": clock.now(),
            "updatedAt": clock.now(),
        }
    )
    return project_id


def drive_visits(ctx: Ctx) -> None:
    """A visit is scheduled (the lead is emailed an invite, the reminders go to Cloud Tasks) and checked in."""
    lead = seed_lead(ctx.world)
    project_id = _project(ctx.world)
    at = (datetime.now(UTC) + timedelta(minutes=90)).replace(microsecond=0)  # check-in opens 2 h before
    body = {"leadId": lead["id"], "projectId": project_id, "scheduledAt": at.isoformat()}
    visit = expect(ctx.call("POST", "/", member=ctx.world.agent, json_body=body), 201)
    address = lead["emails"][0]
    wait_for(lambda: ctx.standins.smtp.to(address), message="the visit invite email")
    reminders = [t for r in reminder_records(visit["id"]) for t in created_tasks(ctx.standins, reminderId=r.id)]
    assert reminders, "scheduling the visit enqueued no reminder at Cloud Tasks"
    assert_reaches_remind(ctx.standins, reminders[0])
    listed = expect(ctx.call("GET", "/", member=ctx.world.agent), 200)
    assert visit["id"] in {v["id"] for v in listed["items"]}
    checkin = {"lat": 18.5205, "lng": 73.8568, "accuracyM": 12}
    answer = expect(ctx.call("POST", f"/{visit['id']}/checkin", member=ctx.world.agent, json_body=checkin), 201)
    assert answer["withinRadius"] is True


def drive_comms(ctx: Ctx) -> None:
    """A call log, an email over SMTP (with SendGrid's X-SMTPAPI), an SMS at Plivo, a WhatsApp template at the Cloud
    API, a VoIP session and the app's registration token for incoming calls."""
    agent, lead = ctx.world.agent, seed_lead(ctx.world)
    started = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    call = {
        "leadId": lead["id"],
        "direction": "outbound",
        "startedAt": started,
        "durationSec": 75,
        "outcome": "interested",
    }
    expect(ctx.call("POST", "/calls", member=agent, json_body=call), 201)
    email = {"leadId": lead["id"], "subject": "Brochure", "body": "As discussed, the brochure."}
    emailed = expect(ctx.call("POST", "/email", member=agent, json_body=email), 201)
    (relayed,) = wait_for(lambda: ctx.standins.smtp.to(lead["emails"][0]), message="the email at the SMTP relay")
    smtpapi = json.loads(str(relayed.message["X-SMTPAPI"]))  # SendGrid's relay returns it on each event
    assert smtpapi == {"unique_args": {"justoMessageId": emailed["id"]}}, smtpapi
    sms = {"leadId": lead["id"], "templateId": "1107170000000000001", "params": ["Sat 11:00"]}
    sent = expect(ctx.call("POST", "/sms", member=agent, json_body=sms), 201)
    assert sent["status"] == "sent", sent
    plivo = [
        r
        for r in ctx.standins.seen("127.0.0.1", "/plivo/")
        if (r.json() or {}).get("dst") == lead["primaryPhone"]["e164"]
    ]
    assert plivo, "no SMS reached Plivo"
    sms_id = ctx.fleet.settings["PLIVO_SMS_AUTH_ID"]
    expected = base64.b64encode(f"{sms_id}:{ctx.fn.secret('SMS_WEBHOOK_SECRET')}".encode()).decode()
    assert plivo[0].headers["Authorization"] == f"Basic {expected}", "Plivo was called without the SMS auth token"
    whatsapp = {"leadId": lead["id"], "templateName": "site_visit_reminder", "language": "en", "params": ["Sat 11:00"]}
    sent = expect(ctx.call("POST", "/whatsapp", member=agent, json_body=whatsapp), 201)
    assert sent["status"] == "sent", sent
    graph = [
        r
        for r in ctx.standins.seen("127.0.0.1", "/graph/")
        if (r.json() or {}).get("to") == lead["primaryPhone"]["e164"].lstrip("+")
    ]
    assert graph, "no WhatsApp message reached the Cloud API"
    # from the organization's own number, with its own token, opened from its sealed channels configuration
    assert graph[0].path.endswith(f"/{local_channels(ctx.world.org_id)['whatsapp']['phoneNumberId']}/messages")
    assert graph[0].headers["Authorization"] == f"Bearer {local_channels(ctx.world.org_id)['whatsapp']['accessToken']}"
    template = {"channel": "sms", "dltTemplateId": "1107170000000000999", "category": "utility", "text": "Hi {#var#}"}
    registered = ctx.call("POST", "/templates", member=ctx.world.admin, json_body=template)
    assert expect(registered, 201)["status"] == "APPROVED"
    session = expect(ctx.call("POST", "/voip/session", member=agent, json_body={"leadId": lead["id"]}), 201)
    jwt.decode(
        session["accessToken"], ctx.fn.secret("VOICE_AUTH_TOKEN"), algorithms=["HS256"], options={"verify_aud": False}
    )
    ice = session["iceServers"][0]
    expiry, _, uid = ice["username"].partition(":")
    assert uid == agent.uid and int(expiry) > time.time(), ice["username"]
    turn = hmac.new(ctx.fn.secret("TURN_SECRET").encode(), ice["username"].encode(), hashlib.sha1).digest()
    assert ice["credential"] == base64.b64encode(turn).decode(), "TURN credential not signed with TURN_SECRET"
    messages = expect(ctx.call("GET", f"/messages?leadId={lead['id']}", member=agent), 200)
    assert {m["channel"] for m in messages["items"]} == {"email", "sms", "whatsapp"}
    registration = expect(ctx.call("POST", "/voip/token", member=agent), 200)
    claims = jwt.decode(
        registration["accessToken"],
        ctx.fn.secret("VOICE_AUTH_TOKEN"),
        algorithms=["HS256"],
        options={"verify_aud": False},
    )
    assert claims["sub"] == registration["endpoint"] and claims["iss"] == ctx.fleet.settings["PLIVO_AUTH_ID"]
    assert claims["grants"] == {"voice": {"incoming_allow": True, "outgoing_allow": True}}, claims
    _drive_conversation(ctx, lead)


def _drive_conversation(ctx: Ctx, lead: dict[str, Any]) -> None:
    """The template opened the lead's conversation; once the buyer has written (the window open), a free-form
    reply reaches the Cloud API, the thread lists both, and reading it clears the unread count."""
    agent, conv_id = ctx.world.agent, f"whatsapp_{lead['id']}"
    stored = data_of(org_doc(ctx.world, "conversations", conv_id)) or {}
    assert stored.get("lastDirection") == "outbound", stored
    window = datetime.now(UTC) + timedelta(hours=20)
    org_doc(ctx.world, "conversations", conv_id).update({"windowOpenUntil": window, "unreadCount": 1, "unread": True})
    reply = expect(
        ctx.call("POST", "/whatsapp/reply", member=agent, json_body={"leadId": lead["id"], "text": "Hi"}), 201
    )
    assert reply["status"] == "sent" and reply["kind"] == "text", reply
    to = lead["primaryPhone"]["e164"].lstrip("+")
    texts = [r for r in ctx.standins.seen("127.0.0.1", "/graph/") if (r.json() or {}).get("type") == "text"]
    assert [r.json()["text"]["body"] for r in texts if r.json().get("to") == to] == ["Hi"]
    listed = expect(ctx.call("GET", f"/conversations?leadId={lead['id']}", member=agent), 200)
    assert [c["id"] for c in listed["items"]] == [conv_id]
    thread = expect(ctx.call("GET", f"/conversations/{conv_id}/messages", member=agent), 200)
    assert {m["kind"] for m in thread["items"]} == {"template", "text"}
    assert expect(ctx.call("POST", f"/conversations/{conv_id}/read", member=agent), 200)["unreadCount"] == 0


def _plivo_headers(secret: str, url: str, params: dict[str, str]) -> dict[str, str]:
    from webhooks.signatures import plivo_v3_signature

    nonce = uuid.uuid4().hex
    return {
        "X-Plivo-Signature-V3": plivo_v3_signature(secret, "POST", url, params, nonce),
        "X-Plivo-Signature-V3-Nonce": nonce,
        "Content-Type": "application/x-www-form-urlencoded",
    }


# The private half of env.justo-prodtest's SENDGRID_WEBHOOK_PUBLIC_KEY: this tier's SendGrid.
SENDGRID_PRIVATE_KEY = (
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgbUkW6BnvImrTwGwbeLc0EiYaHuxcDesJXHGliBZtxOmhRANCAARSlyJ/pukwKrbRHKRR"
    "QofdjJND7LD6MRec3mKcEaO7zRozotVVzfR43O1QdWL415+Q3nfXS8sSfHlzkIwoiSgd"
)


def drive_webhooks(ctx: Ctx) -> None:
    """Meta's handshake; signed WhatsApp, SMS and email status callbacks move messages forward (forgeries 401);
    Plivo's signed answer request dials the lead of an app-placed call; a signed Lead Ads lead is captured."""
    from devtools import sendgrid_events
    from webhooks.signatures import hub_signature

    challenge = ctx.call(
        "GET",
        "/whatsapp?"
        + urlencode(
            {
                "hub.mode": "subscribe",
                "hub.verify_token": ctx.fn.secret("WHATSAPP_VERIFY_TOKEN"),
                "hub.challenge": "8641",
            }
        ),
    )
    assert expect(challenge, 200) == "8641"
    lead = seed_lead(ctx.world)
    wamid = f"wamid.{uuid.uuid4().hex}"
    whatsapp_id = seed_message(ctx.world, lead, "whatsapp", wamid)
    status = {"id": wamid, "status": "delivered", "timestamp": str(int(time.time())), "recipient_id": "91"}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA",
                "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp", "statuses": [status]}}],
            }
        ],
    }
    raw = json.dumps(payload).encode()
    secret = ctx.fn.secret("WHATSAPP_APP_SECRET")
    headers = {"X-Hub-Signature-256": hub_signature(secret, raw), "Content-Type": "application/json"}
    assert expect(ctx.call("POST", "/whatsapp", content=raw, headers=headers), 200)["received"]["statuses"] == 1
    assert (data_of(org_doc(ctx.world, "messages", whatsapp_id)) or {})["status"] == "delivered"
    forged = {"X-Hub-Signature-256": hub_signature("not-the-secret", raw), "Content-Type": "application/json"}
    expect(ctx.call("POST", "/whatsapp", content=raw, headers=forged), 401)

    uuid_sms = str(uuid.uuid4())
    sms_id = seed_message(ctx.world, lead, "sms", uuid_sms)
    params = {"MessageUUID": uuid_sms, "Status": "delivered", "To": lead["primaryPhone"]["e164"]}
    signed = _plivo_headers(ctx.fn.secret("SMS_WEBHOOK_SECRET"), f"{PUBLIC_BASE}/webhooks/sms", params)
    expect(ctx.call("POST", "/sms", content=urlencode(params).encode(), headers=signed), 200)
    assert (data_of(org_doc(ctx.world, "messages", sms_id)) or {})["status"] == "delivered"

    email_id = seed_message(ctx.world, lead, "email", None)  # indexed by its own id, as send_email does
    events = [sendgrid_events.event(email_id, "delivered"), sendgrid_events.event(email_id, "bogus")]
    raw_events = json.dumps(events).encode()
    signed_events = sendgrid_events.signed_headers(raw_events, private_key_b64=SENDGRID_PRIVATE_KEY)
    received = expect(ctx.call("POST", "/email", content=raw_events, headers=signed_events), 200)["received"]
    assert received == {"applied": 1, "duplicate": 0, "skipped": 1}, received
    assert (data_of(org_doc(ctx.world, "messages", email_id)) or {})["status"] == "delivered"
    # the emulators' key pair is public in this repository: a deployed function refuses what it signs
    dev_signed = sendgrid_events.signed_headers(raw_events)
    expect(ctx.call("POST", "/email", content=raw_events, headers=dev_signed), 401)
    _drive_whatsapp_inbound(ctx)
    _drive_capture(ctx)


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _drive_whatsapp_inbound(ctx: Ctx) -> None:
    """A lead's signed photo: its media read from the Graph API with the organization's own token, stored in
    Cloud Storage as the lead's attachment, in its conversation; Meta's redelivery writes nothing twice."""
    from webhooks.signatures import hub_signature

    lead, media_id = seed_lead(ctx.world), f"media{uuid.uuid4().hex[:12]}"
    ctx.standins.state.whatsapp_media[media_id] = ("image/png", PNG)
    message = {
        "from": lead["primaryPhone"]["e164"].lstrip("+"),
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": str(int(time.time())),
        "type": "image",
        "image": {"id": media_id, "mime_type": "image/png"},
    }
    number = local_channels(ctx.world.org_id)["whatsapp"]
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": number["phoneNumberId"]}}
    change = {"field": "messages", "value": value | {"messages": [message]}}
    raw = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [change]}]}).encode()
    signed = {"X-Hub-Signature-256": hub_signature(ctx.fn.secret("WHATSAPP_APP_SECRET"), raw)}
    headers = signed | {"Content-Type": "application/json"}
    for expected in (1, 0):  # Meta redelivers
        answer = expect(ctx.call("POST", "/whatsapp", content=raw, headers=headers), 200)
        assert answer["received"]["messages"] == expected, answer
    reads = ctx.standins.seen("127.0.0.1", f"/graph/v21.0/{media_id}", "GET")
    downloads = ctx.standins.seen("127.0.0.1", f"/graph-media/{media_id}", "GET")
    assert [r.headers.get("Authorization") for r in reads + downloads] == [f"Bearer {number['accessToken']}"] * 2
    conversation = data_of(org_doc(ctx.world, "conversations", f"whatsapp_{lead['id']}")) or {}
    assert conversation.get("unreadCount") == 1 and conversation.get("windowOpenUntil"), conversation
    stored = [
        s.to_dict() or {}
        for s in org_doc(ctx.world).collection("messages").where(filter=_where("leadId", "==", lead["id"])).stream()
    ]
    (inbound,) = stored
    assert inbound["media"]["status"] == "ready", inbound["media"]
    attachment = data_of(org_doc(ctx.world, "attachments", inbound["media"]["attachmentId"])) or {}
    assert attachment["status"] == "ready"
    held = [o for (_bucket, name), o in ctx.standins.state.objects.items() if name == attachment["objectPath"]]
    assert [o.data for o in held] == [PNG], "the photo is not in Cloud Storage"


def _where(field: str, op: str, value: Any) -> Any:
    from core import clients

    return clients.where(field, op, value)


def _drive_capture(ctx: Ctx) -> None:
    """A website source's push with its key (hashed under the function's CAPTURE_KEY_PEPPER) makes a lead; a
    wrong key is 401."""
    from core.ids import keyed_hash, sha256_hex

    key, source_id = f"prodtest-key-{uuid.uuid4().hex}", f"src_{uuid.uuid4().hex[:12]}"
    now = datetime.now(UTC)
    org_doc(ctx.world, "captureSources", source_id).set(
        {
            "kind": "website",
            "name": "Site",
            "source": "website",
            "active": True,
            "keyHash": keyed_hash(ctx.fn.secret("CAPTURE_KEY_PEPPER"), key),
            "keyLast4": key[-4:],
            "createdAt": now,
            "updatedAt": now,
            "version": 1,
        }
    )
    route = sha256_hex("capture-route", "source", source_id)[:40]
    db().collection("captureRoutes").document(route).set({"orgId": ctx.world.org_id, "sourceId": source_id})
    buyer = {"name": "Prod Buyer", "phone": unique_phone()}
    expect(ctx.call("POST", f"/capture/{source_id}", json_body=buyer, headers={"X-Justo-Key": "wrong"}), 401)
    reply = expect(ctx.call("POST", f"/capture/{source_id}", json_body=buyer, headers={"X-Justo-Key": key}), 200)
    assert reply["outcome"] == "created" and (data_of(org_doc(ctx.world, "leads", reply["leadId"])) or {})

    _drive_meta_leadgen(ctx)


def _drive_meta_leadgen(ctx: Ctx) -> None:
    """A signed Lead Ads delivery for a connected page: the lead is read from the Graph API with the page's token
    and captured as a lead of the page's source."""
    from core import clients
    from leads.capture import sources
    from webhooks.signatures import hub_signature

    page_id, source_id = "page-" + uuid.uuid4().hex[:10], "src_" + uuid.uuid4().hex[:12]
    now = datetime.now(UTC)
    org_doc(ctx.world, "captureSources", source_id).set(
        {
            "orgId": ctx.world.org_id,
            "kind": "meta",
            "name": "Facebook",
            "source": "facebook",
            "active": True,
            "config": {"pageId": page_id, "pageAccessToken": "prodtest-page-token"},
            "createdAt": now,
            "updatedAt": now,
            "version": 1,
        }
    )
    sources.route_ref("metaPage", page_id).set({"orgId": ctx.world.org_id, "sourceId": source_id, "pageId": page_id})
    leadgen_id = str(uuid.uuid4().int % 10**15)
    ctx.standins.state.meta_leads[leadgen_id] = {
        "id": leadgen_id,
        "created_time": now.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "field_data": [
            {"name": "full_name", "values": ["Meta Buyer"]},
            {"name": "phone_number", "values": ["+91" + unique_phone()]},
        ],
    }
    value = {"leadgen_id": leadgen_id, "page_id": page_id, "form_id": "1", "created_time": int(now.timestamp())}
    raw = json.dumps({"object": "page", "entry": [{"id": page_id, "changes": [{"field": "leadgen", "value": value}]}]})
    body = raw.encode()
    signed = {"X-Hub-Signature-256": hub_signature(ctx.fn.secret("WHATSAPP_APP_SECRET"), body)}
    answer = ctx.call("POST", "/meta", content=body, headers={**signed, "Content-Type": "application/json"})
    assert expect(answer, 200)["received"] == {"captured": 1, "ignored": 0}
    reads = ctx.standins.seen("127.0.0.1", f"/graph/v21.0/{leadgen_id}", "GET")
    assert [r.headers.get("Authorization") for r in reads] == ["Bearer prodtest-page-token"]
    captures = [
        s.to_dict()
        for s in org_doc(ctx.world)
        .collection("captures")
        .where(filter=clients.where("providerId", "==", leadgen_id))
        .stream()
    ]
    assert [c["outcome"] for c in captures] == ["created"], captures


PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"%%EOF\n"


def _storage_request(ctx: Ctx, method: str, signed_url: str, **kwargs: Any) -> httpx.Response:
    """Follow a signed URL the app received, to the Cloud Storage stand-in (it checks the v4 signature)."""
    parts = urlsplit(signed_url)
    assert parts.hostname == "storage.googleapis.com", signed_url
    local = f"http://{ctx.standins.address}{parts.path}?{parts.query}"
    headers = {"Host": "storage.googleapis.com"} | kwargs.pop("headers", {})
    return httpx.request(method, local, headers=headers, timeout=30, **kwargs)


def drive_attachments(ctx: Ctx) -> None:
    """A signed upload URL (IAM signBlob), the upload, completion against the stored object, a download URL."""
    lead = seed_lead(ctx.world)
    body = {"leadId": lead["id"], "fileName": "brochure.pdf", "contentType": "application/pdf", "sizeBytes": len(PDF)}
    created = expect(ctx.call("POST", "/", member=ctx.world.agent, json_body=body), 201)
    assert quote(ctx.standins.keys.service_account) in created["uploadUrl"], created["uploadUrl"]
    upload = _storage_request(ctx, "PUT", created["uploadUrl"], content=PDF, headers=created["uploadHeaders"])
    assert upload.status_code == 200, f"signed upload refused: {upload.status_code} {upload.text}"
    again = _storage_request(ctx, "PUT", created["uploadUrl"], content=PDF, headers=created["uploadHeaders"])
    assert again.status_code == 412, "the upload URL may overwrite the stored file"
    done = expect(ctx.call("POST", f"/{created['id']}/complete", member=ctx.world.agent), 200)
    assert done["status"] == "ready"
    shown = expect(ctx.call("GET", f"/{created['id']}", member=ctx.world.agent), 200)
    download = _storage_request(ctx, "GET", shown["downloadUrl"])
    assert download.status_code == 200 and download.content == PDF


def drive_attachmentsweep(ctx: Ctx) -> None:
    """An upload begun hours ago and never completed is closed as rejected and its object deleted."""
    from tests.prod.standins import StoredObject

    lead = seed_lead(ctx.world)
    attachment_id = "att_" + uuid.uuid4().hex[:12]
    object_path = f"orgs/{ctx.world.org_id}/attachments/{attachment_id}/plan.pdf"
    started = datetime.now(UTC) - timedelta(hours=3)
    org_doc(ctx.world, "attachments", attachment_id).set(
        {
            "id": attachment_id,
            "orgId": ctx.world.org_id,
            "leadId": lead["id"],
            "visitId": None,
            "teamId": "north",
            "ownerId": ctx.world.agent.uid,
            "fileName": "plan.pdf",
            "contentType": "application/pdf",
            "sizeBytes": len(PDF),
            "objectPath": object_path,
            "status": "pending",
            "rejectedReason": None,
            "objectGeneration": None,
            "uploadedBy": ctx.world.agent.uid,
            "createdAt": started,
            "updatedAt": started,
            "version": 1,
        }
    )
    with ctx.standins.state.lock:
        ctx.standins.state.objects[(harness.BUCKET, object_path)] = StoredObject(PDF, "application/pdf", 1)
    ctx.schedule()
    stored = data_of(org_doc(ctx.world, "attachments", attachment_id)) or {}
    assert stored["status"] == "rejected", stored
    assert (harness.BUCKET, object_path) not in ctx.standins.state.objects, "the abandoned upload's object remains"


def drive_privacy(ctx: Ctx) -> None:
    """The policy, the caller's own export, a lead's export and its erasure (its stored files included)."""
    admin = ctx.world.admin
    expect(ctx.call("GET", "/policy", member=ctx.world.agent), 200)
    mine = expect(ctx.call("GET", "/export", member=ctx.world.agent), 200)
    assert ctx.world.agent.uid in json.dumps(mine)
    lead = seed_lead(ctx.world)
    exported = expect(ctx.call("GET", f"/leads/{lead['id']}/export", member=admin), 200)
    assert lead["id"] in json.dumps(exported)
    from tests.prod.standins import StoredObject

    object_path = f"orgs/{ctx.world.org_id}/attachments/att-{lead['id']}/photo.png"
    org_doc(ctx.world, "attachments", f"att-{lead['id']}").set(
        {
            "leadId": lead["id"],
            "fileName": "photo.png",
            "contentType": "image/png",
            "sizeBytes": 4,
            "status": "ready",
            "objectPath": object_path,
            "createdAt": datetime.now(UTC),
        }
    )
    with ctx.standins.state.lock:
        ctx.standins.state.objects[(harness.BUCKET, object_path)] = StoredObject(b"\x89PNG", "image/png", 1)
    request = {"kind": "restriction", "subject": {"type": "lead", "id": lead["id"]}, "receivedVia": "phone"}
    recorded = expect(ctx.call("POST", "/requests", member=admin, json_body=request), 201)
    done = expect(ctx.call("POST", f"/requests/{recorded['id']}/fulfil", member=admin), 200)
    assert done["status"] == "done" and done["evidence"]["restriction"]["restricted"] is True
    expect(ctx.call("PATCH", "/me", member=ctx.world.agent, json_body={"phone": {"number": "98765 11111"}}), 200)
    assert expect(ctx.call("GET", "/retention/preview", member=admin), 200)["leads"] == []
    response = ctx.call("DELETE", f"/leads/{lead['id']}", member=admin)
    assert response.status_code in (200, 204), f"erasure: {response.status_code} {response.text[:300]}"
    assert data_of(org_doc(ctx.world, "leads", lead["id"])) is None
    assert (harness.BUCKET, object_path) not in ctx.standins.state.objects, "the lead's file was not erased"


def drive_audit(ctx: Ctx) -> None:
    """The admin reads the audit trail; an agent may not."""
    trail = expect(ctx.call("GET", "/", member=ctx.world.admin), 200)
    assert isinstance(trail["items"], list)
    expect(ctx.call("GET", "/", member=ctx.world.agent), 403)


# ---- Firestore triggers -------------------------------------------------------------------------


def drive_leadactivity(ctx: Ctx) -> None:
    """A lead's creation writes its "created" entry, once however often production redelivers the event."""
    lead = seed_lead(ctx.world)
    after = data_of(org_doc(ctx.world, "leads", lead["id"]))
    path, event_id, at = f"orgs/{ctx.world.org_id}/leads/{lead['id']}", uuid.uuid4().hex, datetime.now(UTC)
    ctx.event(path, before=None, after=after, event_id=event_id, at=at)
    assert activity_types(ctx.world, lead["id"]) == ["created"]
    ctx.event(path, before=None, after=after, event_id=event_id, at=at)  # retry: true redelivers
    assert activity_types(ctx.world, lead["id"]) == ["created"]


def drive_noteactivity(ctx: Ctx) -> None:
    """A new note writes "note added"."""
    lead = seed_lead(ctx.world)
    note = {"text": "Prefers mornings", "authorId": ctx.world.agent.uid, "createdAt": datetime.now(UTC)}
    ctx.event(f"orgs/{ctx.world.org_id}/leads/{lead['id']}/notes/n1", before=None, after=note)
    assert "note_added" in activity_types(ctx.world, lead["id"])


def _task(world: World, lead_id: str | None, *, due: datetime, by: Member) -> tuple[str, dict[str, Any]]:
    task_id = "t" + uuid.uuid4().hex[:12]
    task = {
        "title": "Send the price sheet",
        "leadId": lead_id,
        "assigneeId": world.agent.uid,
        "teamId": "north",
        "dueAt": due,
        "status": "open",
        "createdBy": by.uid,
        "updatedBy": by.uid,
        "createdAt": datetime.now(UTC),
        "updatedAt": datetime.now(UTC),
        "version": 1,
    }
    org_doc(world, "tasks", task_id).set(task)
    return task_id, task


def drive_taskactivity(ctx: Ctx) -> None:
    """A task on a lead writes "task created" on the lead."""
    lead = seed_lead(ctx.world)
    task_id, task = _task(ctx.world, lead["id"], due=datetime.now(UTC) + timedelta(days=1), by=ctx.world.agent)
    ctx.event(f"orgs/{ctx.world.org_id}/tasks/{task_id}", before=None, after=task)
    assert "task_created" in activity_types(ctx.world, lead["id"])


def _mask_org() -> str:
    """A fresh organization (masking off) with its admin."""
    from core import clock
    from ops.orgs import create_org

    org_id = "maskorg-" + uuid.uuid4().hex[:6]
    create_org(
        org_id=org_id,
        name="Mask Homes",
        seats=3,
        subscription_ends_at=clock.now() + timedelta(days=30),
        admin_email=f"admin@{org_id}.example.com",
        admin_name="Mask Admin",
        admin_uid=f"{org_id}-admin",
    )
    return org_id


def _assert_masked(stored: dict[str, Any]) -> None:
    assert stored["primaryPhone"].get("e164") is None and "X" in stored["primaryPhone"]["number"], stored[
        "primaryPhone"
    ]


def drive_leadmasking(ctx: Ctx) -> None:
    """Turning phone masking on masks the organization's lead documents."""
    org_id = _mask_org()
    lead = seed_lead(ctx.world, org_id=org_id, assigneeId=None)
    ref = db().collection("orgs").document(org_id)
    before = data_of(ref)
    ref.update({"settings.phoneMasking": True})
    ctx.event(f"orgs/{org_id}", before=before, after=data_of(ref))
    _assert_masked(data_of(ref.collection("leads").document(lead["id"])) or {})


def drive_leadmaskguard(ctx: Ctx) -> None:
    """A lead written raw while its organization masks (a writer with a stale setting) is masked by the guard."""
    org_id = _mask_org()
    lead = seed_lead(ctx.world, org_id=org_id, assigneeId=None)  # stored raw: masking still off
    org = db().collection("orgs").document(org_id)
    org.update({"settings.phoneMasking": True})  # no org event: the guard alone must catch the raw lead
    lead_ref = org.collection("leads").document(lead["id"])
    ctx.event(f"orgs/{org_id}/leads/{lead['id']}", before=None, after=data_of(lead_ref))
    _assert_masked(data_of(lead_ref) or {})


def drive_commscallactivity(ctx: Ctx) -> None:
    """An inbound VoIP call writes "called" and alerts the lead's owner through FCM."""
    lead = seed_lead(ctx.world)
    call_id = "c" + uuid.uuid4().hex[:12]
    call = {
        "leadId": lead["id"],
        "leadOwnerId": ctx.world.agent.uid,
        "agentId": None,
        "teamId": "north",
        "direction": "inbound",
        "kind": "voip",
        "status": "dialing",
        "createdAt": datetime.now(UTC),
    }
    org_doc(ctx.world, "calls", call_id).set(call)
    ctx.event(f"orgs/{ctx.world.org_id}/calls/{call_id}", before=None, after=call)
    assert "called" in activity_types(ctx.world, lead["id"])
    assert pushes(ctx.standins, ctx.world.agent, "call-alert", callId=call_id), "no call alert reached FCM"


def drive_commsmessageactivity(ctx: Ctx) -> None:
    """A stored message writes "messaged" on its lead."""
    lead = seed_lead(ctx.world)
    message = {
        "leadId": lead["id"],
        "agentId": ctx.world.agent.uid,
        "channel": "whatsapp",
        "direction": "outbound",
        "template": "site_visit_reminder",
        "status": "sent",
        "statusHistory": [{"status": "sent", "at": datetime.now(UTC), "reason": None}],
        "createdAt": datetime.now(UTC),
    }
    ctx.event(f"orgs/{ctx.world.org_id}/messages/m{uuid.uuid4().hex[:10]}", before=None, after=message)
    assert "messaged" in activity_types(ctx.world, lead["id"])


def drive_notifyonlead(ctx: Ctx) -> None:
    """A lead the admin assigned to the agent reaches the agent's phone through FCM."""
    from core import tenancy
    from core.caller import caller_of
    from leads.models import LeadCreate
    from leads.service import create_lead

    admin = caller_of(
        ctx.world.org_id,
        ctx.world.admin.uid,
        tenancy.load_member(ctx.world.org_id, ctx.world.admin.uid, fresh=True) or {},
        tenancy.load_org(ctx.world.org_id, fresh=True) or {},
    )
    data = LeadCreate.model_validate(
        {"name": "Meera Buyer", "primaryPhone": {"number": unique_phone()}, "assigneeId": ctx.world.agent.uid}
    )
    lead = create_lead(org_id=ctx.world.org_id, actor=admin, data=data).reply()
    after = data_of(org_doc(ctx.world, "leads", lead["id"]))
    path = f"orgs/{ctx.world.org_id}/leads/{lead['id']}"
    ctx.event(path, before=None, after=after, at=datetime.now(UTC) - timedelta(hours=3))  # a retry hours late
    assert not pushes(ctx.standins, ctx.world.agent, "lead-assigned", leadId=lead["id"]), "a stale event pushed"
    event_id, at = uuid.uuid4().hex, datetime.now(UTC)
    ctx.event(path, before=None, after=after, event_id=event_id, at=at)
    ctx.event(path, before=None, after=after, event_id=event_id, at=at)  # redelivered
    assert len(pushes(ctx.standins, ctx.world.agent, "lead-assigned", leadId=lead["id"])) == 1


def drive_conversationfollow(ctx: Ctx) -> None:
    """A lead moved to the rm: its WhatsApp conversation (the listener document) follows, once however often
    production redelivers the event."""
    lead = seed_lead(ctx.world)
    path, conv_id = f"orgs/{ctx.world.org_id}/leads/{lead['id']}", f"whatsapp_{lead['id']}"
    now = datetime.now(UTC)
    org_doc(ctx.world, "conversations", conv_id).set(
        {
            "id": conv_id,
            "leadId": lead["id"],
            "channel": "whatsapp",
            "assigneeId": ctx.world.agent.uid,
            "teamId": "north",
            "stage": "new",
            "archived": False,
            "lastMessageAt": now,
            "unreadCount": 1,
        }
    )
    before = data_of(org_doc(ctx.world, "leads", lead["id"]))
    org_doc(ctx.world, "leads", lead["id"]).update({"assigneeId": ctx.world.rm.uid})
    after = data_of(org_doc(ctx.world, "leads", lead["id"]))
    event_id, at = uuid.uuid4().hex, datetime.now(UTC)
    for _ in range(2):
        ctx.event(path, before=before, after=after, event_id=event_id, at=at)
        assert (data_of(org_doc(ctx.world, "conversations", conv_id)) or {})["assigneeId"] == ctx.world.rm.uid


def drive_notifyontask(ctx: Ctx) -> None:
    """A task the manager assigned pushes the agent and puts its due reminder on Cloud Tasks."""
    task_id, task = _task(ctx.world, None, due=datetime.now(UTC) + timedelta(days=2), by=ctx.world.manager)
    ctx.event(f"orgs/{ctx.world.org_id}/tasks/{task_id}", before=None, after=task)
    assert pushes(ctx.standins, ctx.world.agent, "task-assigned", taskId=task_id), "no push reached FCM"
    record = reminder_records(task_id)
    assert record, "no reminder record"
    tasks = created_tasks(ctx.standins, reminderId=record[0].id)
    assert tasks, "the reminder was not enqueued at Cloud Tasks"
    assert_reaches_remind(ctx.standins, tasks[0])


def _visit(world: World, lead_id: str, at: datetime) -> tuple[str, dict[str, Any]]:
    """A scheduled visit document as the visits service stores it."""
    visit_id = "v" + uuid.uuid4().hex[:12]
    now = datetime.now(UTC)
    visit = {
        "leadId": lead_id,
        "projectId": None,
        "agentId": world.agent.uid,
        "teamId": "north",
        "scheduledAt": at,
        "status": "scheduled",
        "notes": "",
        "followUpNotes": "",
        "sequence": 0,
        "version": 1,
        "createdAt": now,
        "createdBy": world.agent.uid,
        "updatedAt": now,
        "updatedBy": world.agent.uid,
    }
    org_doc(world, "visits", visit_id).set(visit)
    return visit_id, visit


def drive_remindonvisit(ctx: Ctx) -> None:
    """A visit written by someone else's instance still gets its reminders on Cloud Tasks."""
    visit_id, visit = _visit(ctx.world, seed_lead(ctx.world)["id"], datetime.now(UTC) + timedelta(days=3))
    ctx.event(f"orgs/{ctx.world.org_id}/visits/{visit_id}", before=None, after=visit)
    records = [s.id for s in reminder_records(visit_id)]
    assert records, "no reminder record for the visit"
    assert any(created_tasks(ctx.standins, reminderId=r) for r in records), "no reminder at Cloud Tasks"


# ---- schedules and the task queue ---------------------------------------------------------------


def drive_sendqueuedmessages(ctx: Ctx) -> None:
    """A promotional WhatsApp message whose window opened goes to the Cloud API."""
    lead = seed_lead(ctx.world)
    message_id = "q" + uuid.uuid4().hex[:12]
    past = datetime.now(UTC) - timedelta(minutes=1)
    org_doc(ctx.world, "messages", message_id).set(
        {
            "id": message_id,
            "leadId": lead["id"],
            "agentId": ctx.world.agent.uid,
            "teamId": "north",
            "channel": "whatsapp",
            "direction": "outbound",
            "template": "new_launch_offer",
            "category": "marketing",
            "language": "en",
            "params": ["Palm Grove"],
            "status": "queued",
            "statusHistory": [{"status": "queued", "at": past, "reason": None}],
            "sendAfter": past,
            "dueAt": past,
            "createdAt": past,
            "version": 1,
        }
    )
    ctx.schedule()
    stored = data_of(org_doc(ctx.world, "messages", message_id)) or {}
    assert stored["status"] == "sent", stored.get("failureReason")
    assert [
        r
        for r in ctx.standins.seen("127.0.0.1", "/graph/")
        if (r.json() or {}).get("to") == lead["primaryPhone"]["e164"].lstrip("+")
    ]


def drive_capturepull(ctx: Ctx) -> None:
    """An active 99acres source is pulled with its credentials; its enquiry becomes a capture and a lead."""
    from core import clients

    source_id = "src_" + uuid.uuid4().hex[:12]
    query_id = "Q-" + uuid.uuid4().hex[:10]
    number = unique_phone()
    now = datetime.now(UTC)
    org_doc(ctx.world, "captureSources", source_id).set(
        {
            "orgId": ctx.world.org_id,
            "kind": "99acres",
            "name": "99acres",
            "source": "99acres",
            "active": True,
            "config": {"username": "prodtest-builder", "password": "prodtest-password"},
            "createdAt": now,
            "updatedAt": now,
            "version": 1,
        }
    )
    ctx.standins.state.acres99 = (
        f'<Xml ActionStatus="true"><Resp><QryDtl ResType="ProjectResponse" QueryId="{query_id}">'
        f"<QryInfo>Call me</QryInfo><RcvdOn>{now.strftime('%Y-%m-%d %H:%M:%S')}</RcvdOn></QryDtl>"
        f"<CntctDtl><Name>Portal Buyer</Name><Phone>+91{number}</Phone></CntctDtl></Resp></Xml>"
    )
    ctx.schedule()
    pulls = [r for r in ctx.standins.seen("127.0.0.1", "/99acres/pull") if b"prodtest-builder" in r.body]
    assert pulls, "99acres was not pulled with the source's user name"
    source = data_of(org_doc(ctx.world, "captureSources", source_id)) or {}
    assert (source.get("pull") or {}).get("lastError") is None and (source.get("pull") or {}).get("cursor")
    captures = [
        s.to_dict()
        for s in org_doc(ctx.world)
        .collection("captures")
        .where(filter=clients.where("providerId", "==", query_id))
        .stream()
    ]
    assert [c["outcome"] for c in captures] == ["created"], captures
    lead = data_of(org_doc(ctx.world, "leads", captures[0]["leadId"])) or {}
    assert lead.get("source") == "99acres" and lead.get("sourceId") == source_id


def drive_remindersweep(ctx: Ctx) -> None:
    """A reminder that entered Cloud Tasks' 30-day window is enqueued by the daily sweep."""
    from reminders import queue as task_queue
    from reminders import service as reminders

    task_id, task = _task(ctx.world, None, due=datetime.now(UTC) + timedelta(days=5), by=ctx.world.agent)
    task_queue.install(task_queue.MemoryQueue(horizon=timedelta(0)))  # the admin client only plans it
    try:
        reminders.reconcile(ctx.world.org_id, "task", task_id, {"id": task_id, **task})
    finally:
        task_queue.install(None)
    record = reminder_records(task_id)[0]
    assert (record.to_dict() or {})["state"] == "pending"
    ctx.schedule()
    assert created_tasks(ctx.standins, reminderId=record.id), "the sweep enqueued nothing at Cloud Tasks"
    assert (data_of(record.reference) or {})["state"] == "enqueued"


def drive_dailydigest(ctx: Ctx) -> None:
    """At 08:00 in the organization's zone the agent's phone gets the day's visits."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Kolkata")
    day = (datetime.now(zone) + timedelta(days=5)).date()
    run_at = datetime(day.year, day.month, day.day, 8, 0, tzinfo=zone)
    visit_id, _ = _visit(ctx.world, seed_lead(ctx.world)["id"], run_at + timedelta(hours=3))
    ctx.schedule(run_at)
    found = [
        p
        for p in pushes(ctx.standins, ctx.world.agent, "daily-digest")
        if visit_id in (p.get("data") or {}).get("visitIds", "")
    ]
    assert found, "no digest push reached FCM"


def drive_retentiondaily(ctx: Ctx) -> None:
    """Audit months past their year are pruned; the chain's anchor moves to the last one removed."""
    from core import audit, clock
    from ops.orgs import create_org

    org_id = "auditorg-" + uuid.uuid4().hex[:6]
    previous = clock.install(clock.FixedClock(datetime.now(UTC) - timedelta(days=800)))
    try:  # an organization whose first entries are more than two years old
        create_org(
            org_id=org_id,
            name="Old Homes",
            seats=2,
            subscription_ends_at=datetime.now(UTC) + timedelta(days=30),
            admin_email=f"admin@{org_id}.example.com",
            admin_name="Old Admin",
            admin_uid=f"{org_id}-admin",
        )
        old = [s.id for s in audit.entries_ref(org_id).stream()]
    finally:
        clock.install(previous)
    recent = audit.record(org_id, "login", actor=f"{org_id}-admin")
    ctx.schedule()
    assert [s.id for s in audit.entries_ref(org_id).stream()] == [recent]
    assert (data_of(audit.head_ref(org_id)) or {}).get("anchorSeq") == int(max(old))


def drive_privacydue(ctx: Ctx) -> None:
    """The admins of an organization with a privacy request due in two days get a push and an email."""
    from privacy import requests
    from privacy.models import PrivacyRequestCreate

    lead = seed_lead(ctx.world)
    data = PrivacyRequestCreate.model_validate(
        {
            "kind": "access",
            "subject": {"type": "lead", "id": lead["id"]},
            "receivedVia": "email",
            "receivedAt": (datetime.now(UTC) - timedelta(days=28)).isoformat(),
        }
    )
    admin = ctx.world.admin
    requests.record(org_id=ctx.world.org_id, data=data, by=admin.uid)
    ctx.schedule()
    assert pushes(ctx.standins, admin, "privacy-requests-due"), "no reminder push reached FCM"
    wait_for(lambda: ctx.standins.smtp.to(admin.email), message="the reminder email at the SMTP relay")


def drive_purgeleads(ctx: Ctx) -> None:
    """A lead archived 40 days ago is purged."""
    lead = seed_lead(ctx.world)
    ref = org_doc(ctx.world, "leads", lead["id"])
    ref.update({"archived": True, "archivedAt": datetime.now(UTC) - timedelta(days=40)})
    ctx.schedule()
    assert data_of(ref) is None


def drive_routingsweep(ctx: Ctx) -> None:
    """A lead waiting in team north's queue goes to the team's available agent."""
    lead = seed_lead(ctx.world)
    ref = org_doc(ctx.world, "leads", lead["id"])
    ref.update({"assigneeId": None, "teamId": "north", "queue": "team", "queuedAt": datetime.now(UTC)})
    ctx.schedule()
    stored = data_of(ref) or {}
    assert stored["assigneeId"] == ctx.world.agent.uid and stored["queue"] is None
    assert stored["assignmentHistory"][-1]["reason"] == "queue"


def drive_remind(ctx: Ctx) -> None:
    """A reminder task delivered as Cloud Tasks delivers it pushes the agent."""
    from reminders import queue as task_queue
    from reminders import service as reminders

    task_id, task = _task(ctx.world, None, due=datetime.now(UTC) + timedelta(seconds=10), by=ctx.world.agent)
    memory = task_queue.MemoryQueue()
    task_queue.install(memory)  # what the service would enqueue, caught in memory
    try:
        reminders.reconcile(ctx.world.org_id, "task", task_id, {"id": task_id, **task})
    finally:
        task_queue.install(None)
    assert memory.tasks, "the reminder service planned no task"
    name, (payload, eta) = next(iter(memory.tasks.items()))
    headers = {
        "Content-Type": "application/json",
        "Authorization": "Bearer " + "oidc.token.from-cloud-tasks",  # Cloud Run checks it before the function
        "X-CloudTasks-QueueName": "remind",
        "X-CloudTasks-TaskName": name,
        "X-CloudTasks-TaskRetryCount": "0",
        "X-CloudTasks-TaskExecutionCount": "0",
        "X-CloudTasks-TaskETA": str(eta.timestamp()),
        "User-Agent": "Google-Cloud-Tasks",
    }
    response = httpx.post(ctx.fn.url + "/", content=json.dumps({"data": payload}).encode(), headers=headers, timeout=60)
    expect(response, 200)
    assert pushes(ctx.standins, ctx.world.agent, "task-due", taskId=task_id) or [
        p
        for p in ctx.standins.pushes_to(ctx.world.agent.device_token)
        if (p.get("data") or {}).get("taskId") == task_id
    ], "no reminder push reached FCM"


def _sla_lead(ctx: Ctx, due: datetime) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A lead of the agent with a first-response deadline, as the routing engine writes it; (id, before, after)."""
    lead_id = seed_lead(ctx.world)["id"]
    ref = org_doc(ctx.world, "leads", lead_id)
    before = data_of(ref) or {}
    assigned = due - timedelta(minutes=15)
    entry = {"assigneeId": ctx.world.agent.uid, "at": assigned, "reason": "manual"}
    ref.update({"assignedAt": assigned, "assignmentHistory": [entry], "slaDueAt": due, "slaReassignments": 0})
    return lead_id, before, data_of(ref) or {}


def sla_tasks_created(standins: Standins, lead_id: str) -> list[dict[str, Any]]:
    """Cloud Tasks tasks created for the `leadsla` queue about one lead."""
    found = []
    for record in standins.seen("cloudtasks.googleapis.com", "/queues/leadsla/tasks", "POST"):
        task = (record.json() or {}).get("task") or {}
        body = json.loads(base64.b64decode(task.get("httpRequest", {}).get("body", "") or b"e30="))
        if (body.get("data") or {}).get("leadId") == lead_id:
            found.append(task | {"decoded": body})
    return found


def drive_leadslaschedule(ctx: Ctx) -> None:
    """A new deadline puts one task on the `leadsla` queue at that time, however often the event comes."""
    due = (datetime.now(UTC) + timedelta(minutes=15)).replace(microsecond=0)
    lead_id, before, after = _sla_lead(ctx, due)
    path, event_id, at = f"orgs/{ctx.world.org_id}/leads/{lead_id}", uuid.uuid4().hex, datetime.now(UTC)
    ctx.event(path, before=before, after=after, event_id=event_id, at=at)
    ctx.event(path, before=before, after=after, event_id=event_id, at=at)  # redelivered
    tasks = wait_for(lambda: sla_tasks_created(ctx.standins, lead_id), message="the SLA task at Cloud Tasks")
    assert len({t["name"] for t in tasks}) == 1, "a redelivered event asked for a second task"  # Cloud Tasks 409s it
    task = tasks[0]
    request = task["httpRequest"]
    assert request["url"] == f"{PUBLIC_BASE}/leadsla", request["url"]
    assert request["oidcToken"]["serviceAccountEmail"] == ctx.standins.keys.service_account
    assert task["name"].startswith(f"projects/{harness.PROJECT}/locations/{harness.REGION}/queues/leadsla/tasks/")
    assert task["scheduleTime"].startswith(due.strftime("%Y-%m-%dT%H:%M:%S")), task["scheduleTime"]
    assert task["decoded"]["data"]["dueAt"] == due.isoformat()


def drive_leadsla(ctx: Ctx) -> None:
    """A deadline that passed uncontacted, delivered as Cloud Tasks delivers it: the lead is re-routed (or
    queued for the managers), its history says sla-missed, and the agent who missed it is pushed through FCM."""
    from routing import sla_tasks

    due = datetime.now(UTC) - timedelta(seconds=1)
    lead_id, _, after = _sla_lead(ctx, due)
    task = sla_tasks.Deadline(ctx.world.org_id, lead_id, after["slaDueAt"])
    headers = {
        "Content-Type": "application/json",
        "Authorization": "Bearer " + "oidc.token.from-cloud-tasks",  # Cloud Run checks it before the function
        "X-CloudTasks-QueueName": "leadsla",
        "X-CloudTasks-TaskName": task.name,
        "X-CloudTasks-TaskRetryCount": "0",
        "X-CloudTasks-TaskExecutionCount": "0",
        "X-CloudTasks-TaskETA": str(due.timestamp()),
        "User-Agent": "Google-Cloud-Tasks",
    }
    body = json.dumps({"data": task.payload()}).encode()
    expect(httpx.post(ctx.fn.url + "/", content=body, headers=headers, timeout=90), 200)
    stored = data_of(org_doc(ctx.world, "leads", lead_id)) or {}
    assert stored.get("assigneeId") != ctx.world.agent.uid, stored.get("assignmentHistory")
    assert stored["assignmentHistory"][-1]["reason"] == "sla"
    assert "sla-missed" in activity_types(ctx.world, lead_id)
    wait_for(lambda: pushes(ctx.standins, ctx.world.agent, "sla-missed", leadId=lead_id), message="the SLA push")
    expect(httpx.post(ctx.fn.url + "/", content=body, headers=headers, timeout=90), 200)  # redelivered
    assert len(pushes(ctx.standins, ctx.world.agent, "sla-missed", leadId=lead_id)) == 1
    assert activity_types(ctx.world, lead_id).count("sla-missed") == 1


def drive_leadimport(ctx: Ctx) -> None:
    """An uploaded CSV import, delivered as Cloud Tasks delivers it, creates its leads and records progress."""
    from tests.prod.standins import StoredObject

    import_id = "imp_" + uuid.uuid4().hex[:12]
    object_path = f"orgs/{ctx.world.org_id}/imports/{import_id}/source.csv"
    number = f"97{uuid.uuid4().int % 10**8:08d}"
    content = f"Name,Mobile\nTask Buyer,{number}\nNo Phone,\n".encode()
    with ctx.standins.state.lock:
        ctx.standins.state.objects[(harness.BUCKET, object_path)] = StoredObject(content, "text/csv", 1)
    now = datetime.now(UTC)
    ref = org_doc(ctx.world, "imports", import_id)
    ref.set(
        {
            "id": import_id,
            "orgId": ctx.world.org_id,
            "fileName": "leads.csv",
            "contentType": "text/csv",
            "kind": "csv",
            "objectPath": object_path,
            "status": "running",
            "dryRun": False,
            "columnMap": None,
            "generation": 1,
            "rowsTotal": None,
            "rowsDone": 0,
            "rowOffset": 0,
            "batches": 0,
            "created": 0,
            "duplicates": 0,
            "errors": 0,
            "errorsPath": None,
            "reason": None,
            "createdBy": ctx.world.admin.uid,
            "createdAt": now,
            "updatedAt": now,
        }
    )
    headers = {
        "Content-Type": "application/json",
        "Authorization": "Bearer " + "oidc.token.from-cloud-tasks",  # Cloud Run checks it before the function
        "X-CloudTasks-QueueName": "leadimport",
        "X-CloudTasks-TaskName": f"{import_id}-0",
        "X-CloudTasks-TaskRetryCount": "0",
        "X-CloudTasks-TaskExecutionCount": "0",
        "User-Agent": "Google-Cloud-Tasks",
    }
    body = json.dumps({"data": {"orgId": ctx.world.org_id, "importId": import_id}}).encode()
    expect(httpx.post(ctx.fn.url + "/", content=body, headers=headers, timeout=120), 200)
    stored = data_of(ref) or {}
    assert (stored.get("status"), stored.get("created"), stored.get("errors")) == ("done", 1, 1), stored
    assert (harness.BUCKET, stored["errorsPath"]) in ctx.standins.state.objects, "no errors CSV in Storage"


def _report_today(ctx: Ctx, metric: str) -> int:
    """Today's (organization zone) count of a report metric over every cell of the seeded organization."""
    from zoneinfo import ZoneInfo

    from reports import counters

    day = datetime.now(ZoneInfo("Asia/Kolkata")).date().isoformat()
    return sum(counts.get(metric, 0) for counts in counters.read(ctx.world.org_id, day, day).values())


def _count_event(ctx: Ctx, collection: str, record: dict[str, Any], metric: str) -> None:
    """Deliver a record's created event twice (one event id): the metric moves by one, once."""
    before = _report_today(ctx, metric)
    event_id = "ev-" + uuid.uuid4().hex
    path = f"orgs/{ctx.world.org_id}/{collection}/r{uuid.uuid4().hex[:10]}"
    ctx.event(path, before=None, after=record, event_id=event_id)
    ctx.event(path, before=None, after=record, event_id=event_id)
    assert _report_today(ctx, metric) == before + 1, f"{metric} did not move by exactly one"


def drive_reports(ctx: Ctx) -> None:
    """The funnel as JSON and the agents as CSV for the admin; another team's report is refused to the agent."""
    funnel = expect(ctx.call("GET", "/funnel", member=ctx.world.admin), 200)
    assert [s["stage"] for s in funnel["stages"]][:1] == ["new"]
    csv_text = expect(ctx.call("GET", "/agents?format=csv", member=ctx.world.admin), 200)
    assert csv_text.splitlines()[0].startswith('"uid","name","leadsAssigned"')
    expect(ctx.call("GET", f"/visits?assigneeId={ctx.world.manager.uid}", member=ctx.world.agent), 403)


def drive_reportleads(ctx: Ctx) -> None:
    """A new lead counts once today even when its event is delivered twice."""
    lead = seed_lead(ctx.world)
    record = data_of(org_doc(ctx.world, "leads", lead["id"])) or {}
    _count_event(ctx, "leads", record, "leads")


def drive_reportcalls(ctx: Ctx) -> None:
    """A logged call counts once for its agent."""
    lead = seed_lead(ctx.world)
    now = datetime.now(UTC)
    call = {
        "leadId": lead["id"],
        "agentId": ctx.world.agent.uid,
        "teamId": "north",
        "direction": "outbound",
        "kind": "phone",
        "startedAt": now,
        "durationSec": 60,
        "outcome": "connected",
        "createdAt": now,
    }
    _count_event(ctx, "calls", call, "calls")


def drive_reportmessages(ctx: Ctx) -> None:
    """A message a member sent counts once."""
    lead = seed_lead(ctx.world)
    message = {
        "leadId": lead["id"],
        "agentId": ctx.world.agent.uid,
        "sentBy": ctx.world.agent.uid,
        "teamId": "north",
        "channel": "sms",
        "direction": "outbound",
        "status": "sent",
        "createdAt": datetime.now(UTC),
    }
    _count_event(ctx, "messages", message, "sent")


def drive_reportvisits(ctx: Ctx) -> None:
    """A booked visit counts once."""
    lead = seed_lead(ctx.world)
    now = datetime.now(UTC)
    visit = {
        "leadId": lead["id"],
        "agentId": ctx.world.agent.uid,
        "teamId": "north",
        "status": "scheduled",
        "scheduledAt": now + timedelta(days=1),
        "createdAt": now,
    }
    _count_event(ctx, "visits", visit, "vScheduled")


def drive_reportcheck(ctx: Ctx) -> None:
    """The nightly check records yesterday's check of the organization."""
    from zoneinfo import ZoneInfo

    ctx.schedule()  # may fix what this tier's seeding wrote without the triggers
    ctx.schedule()
    yesterday = (datetime.now(ZoneInfo("Asia/Kolkata")).date() - timedelta(days=1)).isoformat()
    check = data_of(org_doc(ctx.world, "reportChecks", yesterday)) or {}
    assert check.get("differences") == 0 and check.get("day") == yesterday, check


def drive_reportweekly(ctx: Ctx) -> None:
    """At Monday 09:05 in the organization's zone its admin is emailed the week with the funnel chart."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Kolkata")
    today = datetime.now(zone).date()
    monday = today - timedelta(days=today.weekday())
    run_at = datetime(monday.year, monday.month, monday.day, 9, 5, tzinfo=zone)
    ctx.schedule(run_at)
    found = wait_for(lambda: ctx.standins.smtp.to(ctx.world.admin.email), message="the weekly report email")
    images = [p for p in found[-1].message.walk() if p.get_content_type() == "image/png"]
    assert images and images[0]["Content-ID"] == "<funnel>", "no inline funnel chart"


DRIVERS: dict[str, Callable[[Ctx], None]] = {
    name.removeprefix("drive_"): function for name, function in dict(globals()).items() if name.startswith("drive_")
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_starts_and_answers(name: str, fleet: harness.Fleet, standins: Standins, world: World) -> None:
    """The function started in production shape with only its declared secrets, and its main path works."""
    function = fleet.functions.get(name)
    assert function is not None, f"{name} is in registry.FUNCTIONS but not in the deploy manifest"
    declared = ", ".join(function.endpoint.secrets) or "no secrets"
    assert function.ready, f"{name} (declares {declared}) did not start:\n{function.log()[-3000:]}"
    driver = DRIVERS.get(name)
    assert driver is not None, (
        f"the prod tier has no driver for {name}: add drive_{name} to tests/prod/test_functions.py"
    )
    failure = ""
    try:
        driver(Ctx(function, fleet, standins, world))
    except AssertionError as error:
        failure = str(error)
    problems = function.problems()
    if failure or problems:
        log = "\n  ".join(problems) or "(nothing logged)"
        pytest.fail(f"{name} (declares {declared}): {failure or 'its log shows failures'}\n  log:\n  {log}")


def test_every_manifest_function_has_a_driver(manifest: dict[str, harness.Endpoint]) -> None:
    """A new function cannot join the deploy without the tier driving it."""
    assert sorted(set(manifest) - set(DRIVERS)) == []
