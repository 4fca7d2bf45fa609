"""Dismissed people lose access everywhere the app reads, proven with a real login and real listeners.

For every way a member's access ends (DISMISSALS: deactivation, a role or team change, logout, erasure, the
subscription lapsing, the organization switched off), an agent logs in through the real handlers (code,
custom token, Auth emulator ID token), opens the app's listeners (its leads, its tasks, its feed, its own
member record) with that ID token, and then, after the dismissal:

- every running listener is ended by the rules (REMOVE, PERMISSION_DENIED) at its next evaluation, here a
  change to what it watches, and never delivers that change; the own-record listener ends at once wherever
  the dismissal writes the record (the bound of firestore.rules' header);
- a new read or listener with the same unexpired ID token is denied at once, for every listener shape;
- the API refuses the ID token, and where the dismissal writes the member record its device registrations
  are gone (no push reaches a device whose session ended);
- the custom token of the login no longer makes a session: the Auth user is disabled (sign-in refused), or
  the session it signs in to is refused by the API and by the rules.

A new way to dismiss someone is one more line in DISMISSALS.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from core import clients, clock, tenancy
from devtools.inproc import call
from tests.auth.login import Login, exchange, login, sign_in
from tests.rules.firestore_rest import Client, Query
from tests.rules.listener import Listener
from tests.support.factory import Person, add_person, make_org

pytestmark = pytest.mark.http

ORG = "org1"


@dataclass
class Scene:
    """An agent logged in with listeners open, and what it owns."""

    admin: Person
    agent: Person
    login: Login
    lead_id: str
    task_id: str
    listeners: dict[str, Listener]


def _deactivate(scene: Scene) -> None:
    response = call("PATCH", f"/members/{scene.agent.uid}", token=scene.admin.token(), json_body={"active": False})
    assert response.status == 200, response.body


def _change_role(scene: Scene) -> None:
    response = call("PATCH", f"/members/{scene.agent.uid}", token=scene.admin.token(), json_body={"role": "rm"})
    assert response.status == 200, response.body


def _move_team(scene: Scene) -> None:
    response = call("PATCH", f"/members/{scene.agent.uid}", token=scene.admin.token(), json_body={"teamId": "south"})
    assert response.status == 200, response.body


def _logout(scene: Scene) -> None:
    assert call("POST", "/auth/logout", token=scene.login.id_token).status == 204


def _erase(scene: Scene) -> None:
    asked = call("POST", "/privacy/account/deletion", token=scene.login.id_token, json_body={})
    assert asked.status == 202, asked.body
    done = call("DELETE", f"/privacy/members/{scene.agent.uid}", token=scene.admin.token())
    assert done.status == 204, done.body


def _lapse(scene: Scene) -> None:
    from ops.orgs import set_subscription

    set_subscription(org_id=ORG, seats=None, subscription_ends_at=clock.now() - timedelta(minutes=1))


def _switch_off(scene: Scene) -> None:
    # No API switches an organization off: the platform operator sets the flag the data model names.
    tenancy.org_ref(ORG).update({"active": False})


@dataclass(frozen=True)
class Dismissal:
    """One way access ends; whether it writes the member record; whether the Auth user is disabled."""

    name: str
    act: Callable[[Scene], None]
    writes_record: bool = True
    disables_user: bool = False


DISMISSALS = [
    Dismissal("deactivated", _deactivate, disables_user=True),
    Dismissal("role changed", _change_role),
    Dismissal("team changed", _move_team),
    Dismissal("logged out", _logout),
    Dismissal("erased", _erase),
    Dismissal("subscription lapsed", _lapse, writes_record=False),
    Dismissal("organization switched off", _switch_off, writes_record=False),
]


def _queries(uid: str) -> dict[str, Any]:
    """The app's listeners of an agent (API.md, Live updates): query or document path."""
    db = clients.db()
    org = db.collection("orgs").document(ORG)
    mine = clients.where("assigneeId", "==", uid)
    return {
        "leads": org.collection("leads").where(filter=mine),
        "tasks": org.collection("tasks").where(filter=mine),
        "feed": db.collection("users").document(uid).collection("notifications"),
        "member": f"orgs/{ORG}/members/{uid}",
    }


def _open(host: str, token: str, uid: str) -> dict[str, Listener]:
    opened = {}
    for name, target in _queries(uid).items():
        if isinstance(target, str):
            opened[name] = Listener.on_document(host, token, target)
        else:
            opened[name] = Listener.on_query(host, token, target)
    return opened


