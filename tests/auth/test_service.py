"""Login codes against the Firestore emulator: issuing, hashing, throttling, attempts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from auth import service
from core import tenancy
from core.errors import ApiError
from tests.support.factory import add_person, make_org
from tests.support.outbox import latest_code, messages_to

pytestmark = pytest.mark.service


def _challenge(db: Any, email: str) -> dict[str, Any]:
    return db.collection("otpChallenges").document(service.email_key(email)).get().to_dict()


def test_code_is_emailed_and_stored_only_as_a_keyed_hash(db: Any) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email.upper(), client="1.1.1.1")
    code = latest_code(agent.email)
    stored = _challenge(db, agent.email)
    assert code not in str(stored)
    assert stored["codeHash"] == service._code_hash(agent.email, code)
    assert stored["expiresAt"] - stored["createdAt"] == timedelta(minutes=10)


@pytest.mark.parametrize("case", ["unknown", "deactivated", "lapsed"])
def test_ineligible_emails_get_nothing_and_no_challenge(db: Any, case: str) -> None:
    org = make_org(days=-1 if case == "lapsed" else 30)
    person = add_person(org.org_id, "agent", "north")
    if case == "deactivated":
        tenancy.member_ref(org.org_id, person.uid).update({"active": False})
    email = "nobody@nowhere.example.com" if case == "unknown" else person.email
    service.request_code(email=email, client="1.1.1.1")  # no error: the API answers 202 alike
    assert messages_to(email) == []
    assert _challenge(db, email) is None


def test_requests_per_email_are_throttled_with_retry_after(db: Any, clock: Any) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email, client="1.1.1.1")
    with pytest.raises(ApiError) as raised:
        service.request_code(email=agent.email, client="1.1.1.1")
    assert raised.value.status == 429 and int(raised.value.headers["Retry-After"]) == 30
    for _ in range(4):
        clock.at += timedelta(seconds=31)
        service.request_code(email=agent.email, client="1.1.1.1")
    clock.at += timedelta(seconds=31)
    with pytest.raises(ApiError) as raised:
        service.request_code(email=agent.email, client="1.1.1.1")
    assert raised.value.status == 429 and int(raised.value.headers["Retry-After"]) > 60


def test_requests_per_client_are_throttled_across_emails(db: Any) -> None:
    for index in range(30):
        service.request_code(email=f"x{index}@nowhere.example.com", client="9.9.9.9")
    with pytest.raises(ApiError) as raised:
        service.request_code(email="another@nowhere.example.com", client="9.9.9.9")
    assert raised.value.code == "RESOURCE_EXHAUSTED"


def test_five_wrong_codes_kill_the_challenge_even_for_the_right_code(db: Any) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email, client="1.1.1.1")
    code = latest_code(agent.email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(ApiError) as raised:
            service.verify_code(email=agent.email, code=wrong, client="1.1.1.1")
        assert raised.value.status == 401 and raised.value.extra == {"attemptsLeft": left}
    with pytest.raises(ApiError) as raised:
        service.verify_code(email=agent.email, code=code, client="1.1.1.1")
    assert raised.value.status == 429


def test_expired_code_is_refused(db: Any, clock: Any) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email, client="1.1.1.1")
    clock.at += timedelta(minutes=10, seconds=1)
    with pytest.raises(ApiError) as raised:
        service.verify_code(email=agent.email, code=latest_code(agent.email), client="1.1.1.1")
    assert raised.value.status == 401


def test_failed_codes_and_lockouts_are_audited_without_personal_data(db: Any) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email, client="1.1.1.1")
    code = latest_code(agent.email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(ApiError):
            service.verify_code(email=agent.email, code=wrong, client="1.1.1.1")
    entries = [s.to_dict() for s in tenancy.org_ref(agent.org_id).collection("audit").stream()]
    actions = [e["action"] for e in entries]
    assert actions.count("login.failed") == 5 and actions.count("login.locked") == 1
    assert agent.email not in str(entries) and code not in str(entries)


def test_app_check_is_required_where_the_deployment_enables_it(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from core import settings
    from tests.support.http import call

    monkeypatch.setenv("APP_CHECK_REQUIRED", "true")
    settings.reset()
    try:
        missing = call("POST", "/auth/otp/request", json_body={"email": "a@b.example.com"})
        forged = call(
            "POST",
            "/auth/otp/request",
            json_body={"email": "a@b.example.com"},
            headers={"X-Firebase-AppCheck": "forged"},
        )
        assert missing.status == 401 and forged.status == 401
        assert call("POST", "/auth/otp/verify", json_body={"email": "a@b.example.com", "code": "123456"}).status == 401
        assert db.collection("throttles").limit(1).get() == [], "refused before anything is counted or sent"
    finally:
        monkeypatch.delenv("APP_CHECK_REQUIRED")
        settings.reset()
