"""No account enumeration through the login endpoints, as a property: for any sequence of code requests,
wrong codes and waits, a member's email and emails that cannot log in (unknown, deactivated, of a lapsed
organization) get the same answers (status, body, Retry-After) through the real `auth` handler, and cost the
same keyed-hash work. A new answer field, a new branch or a new throttle that tells them apart fails here.

Each subject has its own client addresses, so the per-client counters evolve alike; the codes tried are never
the member's real code (code generation is fixed for the test, so the strategy can avoid it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.inproc import call

pytestmark = pytest.mark.http

REAL_CODE = "424242"
SUBJECTS = ("member", "unknown", "deactivated", "lapsed")
CLIENTS = ("a", "b")  # per subject: 10.<subject>.0.1 and 10.<subject>.0.2

Op = tuple[str, int, str]  # (request | verify | wait, client index or seconds, code)
codes = st.integers(0, 999_999).map(lambda n: f"{n:06d}").filter(lambda c: c != REAL_CODE)
ops = st.one_of(
    st.tuples(st.just("request"), st.integers(0, len(CLIENTS) - 1), st.just("")),
    st.tuples(st.just("verify"), st.integers(0, len(CLIENTS) - 1), codes),
    st.tuples(st.just("wait"), st.sampled_from([1, 31, 601, 901, 3601]), st.just("")),
)


@pytest.fixture
def fixed_codes(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Every code issued is REAL_CODE; keyed hashes are counted."""
    from auth import service

    counts = {"hashes": 0}
    real_hash = service.keyed_hash

    def counting(key: str, value: str) -> str:
        counts["hashes"] += 1
        return real_hash(key, value)

    monkeypatch.setattr(service, "_new_code", lambda: REAL_CODE)
    monkeypatch.setattr(service, "keyed_hash", counting)
    yield counts


def _world() -> dict[str, str]:
    """A fresh database: one email per subject."""
    from core import clients, tenancy
    from devtools import emulators
    from tests.support.factory import add_person, make_org

    emulators.clear_firestore(os.environ["FIRESTORE_EMULATOR_HOST"], "demo-justo")
    tenancy.cache.clear()
    make_org("org1")
    member = add_person("org1", "agent", "north")
    gone = add_person("org1", "agent", "north")
    clients.db().document(f"orgs/org1/members/{gone.uid}").update({"active": False})
    make_org("org3", days=-1)
    lapsed = add_person("org3", "agent", "north")
    tenancy.cache.clear()
    return {
        "member": member.email,
        "unknown": "nobody.at.all@nowhere.example.com",
        "deactivated": gone.email,
        "lapsed": lapsed.email,
    }


def _answer(op: Op, subject: int, email: str) -> tuple[Any, ...]:
    kind, index, code = op
    headers = {"X-Forwarded-For": f"10.{subject}.0.{index + 1}"}
    if kind == "request":
        response = call("POST", "/auth/otp/request", json_body={"email": email}, headers=headers)
    else:
        body = {"email": email, "code": code}
        response = call("POST", "/auth/otp/verify", json_body=body, headers=headers)
    return response.status, response.body, response.headers.get("Retry-After")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(ops, min_size=1, max_size=9))
def test_members_and_ineligible_emails_get_the_same_answers(
    sequence: list[Op], firestore_emulator: str, fixed_codes: dict[str, int]
) -> None:
    from core import clock as clock_module

    emails = _world()
    fixed = clock_module.FixedClock(datetime(2026, 11, 25, 6, 0, tzinfo=UTC))
    previous = clock_module.install(fixed)
    try:
        for step, op in enumerate(sequence):
            if op[0] == "wait":
                fixed.at += timedelta(seconds=op[1])
                continue
            answers, hashes = {}, {}
            for subject, name in enumerate(SUBJECTS):
                before = fixed_codes["hashes"]
                answers[name] = _answer(op, subject, emails[name])
                hashes[name] = fixed_codes["hashes"] - before
            assert all(a == answers["member"] for a in answers.values()), f"step {step} {op}: {answers}"
            assert len(set(hashes.values())) == 1, f"step {step} {op}: keyed hashes {hashes}"
    finally:
        clock_module.install(previous)


def test_the_property_sees_a_difference(auth_emulator: str, fixed_codes: dict[str, int]) -> None:
    """Control: the member's real code is answered differently (so equal answers above are not vacuous), and
    the answers compared carry attemptsLeft."""
    emails = _world()
    request = ("request", 0, "")
    assert _answer(request, 0, emails["member"]) == _answer(request, 1, emails["unknown"])
    wrong = _answer(("verify", 0, "000001"), 0, emails["member"])
    assert wrong[0] == 401 and wrong[1]["error"]["attemptsLeft"] == 4
    right = _answer(("verify", 1, REAL_CODE), 0, emails["member"])
    decoy = _answer(("verify", 1, REAL_CODE), 1, emails["unknown"])
    assert right[0] == 200 and decoy[0] == 401