@pytest.fixture
def scene(db: Any, auth_emulator: str) -> Iterator[Scene]:
    """org1's north agent, logged in, its lead, task and notification watched by four listeners."""
    from devtools import emulators

    emulators.clear_auth(auth_emulator, "demo-justo")
    admin = make_org(ORG)
    agent = add_person(ORG, "agent", "north")
    lead = call(
        "POST",
        "/leads",
        token=admin.token(),
        json_body={"name": "Buyer", "primaryPhone": {"number": "9876500001"}, "assigneeId": agent.uid},
    )
    assert lead.status == 201, lead.body
    task = call(
        "POST",
        "/tasks",
        token=admin.token(),
        json_body={"title": "Call", "dueAt": "2030-01-01T10:00:00Z", "assigneeId": agent.uid},
    )
    assert task.status == 201, task.body
    db.document(f"users/{agent.uid}/notifications/n1").set(
        {"kind": "lead-assigned", "title": "New lead", "body": "Buyer", "data": {}, "read": False}
    )
    done = login(agent.email, auth_emulator)
    device = {"deviceId": "phone-1", "fcmToken": "fcm-token-1", "platform": "android"}
    assert call("POST", "/devices", token=done.id_token, json_body=device).status in (200, 201)
    listeners = _open(os.environ["FIRESTORE_EMULATOR_HOST"], done.id_token, agent.uid)
    try:
        for name, listener in listeners.items():
            assert listener.wait(lambda item: item.current and bool(item.documents)), f"{name}: no initial snapshot"
        yield Scene(admin, agent, done, str(lead.body["id"]), str(task.body["id"]), listeners)
    finally:
        for listener in listeners.values():
            listener.close()


def _touch(scene: Scene) -> None:
    """What happens to the agent's records after its dismissal: each watched document changes."""
    db = clients.db()
    db.document(f"orgs/{ORG}/leads/{scene.lead_id}").update({"summary": "after"})
    db.document(f"orgs/{ORG}/tasks/{scene.task_id}").update({"summary": "after"})
    feed = {"kind": "task-due", "title": "Due", "body": "Call", "data": {}, "read": False, "summary": "after"}
    db.document(f"users/{scene.agent.uid}/notifications/n2").set(feed)  # a new one: erasure empties the feed
    db.document(f"orgs/{ORG}/members/{scene.agent.uid}").update({"summary": "after"})


def _reads(host: str, token: str, scene: Scene) -> dict[str, bool]:
    """Every listener shape and document read, started now with this token: True where the rules allow."""
    client = Client(host, token)
    uid, org = scene.agent.uid, f"orgs/{ORG}"
    try:
        return {
            "lead": client.get(f"{org}/leads/{scene.lead_id}"),
            "leads where assigneeId == me": client.query(Query("leads", org, (("assigneeId", "EQUAL", uid),))),
            "tasks where assigneeId == me": client.query(Query("tasks", org, (("assigneeId", "EQUAL", uid),))),
            "own member record": client.get(f"{org}/members/{uid}"),
            "own feed": client.query(Query("notifications", f"users/{uid}")),
            "organization": client.get(org),
            "teams": client.query(Query("teams", org)),
        }
    finally:
        client.session.close()


@pytest.mark.parametrize("dismissal", DISMISSALS, ids=lambda d: d.name)
def test_a_dismissed_member_loses_every_read_listener_and_session(
    dismissal: Dismissal, scene: Scene, auth_emulator: str
) -> None:
    host = os.environ["FIRESTORE_EMULATOR_HOST"]
    assert all(_reads(host, scene.login.id_token, scene).values()), "control: the live session reads"
    dismissal.act(scene)

    # The own-record listener: the dismissal wrote the record, so the rules re-evaluate it at once.
    member = scene.listeners["member"]
    if dismissal.writes_record:
        assert member.wait(lambda item: item.denied, timeout=10), f"member listener: {member.removed_code}"
    delivered = {name: len(listener.deliveries) for name, listener in scene.listeners.items()}
    _touch(scene)
    for name, listener in scene.listeners.items():
        assert listener.wait(lambda item: item.denied, timeout=10), f"{name} listener still open: {listener}"
        after = listener.deliveries[delivered[name] :]
        assert all(fields.get("summary") != "after" for _, fields in after), f"{name} delivered data after dismissal"

    reads = _reads(host, scene.login.id_token, scene)
    assert not any(reads.values()), reads
    tenancy.cache.clear()  # any instance, at the latest after MEMBER_CACHE_SECONDS
    assert call("GET", "/members/me", token=scene.login.id_token).status in (401, 403)
    if dismissal.writes_record:
        db = clients.db()
        assert list(db.collection(f"users/{scene.agent.uid}/devices").stream()) == []
        assert list(db.collection("fcmTokens").stream()) == []

    signed_in = sign_in(scene.login.custom_token, auth_emulator)
    if dismissal.disables_user:
        assert signed_in.status_code == 400 and "USER_DISABLED" in signed_in.text
        return
    assert signed_in.status_code == 200  # the emulator signs it in (a deleted user is made anew): the session
    fresh_token = str(signed_in.json()["idToken"])
    assert call("GET", "/members/me", token=fresh_token).status in (401, 403)
    reads = _reads(host, fresh_token, scene)
    assert not any(reads.values()), reads


