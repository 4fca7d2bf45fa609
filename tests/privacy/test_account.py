"""A member's own export, and account deletion: asked by the member, completed by an admin."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from core import audit, clients, clock, tenancy
from devtools.inproc import call
from tests.privacy.world import LEAD_ID, populate
from tests.support.factory import add_person, make_org

pytestmark = pytest.mark.http


def _register_device(token: str, device_id: str, fcm: str) -> None:
    body = {"deviceId": device_id, "fcmToken": fcm, "platform": "android", "model": "Pixel 8",
            "osVersion": "15", "appVersion": "1.2.0"}  # fmt: skip
    assert call("POST", "/devices", token=token, json_body=body).status in (200, 201)


def test_own_export_holds_profile_membership_devices_notifications_and_logins(db: Any) -> None:
    from core import notify

    make_org()
    agent = add_person("org1", "agent", "north", name="Neha Agent")
    other = add_person("org1", "agent", "north")
    _register_device(agent.token(), "phone-1", "fcm-token-1")
    notify.send(
        notify.Push(uid=agent.uid, kind="lead-assigned", title="New lead", body="A lead is yours"), dedupe_key="x"
    )
    audit.record("org1", "login.failed", actor=agent.uid, attemptsLeft=4)
    audit.record("org1", "login", actor=agent.uid)
    audit.record("org1", "login", actor=other.uid)
    audit.record("org1", "member.changed", actor=agent.uid, target=other.uid, fields=["name"])

    response = call("GET", "/privacy/export", token=agent.token())

    assert response.status == 200, response.body
    body = response.body
    assert json.loads(json.dumps(body)) == body
    assert body["profile"]["email"] == agent.email and body["profile"]["name"] == "Neha Agent"
    assert "sessionsValidAfter" not in body["profile"]
    assert body["memberships"] == [
        {"orgId": "org1", "orgName": "org1 Realty", "role": "agent", "teamId": "north", "teamName": "North",
         "active": True, "since": body["profile"]["createdAt"]}
    ]  # fmt: skip
    assert [d["id"] for d in body["devices"]] == ["phone-1"] and body["devices"][0]["fcmToken"] == "fcm-token-1"
    assert [n["body"] for n in body["notifications"]] == ["A lead is yours"]
    assert [entry["action"] for entry in body["loginHistory"]] == ["login", "login.failed"]
    assert body["loginHistory"][1]["details"] == {"attemptsLeft": 4}
    assert body["policy"] == {"acceptedVersion": None, "acceptedAt": None}
    exported = audit.entries_ref("org1").where(filter=clients.where("action", "==", "privacy.self.exported")).get()
    assert [e.get("actorId") for e in exported] == [agent.uid]


def test_member_asks_admin_completes_and_authored_records_show_a_former_member(
    db: Any, auth_emulator: str, bucket: Any
) -> None:
    from firebase_admin import auth

    from devtools import emulators

    emulators.clear_auth(auth_emulator, "demo-justo")  # earlier tests' logins leave users of the same uids
    world = populate(bucket)
    agent = world.agent
    auth.create_user(uid=agent.uid, email=agent.email, app=clients.firebase_app())
    _register_device(agent.token(), "phone-1", "fcm-token-1")
    old_token = agent.token()

    asked = call("POST", "/privacy/account/deletion", token=agent.token())
    assert asked.status == 202 and asked.body["status"] == "pending" and asked.body["uid"] == agent.uid
    again = call("POST", "/privacy/account/deletion", token=agent.token())
    assert again.status == 202 and again.body["requestedAt"] == asked.body["requestedAt"]
    admin_feed = clients.db().collection("users").document(world.admin.uid).collection("notifications").get()
    assert [n.get("kind") for n in admin_feed] == ["account-deletion-requested"]
    listed = call("GET", "/privacy/account/deletions", token=world.admin.token())
    assert [item["uid"] for item in listed.body["items"]] == [agent.uid]
    assert call("GET", "/privacy/account/deletions", token=agent.token()).status == 403
    assert call("DELETE", f"/privacy/members/{agent.uid}", token=world.manager.token()).status == 403

    done = call("DELETE", f"/privacy/members/{agent.uid}", token=world.admin.token())

    assert done.status == 204, done.body
    with pytest.raises(auth.UserNotFoundError):
        auth.get_user(agent.uid, app=clients.firebase_app())
    tombstone = tenancy.member_ref("org1", agent.uid).get().to_dict()
    assert tombstone["name"] == "Former member" and tombstone["email"] == "" and tombstone["active"] is False
    assert tombstone["deleted"] is True and tombstone["role"] == "agent"
    user = clients.db().collection("users").document(agent.uid)
    assert list(user.collection("devices").stream()) == [] and list(user.collection("notifications").stream()) == []
    assert list(clients.db().collection("fcmTokens").stream()) == []
    from auth.service import email_key

    assert not clients.db().collection("memberEmails").document(email_key(agent.email)).get().exists
    tenancy.cache.clear()
    assert call("GET", "/members/me", token=old_token).status == 401
    assert call("GET", "/privacy/account/deletions", token=world.admin.token()).body["items"] == []
    # the lead the agent was assigned and the note it wrote keep working, shown as a former member's
    export = call("GET", f"/privacy/leads/{LEAD_ID}/export", token=world.admin.token()).body
    assert export["lead"]["assigneeId"] == agent.uid and export["notes"][0]["authorId"] == agent.uid
    assert export["people"][agent.uid] == {"name": "Former member", "formerMember": True}
    member = call("GET", f"/members/{agent.uid}", token=world.admin.token())
    assert member.status == 200 and member.body["name"] == "Former member"
    org = tenancy.org_ref("org1").get().to_dict()
    assert org["activeMembers"] == 2  # admin and manager
    actions = [e.get("action") for e in audit.entries_ref("org1").stream()]
    assert "account.deletion.requested" in actions and "member.deleted" in actions
    assert audit.verify("org1").ok


def test_deletion_needs_a_request_and_an_admin_cannot_delete_itself(db: Any, auth_emulator: str) -> None:
    admin = make_org()
    agent = add_person("org1", "agent", "north")
    refused = call("DELETE", f"/privacy/members/{agent.uid}", token=admin.token())
    assert refused.status == 409 and refused.error["code"] == "FAILED_PRECONDITION"
    assert call("POST", "/privacy/account/deletion", token=admin.token()).status == 202
    assert call("DELETE", f"/privacy/members/{admin.uid}", token=admin.token()).status == 409
    assert call("DELETE", "/privacy/members/nobody", token=admin.token()).status == 404
    assert tenancy.member_ref("org1", agent.uid).get().get("name") != "Former member"


def test_a_pending_request_keeps_the_member_working_until_completed(db: Any) -> None:
    make_org()
    agent = add_person("org1", "agent", "north")
    clock_now = clock.now()
    assert call("POST", "/privacy/account/deletion", token=agent.token()).status == 202
    assert call("GET", "/members/me", token=agent.token()).status == 200
    stored = tenancy.member_ref("org1", agent.uid).get().to_dict()
    assert stored["deletionPending"] is True and stored["deletionRequestedAt"] >= clock_now - timedelta(seconds=5)
