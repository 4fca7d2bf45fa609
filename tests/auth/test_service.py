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
def test_ineligible_emails_get_nothing_but_a_decoy_shaped_as_a_real_challenge(db: Any, case: str) -> None:
    org = make_org(days=-1 if case == "lapsed" else 30)
    person = add_person(org.org_id, "agent", "north")
    if case == "deactivated":
        tenancy.member_ref(org.org_id, person.uid).update({"active": False})
    email = "nobody@nowhere.example.com" if case == "unknown" else person.email
    service.request_code(email=email, client="1.1.1.1")  # no error: the API answers 202 alike
    assert messages_to(email) == []
    decoy = _challenge(db, email)
    assert decoy["orgId"] is None and decoy["uid"] is None
    other = add_person(make_org("org2").org_id, "agent", "north")
    service.request_code(email=other.email, client="1.1.1.1")
    real = _challenge(db, other.email)
    assert set(decoy) == set(real) and len(decoy["codeHash"]) == len(real["codeHash"])


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _refused(email: str, code: str, client: str) -> ApiError:
    with pytest.raises(ApiError) as raised:
        service.verify_code(email=email, code=code, client=client)
    return raised.value


def _head(db: Any, org_id: str) -> dict[str, Any]:
    return db.document(f"orgs/{org_id}/auditHead/head").get().to_dict()


def test_requests_per_email_and_client_are_throttled_with_retry_after(db: Any, clock: Any) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email, client="1.1.1.1")
    with pytest.raises(ApiError) as raised:
        service.request_code(email=agent.email, client="1.1.1.1")
    assert raised.value.status == 429 and int(raised.value.headers["Retry-After"]) == 30
    for _ in range(2):
        clock.at += timedelta(seconds=31)
        service.request_code(email=agent.email, client="1.1.1.1")
    clock.at += timedelta(seconds=31)
    with pytest.raises(ApiError) as raised:
        service.request_code(email=agent.email, client="1.1.1.1")
    assert raised.value.status == 429 and int(raised.value.headers["Retry-After"]) > 60


def test_one_client_cannot_spend_another_clients_code_budget(db: Any, clock: Any) -> None:
    """An attacker that exhausts its own budget for a member's email leaves the member's own requests alone."""
    agent = add_person(make_org().org_id, "agent", "north")
    for _ in range(3):
        service.request_code(email=agent.email, client="6.6.6.6")
        clock.at += timedelta(seconds=31)
    with pytest.raises(ApiError) as raised:
        service.request_code(email=agent.email, client="6.6.6.6")
    assert raised.value.status == 429
    before = len(messages_to(agent.email))
    service.request_code(email=agent.email, client="10.0.0.7")  # the member's phone
    assert len(messages_to(agent.email)) == before + 1


def test_the_per_email_cap_holds_across_clients(db: Any, clock: Any) -> None:
    """Many addresses together get at most PER_EMAIL codes an hour for one mailbox."""
    agent = add_person(make_org().org_id, "agent", "north")
    cap = service.PER_EMAIL.count
    for index in range(cap):
        service.request_code(email=agent.email, client=f"7.7.7.{index}")
    with pytest.raises(ApiError) as raised:
        service.request_code(email=agent.email, client="7.7.8.1")
    assert raised.value.status == 429
    assert len(messages_to(agent.email)) == cap
    assert service.PER_EMAIL.count > 5 * service.PER_EMAIL_CLIENT.count, "one client alone cannot reach the cap"


def test_requests_per_client_are_throttled_across_emails(db: Any) -> None:
    for index in range(30):
        service.request_code(email=f"x{index}@nowhere.example.com", client="9.9.9.9")
    with pytest.raises(ApiError) as raised:
        service.request_code(email="another@nowhere.example.com", client="9.9.9.9")
    assert raised.value.code == "RESOURCE_EXHAUSTED"


def test_five_wrong_codes_kill_the_challenge_for_that_client_even_for_the_right_code(db: Any) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email, client="1.1.1.1")
    code = latest_code(agent.email)
    for left in (4, 3, 2, 1, 0):
        refused = _refused(agent.email, _wrong(code), "1.1.1.1")
        assert refused.status == 401 and refused.extra == {"attemptsLeft": left}
    assert _refused(agent.email, code, "1.1.1.1").status == 429


def test_another_client_cannot_lock_the_member_out_of_its_code(db: Any) -> None:
    """Wrong codes from one client count against that client; the member's own device still signs in."""
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email, client="10.0.0.7")
    code = latest_code(agent.email)
    for _ in range(service.ATTEMPTS_PER_CLIENT + 3):
        with pytest.raises(ApiError):
            service.verify_code(email=agent.email, code=_wrong(code), client="6.6.6.6")
    assert _refused(agent.email, _wrong(code), "10.0.0.7").extra == {"attemptsLeft": service.ATTEMPTS_PER_CLIENT - 1}