def test_a_reactivated_member_logs_in_afresh_but_its_old_login_stays_ended(scene: Scene, auth_emulator: str) -> None:
    """Reactivation re-enables the Auth user for new logins; the custom token of the login before does not
    come back to life (its loginAt is before the cutoff), at the API or in the rules."""
    host = os.environ["FIRESTORE_EMULATOR_HOST"]
    _deactivate(scene)
    again = call("PATCH", f"/members/{scene.agent.uid}", token=scene.admin.token(), json_body={"active": True})
    assert again.status == 200, again.body
    old = exchange(scene.login.custom_token, auth_emulator)  # enabled again, so it signs in...
    tenancy.cache.clear()
    assert call("GET", "/members/me", token=old).status == 401  # ...into an ended session
    assert not any(_reads(host, old, scene).values())
    fresh = login(scene.agent.email, auth_emulator, client="10.0.0.9")
    assert call("GET", "/members/me", token=fresh.id_token).status == 200
    assert all(_reads(host, fresh.id_token, scene).values())
    listener = Listener.on_query(host, fresh.id_token, _queries(scene.agent.uid)["leads"])
    try:
        assert listener.wait(lambda item: item.current and len(item.documents) == 1)
    finally:
        listener.close()


def test_a_member_whose_details_change_keeps_its_session(scene: Scene) -> None:
    """Control: a change that is not a dismissal (the name) leaves the listeners and the session alone."""
    response = call("PATCH", f"/members/{scene.agent.uid}", token=scene.admin.token(), json_body={"name": "Renamed"})
    assert response.status == 200, response.body
    _touch(scene)
    for name, listener in scene.listeners.items():
        assert listener.wait(lambda item: any(f.get("summary") == "after" for _, f in item.deliveries)), name
        assert not listener.denied, name
    assert call("GET", "/members/me", token=scene.login.id_token).status == 200


PUBLIC = {
    ("auth", "POST", "/otp/request"),
    ("auth", "POST", "/otp/verify"),
    ("webhooks", "GET", "/whatsapp"),
    ("webhooks", "POST", "/whatsapp"),
    ("webhooks", "GET", "/meta"),
    ("webhooks", "POST", "/meta"),
    ("webhooks", "POST", "/capture/{source_id}"),
    ("webhooks", "POST", "/google/{source_id}"),
    ("webhooks", "POST", "/sms"),
    ("webhooks", "POST", "/email"),
    ("webhooks", "POST", "/voice"),
    ("webhooks", "POST", "/voice/status"),
    ("webhooks", "POST", "/voice/recording"),
}
ENDED: dict[str, tuple[dict[str, Any], dict[str, Any], int, str]] = {
    # name: (member change, organization change, status, message)
    "deactivated": ({"active": False}, {}, 401, "no longer active"),
    "logged out": ({"sessionsValidAfter": "now"}, {}, 401, "Session revoked"),
    # signed in 5 s ago, after the cutoff, with the custom token of a login from before it
    "old login signed in again": ({"sessionsValidAfter": "past"}, {}, 401, "Session revoked"),
    "subscription lapsed": ({}, {"subscriptionEndsAt": "past"}, 403, "subscription"),
    "organization switched off": ({}, {"active": False}, 403, "subscription"),
}


def _routes() -> list[tuple[str, str, str]]:
    import importlib

    from registry import FUNCTIONS

    found = []
    for function, module in sorted(FUNCTIONS.items()):
        router = getattr(importlib.import_module(module), "router", None)
        found += [(function, r.method, r.path) for r in getattr(router, "routes", [])]
    return found


@pytest.mark.parametrize("ended", ENDED, ids=str)
def test_every_route_but_the_public_ones_refuses_an_ended_session(ended: str, db: Any) -> None:
    """An ID token whose session ended is refused on every authenticated route before anything happens; the
    only routes that do not ask for a session are API.md's public ones (a new public route fails here)."""
    import re
    import time
    from datetime import UTC, datetime

    admin = make_org(ORG)
    member_change, org_change, status, message = ENDED[ended]
    now = datetime.now(UTC)
    values = {"now": now, "past": now - timedelta(seconds=30)}
    if member_change:
        tenancy.member_ref(ORG, admin.uid).update({k: values.get(v, v) for k, v in member_change.items()})
    if org_change:
        tenancy.org_ref(ORG).update({k: values.get(v, v) for k, v in org_change.items()})
    claims = {"loginAt": int(time.time() - 60) * 1000} if ended == "old login signed in again" else {}
    token = admin.token(**claims)
    routes = _routes()
    assert set(routes) >= PUBLIC
    public = set()
    for function, method, path in routes:
        url = f"/{function}" + re.sub(r"\{\w+\}", "x1", path)
        body: dict[str, Any] | None = None if method == "GET" else {}
        tenancy.cache.clear()
        reply = call(method, url.rstrip("/") or f"/{function}", token=token, json_body=body)
        if (function, method, path) in PUBLIC:
            public.add((function, method, path))
            continue
        assert reply.status == status and message in reply.error["message"], f"{method} {url}: {reply.text[:200]}"
    assert public == PUBLIC
    if claims:  # control: a sign-in after the cutoff without the old login's loginAt is a live session
        tenancy.cache.clear()
        assert call("GET", "/members/me", token=admin.token()).status == 200
    control = call("GET", "/members/me", token=make_org("org2").token())
    assert control.status == 200
