"""Where an organization masks phone numbers, no agent or rm learns one through any path (issue 12, class 6).

One world, built as the app builds it: through the real handlers, the Firestore triggers of the registry run
in process after every call (tests/support/triggers.py), and every instance's cached copy of the organization
still saying "not masked" because an admin turned masking on a moment ago (the race of the issue). Leads of
three kinds hold numbers no agent or rm ever typed (SECRETS): created after masking was turned on (by an
admin, by the system for an unknown WhatsApp sender, through a merge), and created before it, seen only by a
peer, then reassigned to the agent or booked for the rm before the masking trigger reached them.

Then, as the agent and as the rm, none of these shows a hidden digit of a secret:
- every response they got while the world was built (test_every_write_route_is_walked_or_exempt fails on a
  route that is neither done by them in the world nor exempt with the reason);
- every GET route of every router in registry.FUNCTIONS, with every id of the world in each path parameter
  and id-like query parameter (a new route, parameter or field is walked without editing this file);
- every Firestore document the rules let them read (their listeners), at every state it was committed in;
- every push, feed entry and email the outbox holds for them;
- the search: no prefix of a hidden number finds its lead, the full number does;
- the voice webhook's XML that rings the agent's app (while the XML that has Plivo dial holds the number).
"""

from __future__ import annotations

import copy
import importlib
import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import requests

from devtools.inproc import Response, call
from tests.masking.leaks import found
from tests.support.factory import Person, add_person, make_org
from tests.support.triggers import Triggers

pytestmark = pytest.mark.http

ORG = "mask"
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
SECRETS = {  # label -> a number no agent or rm ever typed (all 5-digit windows distinct from the world's)
    "primary": "9847381956",
    "alternate": "7019283746",
    "first-alternate": "9915362874",
    "stranger": "9638527410",
    "duplicate": "8821469037",
    "target": "9376205148",
    "reassigned": "7754831920",
    "moved": "8163947205",
    "listed": "9182736450",
    "booked-later": "6291837465",
    "captured": "8260181590",
    "captured-google": "7016613186",
    "captured-email": "9787789328",  # typed by a buyer who left only an email, in the capture's message
    "caller": "8539261407",  # an unknown number calling the organization's number
}
TYPED = {"own": "9753186420", "imported": "9081726354"}  # numbers the agent types itself
SMS_TEMPLATE = "1107170000000000001"
ENDPOINT_HOOK = re.compile(r"\{(\w+)\}")


@dataclass
class World:
    """The masking organization, its people, the leads by label and everything agents and rms were shown."""

    admin: Person
    manager: Person
    agent: Person
    peer: Person  # owns leads stored before masking was turned on, then moved to the agent
    other: Person  # owns one stored before it too, booked later (then the rm sees it)
    rm: Person
    triggers: Triggers
    host: str
    stale_org: dict[str, Any] | None = None  # set once masking is about to be turned on
    leads: dict[str, str] = field(default_factory=dict)  # label -> lead id
    shown: list[tuple[str, str, str]] = field(default_factory=list)  # (who, what, text) agents and rms got
    exercised: set[tuple[str, str]] = field(default_factory=set)  # (method, route) agents and rms called
    listened: list[str] = field(default_factory=list)  # leaks a listener of theirs could have received
    masking_on: bool = False  # from the moment the admin's change committed
    stored_raw: list[str] = field(default_factory=list)  # lead states committed with a raw number since then
    ring_xml: str = ""
    caller_ring_xml: str = ""
    dial_xml: str = ""

    @property
    def masked_roles(self) -> list[Person]:
        """The people who must never see a raw number."""
        return [self.agent, self.rm]

    def keep_stale(self) -> None:
        """This instance still holds the organization as it was before masking was turned on."""
        from core import tenancy

        if self.stale_org is None:
            return
        tenancy.load_org(ORG)
        entry = tenancy.cache.entries[tenancy.org_ref(ORG).path]
        entry.value, entry.expires = copy.deepcopy(self.stale_org), math.inf

    def api(self, person: Person, method: str, path: str, **kwargs: Any) -> Response:
        """A call as person, with the stale cache, the triggers run after it and what it showed recorded."""
        self.keep_stale()
        with self.triggers.running():
            response = call(method, path, token=person.token(), **kwargs)
        if person in self.masked_roles:
            self.shown.append((person.role, f"{method} {path} -> {response.status}", response.text))
            self.exercised.add((method, route_of(method, path)))
        return response

    def hook(self, post: Any, path: str, params: Any) -> Response:
        """A provider's webhook call, with the triggers run after it."""
        self.keep_stale()
        with self.triggers.running():
            response: Response = post(path, params)
        return response

    def lead(self, by: Person, label: str, assignee: Person, number: str, **extra: Any) -> str:
        """A lead through the API."""
        body = {"name": f"Buyer {label}", "primaryPhone": {"number": number}, "assigneeId": assignee.uid, **extra}
        response = self.api(by, "POST", "/leads", json_body=body)
        assert response.status == 201, response.body
        self.leads[label] = str(response.body["id"])
        return self.leads[label]