def test_the_challenge_dies_for_everyone_after_max_attempts(db: Any) -> None:
    """Guesses per code are bounded whatever the number of clients: MAX_ATTEMPTS, then 429 for all."""
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email, client="10.0.0.7")
    code = latest_code(agent.email)
    for index in range(service.MAX_ATTEMPTS):
        with pytest.raises(ApiError) as raised:
            service.verify_code(email=agent.email, code=_wrong(code), client=f"6.6.6.{index}")
        assert raised.value.status == 401
    assert _refused(agent.email, code, "10.0.0.7").status == 429


def test_expired_code_is_refused(db: Any, clock: Any) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email, client="1.1.1.1")
    clock.at += timedelta(minutes=10, seconds=1)
    refused = _refused(agent.email, latest_code(agent.email), "1.1.1.1")
    assert refused.status == 401 and refused.message == service.WRONG_CODE


def test_failures_and_lockouts_are_audited_once_per_challenge_without_personal_data(db: Any) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email, client="1.1.1.1")
    code = latest_code(agent.email)
    for _ in range(5):
        with pytest.raises(ApiError):
            service.verify_code(email=agent.email, code=_wrong(code), client="1.1.1.1")
    entries = [s.to_dict() for s in tenancy.org_ref(agent.org_id).collection("audit").stream()]
    actions = [e["action"] for e in entries]
    assert actions.count("login.failed") == 1 and actions.count("login.locked") == 1
    locked = next(e for e in entries if e["action"] == "login.locked")
    assert locked["actorId"] == agent.uid and locked["details"] == {"failedAttempts": 5}
    assert agent.email not in str(entries) and code not in str(entries) and "1.1.1.1" not in str(entries)


def test_dead_decoy_used_and_expired_challenges_never_write_to_the_audit_chain(db: Any, clock: Any) -> None:
    """Unauthenticated verifies of a challenge that is not live cannot flood the chain or contend its head."""
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email, client="1.1.1.1")
    code = latest_code(agent.email)
    for _ in range(5):
        with pytest.raises(ApiError):
            service.verify_code(email=agent.email, code=_wrong(code), client="1.1.1.1")
    head = _head(db, agent.org_id)
    for _ in range(20):  # dead for this client
        assert _refused(agent.email, code, "1.1.1.1").status == 429
    clock.at += timedelta(minutes=11)  # expired, for other clients
    for index in range(5):
        assert _refused(agent.email, code, f"2.2.2.{index}").status == 401
    assert _head(db, agent.org_id) == head


def test_a_successful_login_records_the_failures_before_it(db: Any, auth_emulator: str) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    service.request_code(email=agent.email, client="1.1.1.1")
    code = latest_code(agent.email)
    for _ in range(2):
        with pytest.raises(ApiError):
            service.verify_code(email=agent.email, code=_wrong(code), client="1.1.1.1")
    assert service.verify_code(email=agent.email, code=code, client="1.1.1.1")["user"]["uid"] == agent.uid
    entries = [s.to_dict() for s in tenancy.org_ref(agent.org_id).collection("audit").stream()]
    login = next(e for e in entries if e["action"] == "login")
    assert login["details"] == {"failedAttempts": 2}


def test_unauthenticated_verifies_write_at_most_one_challenge_each_and_stop_at_the_client_limit(db: Any) -> None:
    """Verifies of made-up emails: one decoy each (no amplification), none past the per-client limit."""
    limit = service.VERIFY_PER_CLIENT.count
    for index in range(limit):
        assert _refused(f"made-up{index}@nowhere.example.com", "123456", "8.8.8.8").status == 401
    assert len(list(db.collection("otpChallenges").stream())) == limit
    assert _refused("one-more@nowhere.example.com", "123456", "8.8.8.8").status == 429
    assert len(list(db.collection("otpChallenges").stream())) == limit


def test_app_check_is_required_where_the_deployment_enables_it(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from core import settings
    from devtools.inproc import call

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


def test_throttles_checked_together_count_in_order_up_to_the_first_refusal(db: Any) -> None:
    """One transaction for all of a request's limits (one read, one commit) leaves the counts one hit after
    another would: the limits before the refusing one counted, the ones after it not."""
    from core import throttle
    from core.ids import sha256_hex

    first = throttle.Limit("t-first", count=5, window=timedelta(minutes=5))
    tight = throttle.Limit("t-tight", count=1, window=timedelta(minutes=5))
    last = throttle.Limit("t-last", count=5, window=timedelta(minutes=5))

    def count(limit: throttle.Limit) -> int:
        snapshot = db.collection("throttles").document(sha256_hex(limit.name, "s")).get()
        return int(snapshot.to_dict()["count"]) if snapshot.exists else 0

    hits = [(first, "s"), (tight, "s"), (last, "s")]
    throttle.hit_all(hits)
    assert [count(limit) for limit in (first, tight, last)] == [1, 1, 1]
    with pytest.raises(ApiError) as raised:
        throttle.hit_all(hits)
    assert raised.value.status == 429 and int(raised.value.headers["Retry-After"]) == 300
    assert [count(limit) for limit in (first, tight, last)] == [2, 1, 1]
