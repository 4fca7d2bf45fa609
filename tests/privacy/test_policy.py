"""Privacy policy versions: publishing tells every member (feed and email); members accept the current one."""

from __future__ import annotations

from typing import Any

import pytest

from auth.service import policy_acceptance_required
from core import audit, clients, tenancy
from devtools.inproc import call
from ops.cli import main as cli
from tests.support.factory import add_person, make_org
from tests.support.outbox import messages_to

pytestmark = pytest.mark.http


def _feed(uid: str) -> list[dict[str, Any]]:
    return [
        s.to_dict() or {} for s in clients.db().collection("users").document(uid).collection("notifications").stream()
    ]


def _publish(version: str) -> int:
    return cli(["policy-publish", "--version", version, "--url", "https://justo.example.com/privacy",
                "--summary", "We now keep call recordings for 90 days."])  # fmt: skip


def test_without_a_published_policy_nothing_is_due(db: Any) -> None:
    admin = make_org()
    body = call("GET", "/privacy/policy", token=admin.token()).body
    assert body["version"] is None and body["acceptanceRequired"] is False
    assert call("POST", "/privacy/policy/accept", token=admin.token(), json_body={"version": "1"}).status == 404


def test_publishing_tells_every_active_member_of_every_org_once(db: Any) -> None:
    admin = make_org()
    agent = add_person("org1", "agent", "north")
    gone = add_person("org1", "agent", "north")
    tenancy.member_ref("org1", gone.uid).update({"active": False})
    other = make_org("org2")

    assert _publish("2026-12") == 0
    assert _publish("2026-12") == 0  # a re-run resumes and tells nobody twice

    for person in (admin, agent, other):
        feed = _feed(person.uid)
        assert [(n["kind"], n["data"]["version"]) for n in feed] == [("policy-updated", "2026-12")]
        emails = [m for m in messages_to(person.email) if m["channel"] == "email"]
        assert len(emails) == 1 and "2026-12" in emails[0]["subject"]
        assert "https://justo.example.com/privacy" in emails[0]["text"]
    assert _feed(gone.uid) == [] and messages_to(gone.email) == []
    stored = clients.db().collection("platform").document("privacyPolicy").get().to_dict() or {}
    assert stored["version"] == "2026-12"
    for org_id, count in (("org1", 2), ("org2", 1)):
        published = audit.entries_ref(org_id).where(filter=clients.where("action", "==", "policy.published")).get()
        assert [e.get("details") for e in published] == [{"version": "2026-12", "notified": count}]


def test_members_accept_the_current_version_and_login_stops_asking(db: Any) -> None:
    make_org()
    agent = add_person("org1", "agent", "north")
    _publish("v1")
    status = call("GET", "/privacy/policy", token=agent.token()).body
    assert status["version"] == "v1" and status["acceptanceRequired"] is True and status["acceptedVersion"] is None
    member = tenancy.member_ref("org1", agent.uid).get().to_dict()
    assert policy_acceptance_required(member) is True

    stale = call("POST", "/privacy/policy/accept", token=agent.token(), json_body={"version": "v0"})
    assert stale.status == 409 and stale.error["currentVersion"] == "v1"
    accepted = call("POST", "/privacy/policy/accept", token=agent.token(), json_body={"version": "v1"})

    assert accepted.status == 200 and accepted.body["acceptanceRequired"] is False
    assert accepted.body["acceptedVersion"] == "v1" and accepted.body["acceptedAt"]
    assert policy_acceptance_required(tenancy.member_ref("org1", agent.uid).get().to_dict()) is False
    _publish("v2")
    assert call("GET", "/privacy/policy", token=agent.token()).body["acceptanceRequired"] is True
    entries = audit.entries_ref("org1").where(filter=clients.where("action", "==", "policy.accepted")).get()
    assert [(e.get("actorId"), e.get("details")) for e in entries] == [(agent.uid, {"version": "v1"})]


def test_accept_validates_its_body(db: Any) -> None:
    admin = make_org()
    _publish("v1")
    response = call("POST", "/privacy/policy/accept", token=admin.token(), json_body={"version": ""})
    assert response.status == 400 and "version" in response.error["fields"]


def test_accept_without_a_body_accepts_the_current_version(db: Any) -> None:
    """API.md names no body for POST /privacy/policy/accept: the current version is the one accepted."""
    make_org()
    agent = add_person("org1", "agent", "north")
    _publish("v3")
    accepted = call("POST", "/privacy/policy/accept", token=agent.token())
    assert accepted.status == 200, accepted.body
    assert accepted.body["acceptedVersion"] == "v3" and accepted.body["acceptanceRequired"] is False
    assert tenancy.member_ref("org1", agent.uid).get().get("acceptedPolicyVersion") == "v3"