def route_of(method: str, path: str) -> str:
    """The registered route (`/leads/{lead_id}`) a request path reaches."""
    for name, route in all_routes():
        function, _, rest = path.split("?")[0].lstrip("/").partition("/")
        if function == name and route.method == method and route.pattern.match("/" + rest):
            return f"/{name}{route.path.rstrip('/')}"
    return f"unrouted {path}"


def all_routes() -> Iterator[tuple[str, Any]]:
    """(function name, Route) of every router of the deployed functions."""
    from registry import FUNCTIONS

    for name, module in FUNCTIONS.items():
        router = getattr(importlib.import_module(module), "router", None)
        for route in getattr(router, "routes", []):
            yield name, route


# ---- the observers: every committed state of a document an agent or rm may read --------------------------


def readable(host: str, path: str, person: Person) -> dict[str, Any] | None:
    """The document as person's listener would receive it (firestore.rules decide), or None when denied."""
    url = f"http://{host}/v1/projects/demo-justo/databases/(default)/documents/{quote(path)}"
    response = requests.get(url, headers={"Authorization": f"Bearer {person.token()}"}, timeout=20)
    if response.status_code in (403, 404):
        return None
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:200]}"
    body: dict[str, Any] = response.json()
    return body


def observe(world: World, path: str, data: dict[str, Any] | None) -> None:
    """Record a leak when a committed document holds hidden digits and an agent or rm may read it, and any lead
    state committed with a raw number once masking is on (API.md: the lead document holds only masked ones)."""
    from leads import store

    lead = re.fullmatch(rf"orgs/{ORG}/leads/[^/]+", path)
    if world.masking_on and lead and data is not None and store.LeadRecord.from_document("", data).holds_raw:
        world.stored_raw.append(f"{path} ({data.get('name')})")
    if data is None or not found(data, SECRETS):
        return
    for person in world.masked_roles:
        document = readable(world.host, path, person)
        if document is not None and found(document, SECRETS):
            world.listened.append(f"{person.role} reads {path}: {found(document, SECRETS)}")


# ---- the world ------------------------------------------------------------------------------------------------


def _grant_everything() -> dict[str, dict[str, bool]]:
    from core.permissions import OVERRIDABLE

    return {role: dict.fromkeys(sorted(OVERRIDABLE), True) for role in ("agent", "rm")}


@pytest.fixture(scope="module")
def world(firestore_emulator: str) -> Iterator[World]:
    """The masking organization after everything below, agents and rms granted every permission they may get."""
    from comms import config, providers
    from comms.seed import local_voice_number, seed
    from core import clock, mail, tenancy
    from devtools import emulators
    from reminders import queue

    emulators.clear_firestore(firestore_emulator, "demo-justo")
    tenancy.cache.clear()
    previous = clock.install(clock.FixedClock(NOW))
    memory = queue.MemoryQueue()
    queue.install(memory)
    providers.install()
    config.reset()
    mail.install(None)
    triggers = Triggers()
    with triggers.running():
        admin = make_org(ORG)
        roles = ("manager", "agent", "agent", "agent", "rm")
        manager, agent, peer, other, rm = (add_person(ORG, role, "north") for role in roles)
        seed(ORG, None)
    built = World(admin, manager, agent, peer, other, rm, triggers=triggers, host=firestore_emulator)
    triggers.observer = lambda path, data: observe(built, path, data)
    voice_number = local_voice_number(ORG)
    settings = {
        "rolePermissions": _grant_everything(),
        "callRecording": True,
        "visitStageMoves": False,
    }
    assert built.api(admin, "PATCH", "/org/settings", json_body=settings).status == 200
    _before_masking(built)
    built.stale_org = copy.deepcopy(tenancy.load_org(ORG, fresh=True) or {})
    with triggers.holding("leadmasking"):  # its rewrite of the older leads has not reached them yet
        assert built.api(admin, "PATCH", "/org/settings", json_body={"phoneMasking": True}).status == 200
    built.masking_on = True
    _after_masking(built, voice_number)
    triggers.release()
    _fire_reminders(built, memory)
    yield built
    clock.install(previous)
    queue.install(None)
    tenancy.cache.clear()


