"""Members, seats and session freshness through the real `members` handler."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core import tenancy
from devtools.inproc import call
from tests.support.factory import add_person, make_org

pytestmark = pytest.mark.http


def test_admin_adds_a_member_who_is_stored_and_listed(db: Any, auth_emulator: str) -> None:
    admin = make_org()
    response = call(
        "POST",
        "/members",
        token=admin.token(),
        json_body={"email": "New.Agent@Org1.example.com", "name": "New Agent", "role": "agent", "teamId": "north"},
    )
    assert response.status == 201, response.body
    uid = response.body["uid"]
    assert response.body["email"] == "new.agent@org1.example.com" and response.body["version"] == 1
    stored = tenancy.member_ref("org1", uid).get().to_dict()
    assert stored["role"] == "agent" and stored["active"] is True
    listed = call("GET", "/members?limit=10", token=admin.token())
    assert uid in [m["uid"] for m in listed.body["items"]]


def test_duplicate_email_unknown_team_and_bad_role_are_refused_with_the_field(db: Any) -> None:
    admin = make_org()
    dup = call("POST", "/members", token=admin.token(), json_body={"email": admin.email, "name": "X", "role": "agent"})
    assert dup.status == 409 and dup.error["fields"] == {"email": "already a member"}
    team = call(
        "POST",
        "/members",
        token=admin.token(),
        json_body={"email": "a@b.example.com", "name": "X", "role": "agent", "teamId": "nope"},
    )
    assert team.status == 400 and "teamId" in team.error["fields"]
    role = call(
        "POST", "/members", token=admin.token(), json_body={"email": "a@b.example.com", "name": "X", "role": "boss"}
    )
    assert role.status == 400 and "role" in role.error["fields"]


def test_seats_are_enforced_and_freed_by_deactivation(db: Any, auth_emulator: str) -> None:
    admin = make_org(seats=2)
    agent = add_person("org1", "agent", "north")
    full = call(
        "POST", "/members", token=admin.token(), json_body={"email": "x@y.example.com", "name": "X", "role": "agent"}
    )
    assert full.status == 409 and full.error["code"] == "FAILED_PRECONDITION"
    assert call("PATCH", f"/members/{agent.uid}", token=admin.token(), json_body={"active": False}).status == 200
    again = call(
        "POST", "/members", token=admin.token(), json_body={"email": "x@y.example.com", "name": "X", "role": "agent"}
    )
    assert again.status == 201
    reactivate = call("PATCH", f"/members/{agent.uid}", token=admin.token(), json_body={"active": True})
    assert reactivate.status == 409


def test_non_admins_cannot_manage_members(db: Any) -> None:
    make_org()
    agent = add_person("org1", "agent", "north")
    manager = add_person("org1", "manager", "north")
    body = {"email": "x@y.example.com", "name": "X", "role": "agent"}
    assert call("POST", "/members", token=agent.token(), json_body=body).status == 403
    assert call("POST", "/members", token=manager.token(), json_body=body).status == 403
    assert call("PATCH", f"/members/{agent.uid}", token=manager.token(), json_body={"role": "admin"}).status == 403
    assert call("GET", "/members", token=agent.token()).status == 403


def test_manager_lists_only_its_team(db: Any) -> None:
    make_org()
    manager = add_person("org1", "manager", "north")
    north = add_person("org1", "agent", "north")
    south = add_person("org1", "agent", "south")
    listed = call("GET", "/members", token=manager.token())
    uids = {m["uid"] for m in listed.body["items"]}
    assert north.uid in uids and south.uid not in uids
    assert call("GET", "/members?teamId=south", token=manager.token()).status == 403


def test_role_change_ends_the_old_session_at_the_api(db: Any, auth_emulator: str) -> None:
    admin = make_org()
    agent = add_person("org1", "agent", "north")
    old_token = agent.token()
    assert call("GET", "/members/me", token=old_token).status == 200
    changed = call("PATCH", f"/members/{agent.uid}", token=admin.token(), json_body={"role": "manager"})
    assert changed.status == 200 and changed.body["role"] == "manager" and changed.body["version"] == 2
    tenancy.cache.clear()  # another instance, or this one after MEMBER_CACHE_SECONDS
    assert call("GET", "/members/me", token=old_token).status == 401


def test_deactivated_member_is_refused_within_the_cache_period(db: Any, auth_emulator: str) -> None:
    import time

    from core import settings

    admin = make_org()
    agent = add_person("org1", "agent", "north")
    token = agent.token()
    assert call("GET", "/members/me", token=token).status == 200  # now cached on this instance
    assert call("PATCH", f"/members/{agent.uid}", token=admin.token(), json_body={"active": False}).status == 200
    period = settings.get().member_cache_seconds
    assert period <= 30
    deadline = time.monotonic() + period + 1
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = call("GET", "/members/me", token=token).status
        time.sleep(0.5)
    assert status == 401


def test_stale_if_match_is_412_and_nothing_changes(db: Any, auth_emulator: str) -> None:
    admin = make_org()
    agent = add_person("org1", "agent", "north", name="Before")
    assert (
        call(
            "PATCH",
            f"/members/{agent.uid}",
            token=admin.token(),
            json_body={"name": "One"},
            headers={"If-Match": '"1"'},
        ).status
        == 200
    )
    stale = call(
        "PATCH", f"/members/{agent.uid}", token=admin.token(), json_body={"name": "Two"}, headers={"If-Match": "1"}
    )
    assert stale.status == 412 and stale.error["code"] == "CONFLICT"
    assert tenancy.member_ref("org1", agent.uid).get().get("name") == "One"


def test_admin_cannot_demote_itself(db: Any) -> None:
    admin = make_org()
    response = call("PATCH", f"/members/{admin.uid}", token=admin.token(), json_body={"role": "agent"})
    assert response.status == 409


def test_idempotency_key_replays_the_first_reply_and_creates_nothing_new(db: Any) -> None:
    admin = make_org()
    body = {"email": "once@org1.example.com", "name": "Once", "role": "agent"}
    headers = {"Idempotency-Key": "k-1"}
    first = call("POST", "/members", token=admin.token(), json_body=body, headers=headers)
    second = call("POST", "/members", token=admin.token(), json_body=body, headers=headers)
    assert first.status == second.status == 201 and first.body == second.body
    members = [m.to_dict() for m in tenancy.org_ref("org1").collection("members").stream()]
    assert [m["email"] for m in members].count("once@org1.example.com") == 1
    other = call("POST", "/members", token=admin.token(), json_body=body | {"name": "Else"}, headers=headers)
    assert other.status == 400 and "Idempotency-Key" in other.error["fields"]


def test_member_list_pages_read_at_most_limit_and_end_with_null_cursor(db: Any) -> None:
    admin = make_org()
    for _ in range(4):
        add_person("org1", "agent", "north")
    first = call("GET", "/members?limit=3", token=admin.token())
    assert len(first.body["items"]) == 3 and first.body["nextCursor"]
    second = call("GET", f"/members?limit=3&cursor={first.body['nextCursor']}", token=admin.token())
    assert len(second.body["items"]) == 2 and second.body["nextCursor"] is None
    seen = [m["uid"] for m in first.body["items"] + second.body["items"]]
    assert len(set(seen)) == 5


def test_subscription_end_blocks_api_calls(db: Any, clock: Any) -> None:
    admin = make_org(days=1)
    assert call("GET", "/members/me", token=admin.token()).status == 200
    clock.at += timedelta(days=2)
    tenancy.cache.clear()
    assert call("GET", "/members/me", token=admin.token()).status == 403


def test_an_erased_member_stub_cannot_be_changed_or_reactivated(db: Any) -> None:
    admin = make_org()
    agent = add_person("org1", "agent", "north")
    tenancy.member_ref("org1", agent.uid).update({"deleted": True, "active": False, "name": "Former member"})
    response = call("PATCH", f"/members/{agent.uid}", token=admin.token(), json_body={"active": True})
    assert response.status == 404
    assert tenancy.member_ref("org1", agent.uid).get().get("active") is False
