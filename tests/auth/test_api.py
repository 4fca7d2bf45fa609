"""Login through the real `auth` and `members` handlers, on the Firestore and Auth emulators."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.inproc import call, id_token
from tests.auth.login import login as sign_in_with_code
from tests.support.factory import add_person, make_org
from tests.support.outbox import latest_code

pytestmark = pytest.mark.http


@pytest.fixture
def stack(db: Any, auth_emulator: str) -> Any:
    from devtools import emulators

    emulators.clear_auth(auth_emulator, "demo-justo")
    return db


def login(email: str, auth_host: str) -> tuple[dict[str, Any], str]:
    """Request a code, read it from the outbox, verify it; (verify body, ID token)."""
    done = sign_in_with_code(email, auth_host)
    return done.body, done.id_token


def test_login_gives_custom_token_with_claims_and_me_works(stack: Any, auth_emulator: str) -> None:
    org = make_org()
    agent = add_person(org.org_id, "agent", "north", name="Anil")
    body, token = login(agent.email, auth_emulator)
    assert body["user"] == {
        "uid": agent.uid,
        "orgId": org.org_id,
        "role": "agent",
        "teamId": "north",
        "name": "Anil",
        "email": agent.email,
    }
    assert body["policyAcceptanceRequired"] is False
    me = call("GET", "/members/me", token=token)
    assert me.status == 200
    assert me.body["uid"] == agent.uid and me.body["role"] == "agent" and me.body["org"]["id"] == org.org_id
    assert "comms.send" in me.body["permissions"] and "members.manage" not in me.body["permissions"]


def test_same_member_logs_in_twice_as_the_same_auth_user(stack: Any, auth_emulator: str, clock: Any) -> None:
    from datetime import timedelta

    agent = add_person(make_org().org_id, "agent", "north")
    first, _ = login(agent.email, auth_emulator)
    clock.at += timedelta(seconds=31)  # the per-email gap between two codes
    second, _ = login(agent.email, auth_emulator)
    assert first["user"]["uid"] == second["user"]["uid"] == agent.uid


def test_a_used_code_fails(stack: Any, auth_emulator: str) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    login(agent.email, auth_emulator)
    again = call("POST", "/auth/otp/verify", json_body={"email": agent.email, "code": latest_code(agent.email)})
    assert again.status == 401


@pytest.mark.parametrize("case", ["unknown", "deactivated", "lapsed"])
def test_ineligible_emails_get_the_same_202_and_cannot_log_in(stack: Any, case: str) -> None:
    org = make_org(days=-1 if case == "lapsed" else 30)
    person = add_person(org.org_id, "agent", "north")
    if case == "deactivated":
        from core import tenancy

        tenancy.member_ref(org.org_id, person.uid).update({"active": False})
    email = "ghost@nowhere.example.com" if case == "unknown" else person.email
    response = call("POST", "/auth/otp/request", json_body={"email": email})
    assert response.status == 202 and response.body == {"status": "sent-if-eligible"}
    for guess in ("000000", "123456"):
        assert call("POST", "/auth/otp/verify", json_body={"email": email, "code": guess}).status == 401


def test_logout_revokes_the_session_at_the_api(stack: Any, auth_emulator: str) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    _, token = login(agent.email, auth_emulator)
    assert call("POST", "/auth/logout", token=token).status == 204
    assert call("GET", "/members/me", token=token).status == 401


def test_token_of_a_lapsed_organization_is_refused(stack: Any) -> None:
    org = make_org(days=-1)
    response = call("GET", "/members/me", token=org.token())
    assert response.status == 403 and "subscription" in response.error["message"]


def test_token_without_org_claims_is_401(stack: Any) -> None:
    assert call("GET", "/members/me", token=id_token("someone", {})).status == 401