def _before_masking(world: World) -> None:
    """Leads of the peer, stored raw (masking is off): the agent and the rm never see them while it is."""
    admin, peer = world.admin, world.peer
    for label in ("reassigned", "moved", "listed"):
        world.lead(admin, label, peer, SECRETS[label])
    world.lead(admin, "booked-later", world.other, SECRETS["booked-later"], stage="negotiation")
    body = {"leadId": world.leads["listed"], "templateId": SMS_TEMPLATE, "params": ["11:00"]}
    assert world.api(peer, "POST", "/comms/sms", json_body=body).status == 201  # its `to` is stored raw


def _after_masking(world: World, voice_number: str) -> None:
    """Everything else, each instance still believing masking is off."""
    admin, agent = world.admin, world.agent
    # an admin's leads for the agent: a booked one (the rm sees it too), then its alternate number changed
    primary = world.lead(
        admin,
        "primary",
        agent,
        SECRETS["primary"],
        alternatePhone={"number": SECRETS["first-alternate"]},
        emails=["asha.secret@example.com"],
        optIns=["whatsapp", "sms", "email"],
        stage="booked",
    )
    changed = world.api(
        admin, "PATCH", f"/leads/{primary}", json_body={"alternatePhone": {"number": SECRETS["alternate"]}}
    )
    assert changed.status == 200, changed.body
    world.lead(admin, "target", agent, SECRETS["target"])
    world.lead(admin, "duplicate", agent, SECRETS["duplicate"])
    # the peer's older leads reach the agent and the rm before the masking trigger rewrote them
    assert (
        world.api(
            admin, "POST", f"/leads/{world.leads['reassigned']}/assign", json_body={"assigneeId": agent.uid}
        ).status
        == 200
    )
    listed = {"leadIds": [world.leads["listed"]], "toAssigneeId": agent.uid}
    assert world.api(admin, "POST", "/leads/bulk-assign", json_body=listed).body == {"moved": 1}
    moved = {"fromAssigneeId": world.peer.uid, "toAssigneeId": agent.uid}
    assert world.api(admin, "POST", "/leads/bulk-assign", json_body=moved).body["moved"] >= 1
    booked = world.api(admin, "PATCH", f"/leads/{world.leads['booked-later']}", json_body={"stage": "booked"})
    assert booked.status == 200, booked.body
    project = world.api(
        admin,
        "POST",
        "/projects",
        json_body={"name": "Skyline", "city": "Pune", "address": "Baner", "location": {"lat": 18.56, "lng": 73.78}},
    ).body["id"]
    _captures(world)
    _agent_work(world, primary, project)
    _rm_work(world, primary)
    _providers(world, primary, voice_number)


def _captures(world: World) -> None:
    """Leads captured from the website and a Google form (routed to the agents), and a repeat enquiry of the
    primary lead's buyer (pushed to the agent)."""
    admin = world.admin
    website = {"kind": "website", "name": "Site", "source": "website"}
    site = world.api(admin, "POST", "/leads/sources", json_body=website).body
    google = world.api(admin, "POST", "/leads/sources", json_body=website | {"kind": "google", "source": "google"}).body
    for payload in (
        {"name": "Buyer captured", "phone": SECRETS["captured"], "email": "captured.secret@example.com"},
        {"name": "Asha again", "phone": "+91 " + SECRETS["primary"], "city": "Pune"},
        {"name": "Buyer email-only", "email": "email.only@example.com", "message": "ring " + SECRETS["captured-email"]},
    ):
        headers = {"X-Justo-Key": site["key"]}
        reply = world.hook(
            lambda path, body, headers=headers: call("POST", path, json_body=body, headers=headers),
            f"/webhooks/capture/{site['id']}",
            payload,
        )
        assert reply.status == 200, reply.body
        if payload["name"] == "Asha again":
            assert reply.body["outcome"] == "enquired-again"
    form = {
        "lead_id": "mask-google-1",
        "google_key": google["key"],
        "user_column_data": [
            {"column_id": "FULL_NAME", "string_value": "Buyer captured-google"},
            {"column_id": "PHONE_NUMBER", "string_value": "+91" + SECRETS["captured-google"]},
        ],
    }
    path = f"/webhooks/google/{google['id']}"
    answer = world.hook(lambda path, body: call("POST", path, json_body=body), path, form)
    assert answer.status == 200 and answer.body["outcome"] == "created", answer.body
    captured = {lead["name"]: lead["id"] for lead in _stored("leads") if lead.get("sourceId")}
    world.leads["captured"] = captured["Buyer captured"]
    world.leads["captured-google"] = captured["Buyer captured-google"]
    world.leads["captured-email"] = captured["Buyer email-only"]  # no phone: its note hides the number


