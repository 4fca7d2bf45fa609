"""Faults at the API: a retry after a lost response, concurrent retries, and two writers racing on If-Match."""

from __future__ import annotations

from typing import Any

import pytest

from core import tenancy
from devtools.inproc import call
from tests.support.factory import add_person, make_org
from tests.support.leads import lead_body, make_team
from tests.support.race import race

pytestmark = pytest.mark.http


def _count(org_id: str, collection: str, **equal: Any) -> int:
    query: Any = tenancy.org_ref(org_id).collection(collection)
    for field, value in equal.items():
        from core.clients import where

        query = query.where(filter=where(field, "==", value))
    return len(list(query.stream()))


def test_a_member_create_retried_after_a_lost_response_creates_one_member(db: Any, auth_emulator: str) -> None:
    admin = make_org(seats=5)
    body = {"email": "retry@org1.example.com", "name": "Retry Agent", "role": "agent", "teamId": "north"}
    headers = {"Idempotency-Key": "lost-response-1"}
    first = call("POST", "/members", token=admin.token(), json_body=body, headers=headers)
    assert first.status == 201, first.body  # the app never saw this reply: the network dropped it
    retry = call("POST", "/members", token=admin.token(), json_body=body, headers=headers)
    assert retry.status == 201 and retry.body == first.body
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert _count("org1", "members", email="retry@org1.example.com") == 1
    assert tenancy.org_ref("org1").get().get("activeMembers") == 2  # the admin and one new member
    assert _count("org1", "audit", action="member.added", targetId=first.body["uid"]) == 1


def test_the_same_key_with_another_body_is_refused_and_creates_nothing(db: Any, auth_emulator: str) -> None:
    admin = make_org(seats=5)
    headers = {"Idempotency-Key": "k-2"}
    body = {"email": "a@org1.example.com", "name": "A", "role": "agent"}
    assert call("POST", "/members", token=admin.token(), json_body=body, headers=headers).status == 201
    other = call("POST", "/members", token=admin.token(), json_body=body | {"name": "B"}, headers=headers)
    assert other.status == 400 and other.error["code"] == "INVALID_ARGUMENT"
    assert _count("org1", "members") == 2


def test_a_lead_create_retried_after_a_lost_response_creates_one_lead(db: Any) -> None:
    team = make_team()
    body = lead_body("98111 22333", "Lost Reply")
    headers = {"Idempotency-Key": "lead-lost-1"}
    first = call("POST", "/leads", token=team.agent1.token(), json_body=body, headers=headers)
    assert first.status == 201, first.body
    retry = call("POST", "/leads", token=team.agent1.token(), json_body=body, headers=headers)
    assert retry.status == 201 and retry.body["id"] == first.body["id"]
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert _count("org1", "leads", name="Lost Reply") == 1


def test_concurrent_retries_with_one_key_create_one_lead(db: Any) -> None:
    team = make_team()
    body = lead_body("98111 44555", "Double Tap")
    headers = {"Idempotency-Key": "lead-double-tap"}
    token = team.agent1.token()
    responses = race(*[lambda: call("POST", "/leads", token=token, json_body=body, headers=headers)] * 3)
    statuses = sorted(r.status for r in responses)
    # One creates; a retry arriving meanwhile is told to retry (409 in progress) or gets the same reply.
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, [(r.status, r.body) for r in responses]
    assert len({r.body["id"] for r in responses if r.status == 201}) == 1
    assert _count("org1", "leads", name="Double Tap") == 1


def test_two_member_patches_with_the_same_if_match_exactly_one_wins(db: Any) -> None:
    admin = make_org()
    agent = add_person("org1", "agent", "north")
    token = admin.token()
    responses = race(
        lambda: call(
            "PATCH", f"/members/{agent.uid}", token=token, json_body={"name": "Left"}, headers={"If-Match": "1"}
        ),
        lambda: call(
            "PATCH", f"/members/{agent.uid}", token=token, json_body={"name": "Right"}, headers={"If-Match": '"1"'}
        ),
    )
    assert sorted(r.status for r in responses) == [200, 412], [(r.status, r.body) for r in responses]
    winner = next(r for r in responses if r.status == 200)
    loser = next(r for r in responses if r.status == 412)
    assert loser.error["code"] == "CONFLICT"
    stored = tenancy.member_ref("org1", agent.uid).get().to_dict() or {}
    assert stored["version"] == 2 and stored["name"] == winner.body["name"]


def test_two_lead_patches_with_the_same_if_match_exactly_one_wins(db: Any) -> None:
    team = make_team()
    created = call("POST", "/leads", token=team.agent1.token(), json_body=lead_body("98111 66777", "Race Lead"))
    assert created.status == 201, created.body
    lead_id, token = created.body["id"], team.agent1.token()
    responses = race(
        lambda: call(
            "PATCH", f"/leads/{lead_id}", token=token, json_body={"stage": "contacted"}, headers={"If-Match": "1"}
        ),
        lambda: call("PATCH", f"/leads/{lead_id}", token=token, json_body={"stage": "lost"}, headers={"If-Match": "1"}),
    )
    assert sorted(r.status for r in responses) == [200, 412], [(r.status, r.body) for r in responses]
    winner = next(r for r in responses if r.status == 200)
    stored = tenancy.org_ref("org1").collection("leads").document(lead_id).get().to_dict() or {}
    assert stored["version"] == 2 and stored["stage"] == winner.body["stage"]