def _agent_work(world: World, primary: str, project: str) -> None:
    """What an agent does in a day, every write route it may call."""
    agent = world.agent
    soon = (NOW + timedelta(hours=1)).isoformat()
    own = world.api(agent, "POST", "/leads", json_body={"name": "Walk In", "primaryPhone": {"number": TYPED["own"]}})
    assert own.status == 201, own.body
    world.api(agent, "PATCH", f"/leads/{primary}", json_body={"tags": ["hot"]})
    world.api(agent, "POST", f"/leads/{primary}/notes", json_body={"text": "Wants a corner flat"})
    world.api(agent, "PUT", "/members/me/availability", json_body={"status": "away", "until": soon})
    world.api(agent, "PUT", f"/members/{agent.uid}/availability", json_body={"status": "available"})
    world.api(agent, "POST", f"/leads/{primary}/assign", json_body={"assigneeId": agent.uid})
    world.api(agent, "POST", "/leads/bulk-assign", json_body={"leadIds": [primary], "toAssigneeId": agent.uid})
    merged = world.api(
        agent, "POST", f"/leads/{world.leads['target']}/merge", json_body={"duplicateId": world.leads["duplicate"]}
    )
    assert merged.status == 200, merged.body
    csv = f"name,phone\nImported Buyer,{TYPED['imported']}\n"
    imported = world.api(agent, "POST", "/leads/import", data=csv, content_type="text/csv")
    assert imported.status == 200 and imported.body["created"] == 1, imported.body
    world.api(agent, "DELETE", f"/leads/{own.body['id']}")
    task = world.api(agent, "POST", "/tasks", json_body={"title": "Call back", "dueAt": soon, "leadId": primary})
    world.api(agent, "PATCH", f"/tasks/{task.body['id']}", json_body={"status": "done"})
    visit = world.api(
        agent, "POST", "/visits", json_body={"leadId": primary, "projectId": project, "scheduledAt": soon}
    )
    assert visit.status == 201, visit.body
    world.api(agent, "PATCH", f"/visits/{visit.body['id']}", json_body={"notes": "Bring the brochure"})
    world.api(
        agent, "POST", f"/visits/{visit.body['id']}/checkin", json_body={"lat": 18.56, "lng": 73.78, "accuracyM": 8}
    )
    call_body = {"leadId": primary, "direction": "outbound", "kind": "phone", "startedAt": soon, "durationSec": 40}
    world.api(agent, "POST", "/comms/calls", json_body=call_body | {"outcome": "connected"})
    world.api(
        agent, "POST", "/comms/sms", json_body={"leadId": primary, "templateId": SMS_TEMPLATE, "params": ["11:00"]}
    )
    whatsapp = {"leadId": primary, "templateName": "site_visit_reminder", "language": "en", "params": ["11:00"]}
    world.api(agent, "POST", "/comms/whatsapp", json_body=whatsapp)
    world.api(agent, "POST", "/comms/email", json_body={"leadId": primary, "subject": "Your visit", "body": "See you"})
    device = {"deviceId": "phone-1", "fcmToken": "token-1", "platform": "android"}
    world.api(agent, "POST", "/devices", json_body=device)
    world.api(agent, "DELETE", "/devices/phone-1")
    policy = world.api(agent, "GET", "/privacy/policy").body
    world.api(agent, "POST", "/privacy/policy/accept", json_body={"version": str(policy.get("version") or "1")})
    world.api(agent, "POST", "/privacy/requests/me", json_body={"kind": "access", "details": "What do you hold?"})
    world.api(agent, "PATCH", "/privacy/me", json_body={"name": "Agent Renamed"})


def _rm_work(world: World, primary: str) -> None:
    """The rm on the booked leads of its team."""
    rm = world.rm
    world.api(rm, "PATCH", f"/leads/{primary}", json_body={"tags": ["hot", "booked-by-rm"]})
    world.api(
        rm,
        "POST",
        "/comms/calls",
        json_body={
            "leadId": world.leads["booked-later"],
            "direction": "outbound",
            "kind": "phone",
            "startedAt": NOW.isoformat(),
            "durationSec": 20,
            "outcome": "interested",
        },
    )
    world.api(rm, "POST", "/privacy/account/deletion")


def _providers(world: World, primary: str, voice_number: str) -> None:
    """A VoIP call by the agent, the lead calling back, WhatsApp statuses and messages from leads."""
    from comms import providers
    from comms.seed import local_phone_number_id
    from tests.comms.test_calls import plivo_post
    from tests.webhooks.test_api import whatsapp_post

    session = world.api(world.agent, "POST", "/comms/voip/session", json_body={"leadId": primary})
    assert session.status == 201, session.body
    call_id = session.body["callId"]
    dialled = world.hook(
        plivo_post,
        "/voice",
        {
            "CallUUID": "out-0001",
            "From": f"sip:{providers.endpoint_username(world.agent.uid)}@phone.plivo.com",
            "To": f"sip:{call_id}@phone.plivo.com",
            "Direction": "outbound",
            "X-PH-CallId": call_id,
        },
    )
    world.dial_xml = dialled.text
    ended = {"CallUUID": "out-0001", "DialStatus": "completed", "DialBLegDuration": "61"}
    world.hook(plivo_post, f"/voice/status?callId={call_id}", ended)
    recording = {"RecordUrl": "https://media.plivo.com/v1/Account/MA/Recording/r1.mp3", "RecordingID": "r1"}
    world.hook(plivo_post, f"/voice/recording?callId={call_id}", recording)
    inbound = {
        "CallUUID": "in-0001",
        "From": "91" + SECRETS["primary"],
        "To": voice_number.lstrip("+"),
        "Direction": "inbound",
    }
    world.ring_xml = world.hook(plivo_post, "/voice", inbound).text
    registration = world.api(world.agent, "POST", "/comms/voip/token")  # the app registers to receive calls
    assert registration.status == 200, registration.body
    unknown = inbound | {"CallUUID": "in-0002", "From": "91" + SECRETS["caller"]}
    world.caller_ring_xml = world.hook(plivo_post, "/voice", unknown).text
    (caller_lead,) = [lead for lead in _stored("leads") if lead.get("source") == "call"]
    world.leads["caller"] = caller_lead["id"]
    for xml in (world.ring_xml, world.caller_ring_xml):  # what the app's SDK is handed on the agents' phones
        world.shown.append(("agent", "the app's incoming call", xml))
    _email_events(world, primary)
    sent = [m for m in _stored("messages") if m.get("channel") == "whatsapp" and m.get("leadId") == primary]
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": local_phone_number_id(ORG)}}
    failed = {
        "id": sent[0]["providerMessageId"],
        "status": "failed",
        "timestamp": str(int(NOW.timestamp())),
        "recipient_id": "91" + SECRETS["primary"],
        "errors": [{"code": 131026, "title": f"Message undeliverable to +91 {SECRETS['primary']}"}],
    }
    inbound_messages = [
        {
            "from": "91" + SECRETS["primary"],
            "id": "wamid.in1",
            "timestamp": "1795586400",
            "type": "text",
            "text": {"body": "Is Sunday fine?"},
        },
        {
            "from": "91" + SECRETS["stranger"],
            "id": "wamid.in2",
            "timestamp": "1795586401",
            "type": "text",
            "text": {"body": "Price of 2BHK?"},
        },
    ]
    # an unknown sender whose WhatsApp profile name is its own number
    stranger_profile = [{"profile": {"name": f"+91 {SECRETS['stranger']}"}, "wa_id": "91" + SECRETS["stranger"]}]
    parts = (
        {"statuses": [failed]},
        {"messages": inbound_messages[:1]},
        {"messages": inbound_messages[1:], "contacts": stranger_profile},
    )
    for part in parts:
        payload = {"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [{"value": value | part}]}]}
        assert world.hook(lambda _path, body: whatsapp_post(body), "/whatsapp", payload).status == 200
    # the agent answers inside the window the lead's message opened, and reads the thread
    reply = {"leadId": primary, "text": "Sunday 11:00 works"}
    assert world.api(world.agent, "POST", "/comms/whatsapp/reply", json_body=reply).status == 201
    assert world.api(world.agent, "POST", f"/comms/conversations/whatsapp_{primary}/read").status == 200
    stranger = [lead for lead in _stored("leads") if lead.get("source") == "whatsapp"]
    assert stranger, "the unknown sender became a lead"
    world.leads["stranger"] = stranger[0]["id"]


def _email_events(world: World, primary: str) -> None:
    """SendGrid bounces the agent's email quoting the lead's address and number; the reason is stored."""
    import json

    from core import clock
    from devtools.sendgrid_events import event, signed_headers

    (email,) = [m for m in _stored("messages") if m.get("channel") == "email" and m.get("leadId") == primary]
    reason = f"550 <buyer@example.com> unknown; call +91 {SECRETS['primary']}"
    body = json.dumps([event(email["id"], "bounce", at=clock.now().timestamp(), type="bounce", reason=reason)])

    def post(path: str, data: str) -> Response:
        headers = signed_headers(data.encode(), at=clock.now().timestamp())
        headers.pop("Content-Type")
        return call("POST", f"/webhooks{path}", data=data.encode(), headers=headers, content_type="application/json")

    assert world.hook(post, "/email", body).status == 200
    assert "[number]" in (_stored_one("messages", email["id"]).get("failureReason") or "")


def _stored_one(collection: str, doc_id: str) -> dict[str, Any]:
    from core import tenancy

    return tenancy.org_ref(ORG).collection(collection).document(doc_id).get().to_dict() or {}


def _fire_reminders(world: World, memory: Any) -> None:
    """Deliver every reminder task queued (visit, task, follow-up) to the task function, as Cloud Tasks would."""
    import json

    from flask import Flask, request

    from triggers.reminders import remind

    app = Flask("tasks")
    for payload, _due in list(memory.tasks.values()):
        world.keep_stale()
        with (
            world.triggers.running(),
            app.test_request_context(
                "/", method="POST", data=json.dumps({"data": payload}), content_type="application/json"
            ),
        ):
            remind(request)  # type: ignore[arg-type, call-arg]  # a flask request, as functions-framework passes


def _stored(collection: str) -> list[dict[str, Any]]:
    from core import tenancy

    return [{"id": s.id, **(s.to_dict() or {})} for s in tenancy.org_ref(ORG).collection(collection).stream()]


# ---- what agents and rms were shown -------------------------------------------------------------------------


def test_every_response_an_agent_or_rm_got_hides_the_numbers(world: World) -> None:
    assert len(world.shown) > 20, "the world did not run"
    leaked = [(who, what, found(text, SECRETS)) for who, what, text in world.shown if found(text, SECRETS)]
    assert leaked == []


def test_every_get_route_with_every_id_hides_the_numbers(world: World) -> None:
    answered = 0
    for person in world.masked_roles:
        for path in get_requests(world):
            response = world.api(person, "GET", path)
            assert response.status < 500, f"{person.role} GET {path}: {response.status} {response.text[:200]}"
            answered += response.status == 200
            assert found(response.text, SECRETS) == [], f"{person.role} GET {path}: {response.text[:300]}"
    assert answered > 50, "the walk reached too little to prove anything"
    primary = world.api(world.agent, "GET", f"/leads/{world.leads['primary']}")
    assert primary.body["primaryPhone"]["masked"] == "+91 98XXXXXX56"
    admin = call("GET", f"/leads/{world.leads['primary']}", token=world.admin.token())
    assert admin.body["primaryPhone"]["e164"] == "+91" + SECRETS["primary"]  # the walk's leads do hold them


def get_requests(world: World) -> list[str]:
    """Every GET of every router: each path parameter and id-like query parameter filled with every fitting id."""
    pools = id_pools()
    paths = []
    for name, route in all_routes():
        if route.method != "GET":
            continue
        params = ENDPOINT_HOOK.findall(route.path)
        for values in itertools.product(*(pools_for(param, pools) for param in params)):
            path = f"/{name}" + route.path.format(**dict(zip(params, values, strict=True))).rstrip("/")
            paths.append(path)
            model = route.doc.query
            for field_name, info in model.model_fields.items() if model else []:
                alias = info.alias or field_name
                if alias.endswith("Id"):
                    paths += [f"{path}?{alias}={value}" for value in pools_for(alias, pools)]
    return paths


HINTS = {
    "lead": "leads",
    "task": "tasks",
    "visit": "visits",
    "message": "messages",
    "call": "calls",
    "project": "projects",
    "attachment": "attachments",
    "conversation": "conversations",
    "team": "teams",
    "device": "devices",
    "uid": "members",
    "assignee": "members",
    "agent": "members",
    "actor": "members",
    "member": "members",
}


def id_pools() -> dict[str, list[str]]:
    """The ids of the world by collection."""
    from core import clients, tenancy

    pools = {
        collection.id: [ref.id for ref in collection.list_documents()]
        for collection in tenancy.org_ref(ORG).collections()
    }
    pools["devices"] = [
        device.id
        for user in clients.db().collection("users").list_documents()
        for device in user.collection("devices").list_documents()
    ]
    return pools


def pools_for(name: str, pools: dict[str, list[str]]) -> list[str]:
    """The ids a parameter may take: those of the collection its name hints at, else every id of the world."""
    stem = re.sub(r"(_?id|Id)$", "", name).lower()
    collection = HINTS.get(stem)
    values = pools.get(collection, []) if collection else sorted({v for ids in pools.values() for v in ids})
    return values or ["none"]


# ---- listeners, pushes, search, calls -------------------------------------------------------------------------


def test_no_document_an_agent_or_rm_may_read_ever_held_a_raw_number(world: World) -> None:
    from core import clients

    assert world.listened == [], "a listener received a committed state with a raw number"
    assert world.stored_raw == [], "lead documents committed with raw numbers while the organization masks"
    assert world.triggers.delivered["leadactivity"] > 0, "the triggers did not run"
    late: list[str] = []

    def walk(collection: Any) -> None:
        for ref in collection.list_documents():
            snapshot = ref.get()
            if snapshot.exists and found(snapshot.to_dict(), SECRETS):
                late.extend(
                    [f"{p.role} reads {ref.path}" for p in world.masked_roles if readable(world.host, ref.path, p)]
                )
            for sub in ref.collections():
                walk(sub)

    for top in clients.db().collections():
        walk(top)
    assert late == []


def test_pushes_feed_entries_and_emails_to_agents_and_rms_hide_the_numbers(world: World) -> None:
    from core import clients

    people = {p.uid for p in world.masked_roles} | {p.email for p in world.masked_roles}
    sent = [s.to_dict() or {} for s in clients.db().collection("outbox").stream()]
    theirs = [entry for entry in sent if entry.get("to") in people]
    assert any(entry["channel"] == "push" for entry in theirs), "the world pushed the agent nothing"
    assert [(e["channel"], e.get("subject")) for e in theirs if found(e, SECRETS)] == []
    to_leads = [entry for entry in sent if entry.get("channel") in {"sms", "whatsapp"}]
    assert any(found(entry, SECRETS) for entry in to_leads), "the provider still gets the real number"


def test_no_prefix_of_a_hidden_number_finds_its_lead_but_the_full_number_does(world: World) -> None:
    for person, label in ((world.agent, "primary"), (world.agent, "reassigned"), (world.rm, "booked-later")):
        lead_id, national = world.leads[label], SECRETS[label]
        for number in (national, "91" + national):
            for end in range(3, len(number)):
                hits = world.api(person, "GET", f"/leads?q={number[:end]}").body["items"]
                assert lead_id not in [lead["id"] for lead in hits], f"{person.role} found {label} by {number[:end]}"
            full = world.api(person, "GET", f"/leads?q={quote('+' + number if number.startswith('91') else number)}")
            assert lead_id in [lead["id"] for lead in full.body["items"]], f"{person.role}: full {label} not found"


def test_the_agents_phone_rings_with_the_organizations_number_while_plivo_dials_the_lead(world: World) -> None:
    from comms import providers

    assert f"<User>sip:{providers.endpoint_username(world.agent.uid)}@phone.plivo.com</User>" in world.ring_xml
    assert found(world.ring_xml, SECRETS) == [], world.ring_xml
    assert 'callerName="+91 98XXXXXX56"' in world.ring_xml
    assert found(world.caller_ring_xml, SECRETS) == [], world.caller_ring_xml  # an unknown caller, now a lead
    assert 'callerName="+91 85XXXXXX07"' in world.caller_ring_xml and "<User>sip:justo" in world.caller_ring_xml
    assert f"<Number>91{SECRETS['primary']}</Number>" in world.dial_xml  # server-side, to Plivo only


def test_lead_documents_hold_masked_numbers_and_full_number_tokens_only(world: World) -> None:
    from core import tenancy
    from leads import store

    leads = _stored("leads")
    assert len(leads) == len(world.leads) - 1 + len(TYPED)  # the duplicate was folded into its target
    for lead in leads:
        assert not store.LeadRecord.from_document("", lead).holds_raw, lead["id"]
        assert found({k: v for k, v in lead.items() if k != "searchTokens"}, SECRETS) == [], lead
        contact = (
            tenancy.org_ref(ORG).collection("leads").document(lead["id"]).collection("private").document("contact")
        )
        raw = contact.get().to_dict() or {}
        assert lead["searchTokens"] == store.Contact.of(raw).masked_view(lead["name"], masked=True)["searchTokens"], (
            lead["id"]
        )


# ---- the route tables: a new route must be walked or say why not ----------------------------------------------

NOT_WALKED: dict[tuple[str, str], str] = {
    ("POST", "/auth/logout"): "revokes the caller's sessions through Firebase Auth (tests/auth); answers 204",
    ("POST", "/members"): "admin only (members.manage): agents and rms get 403",
    ("PATCH", "/members/{uid}"): "admin only (members.manage): agents and rms get 403",
    ("PATCH", "/org/settings"): "admin only (settings.manage); the world's admin calls it",
    ("PATCH", "/org/routing"): "admin only (settings.manage): rules, SLA minutes, hours; no lead data",
    ("POST", "/org/teams"): "admin only (teams.manage)",
    ("PATCH", "/org/teams/{team_id}"): "admin only (teams.manage)",
    ("PATCH", "/org/channels"): "admin only (settings.manage): the organization's own numbers, no lead data",
    ("POST", "/org/channels/test"): "admin only (settings.manage): a test message to a number the admin types",
    ("POST", "/comms/templates"): "admin only (settings.manage): template text, no lead data",
    ("PATCH", "/comms/templates/{template_id}"): "admin only (settings.manage): template text, no lead data",
    ("DELETE", "/comms/templates/{template_id}"): "admin only (settings.manage)",
    ("POST", "/comms/templates/sync"): "admin only (settings.manage): Meta's templates and counts, no lead data",
    ("POST", "/projects"): "admin only (projects.manage); the world's admin calls it",
    ("PATCH", "/projects/{project_id}"): "admin only (projects.manage)",
    ("POST", "/leads/{lead_id}/restore"): "admin only",
    ("DELETE", "/privacy/leads/{id}"): "admin only (privacy.manage)",
    ("DELETE", "/privacy/members/{uid}"): "admin only (privacy.manage)",
    ("POST", "/privacy/requests"): "admin only (privacy.manage): the register",
    ("PATCH", "/privacy/requests/{id}"): "admin only (privacy.manage)",
    ("POST", "/privacy/requests/{id}/fulfil"): "admin only (privacy.manage)",
    ("POST", "/privacy/leads/{id}/restriction"): "admin only (privacy.manage)",
    ("DELETE", "/privacy/leads/{id}/restriction"): "admin only (privacy.manage)",
    ("PATCH", "/privacy/settings"): "admin only (privacy.manage): periods, no lead data",
    ("POST", "/leads/sources"): "admin only; the world's admin calls it (_captures)",
    ("PATCH", "/leads/sources/{source_id}"): "admin only",
    ("POST", "/leads/sources/{source_id}/rotate-key"): "admin only",
    ("POST", "/leads/captures/{capture_id}/retry"): "admin only",
    ("POST", "/attachments"): "file metadata only; needs Cloud Storage (tests/attachments)",
    ("POST", "/leads/imports"): "leads.import (admin, manager): agents and rms get 403; answers an upload URL",
    ("POST", "/leads/imports/{import_id}/start"): "leads.import; counts only, and only of the caller's own file",
    ("POST", "/attachments/{attachment_id}/complete"): "file metadata only; needs Cloud Storage (tests/attachments)",
}
PUBLIC: dict[tuple[str, str], str] = {
    ("POST", "/auth/otp/request"): "signed out: answers 202 whoever asks",
    ("POST", "/auth/otp/verify"): "signed out: the member's own profile",
    ("GET", "/webhooks/whatsapp"): "Meta's handshake: echoes the challenge",
    ("POST", "/webhooks/whatsapp"): "answers Meta with counts; what it stores is walked above (statuses, inbound)",
    ("GET", "/webhooks/meta"): "Meta's handshake: echoes the challenge",
    ("POST", "/webhooks/meta"): "answers Meta with counts; the leads it captures are leads as any other (walked above)",
    ("POST", "/webhooks/sms"): "answers Plivo with a flag; stores a status",
    ("POST", "/webhooks/email"): "answers SendGrid with counts; the bounce reason it stores is walked above",
    ("POST", "/webhooks/voice"): "walked: the XML ringing the agent (ring_xml) and dialling the lead (dial_xml)",
    ("POST", "/webhooks/voice/status"): "answers Plivo with empty XML; the call log is walked above",
    ("POST", "/webhooks/capture/{source_id}"): "answers the sender with ids and the outcome; the leads, pushes and "
    "enquiries it makes are walked above (_captures)",
    ("POST", "/webhooks/google/{source_id}"): "answers Google with ids and the outcome; its lead is walked above",
    ("POST", "/webhooks/voice/recording"): "answers Plivo with a flag; the call log is walked above",
}


def test_every_write_route_is_walked_or_exempt(world: World) -> None:
    routes = {(route.method, f"/{name}{route.path.rstrip('/')}"): route for name, route in all_routes()}
    writes = {key for key, route in routes.items() if route.method != "GET" and not route.public}
    public = {key for key, route in routes.items() if route.public}
    assert writes - world.exercised - NOT_WALKED.keys() == set(), "walk these as an agent or rm, or say why not"
    assert public - PUBLIC.keys() == set(), "say what these public routes answer and where their data is walked"
    assert not (NOT_WALKED.keys() - writes) and not (PUBLIC.keys() - public), "stale table lines"
