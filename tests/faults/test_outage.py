"""Faults in the backing service: Firestore stopped and restarted under a running function, and a commit
that fails part-way through a request (nothing may be left half-written, and a retry must recover).

Uses its own Firestore emulator on a free port (stopping the session's would break other tests)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from core import tenancy
from devtools import emulators
from devtools.inproc import call, id_token
from tests.support.factory import add_person, make_org
from tests.support.leads import lead_body

pytestmark = pytest.mark.http

ROOT = emulators.ROOT
PROMPT_503_SECONDS = 20.0  # well inside the 60 s function timeout: the app must hear 503, not a timeout


@pytest.fixture(scope="module")
def own_firestore() -> Iterator[emulators.Emulator]:
    """A Firestore emulator of this module's own, wired into this process while the module runs."""
    from tests.conftest import _reset_process_state

    try:
        emulator = emulators.firestore(rules=None).start()
    except FileNotFoundError as error:
        pytest.skip(f"Firestore emulator unavailable: {error}")
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    _reset_process_state()
    yield emulator
    emulator.stop()
    if previous:
        os.environ["FIRESTORE_EMULATOR_HOST"] = previous
    else:
        os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
    _reset_process_state()


def _clear(host: str) -> None:
    """Empty the emulator; a just-restarted one may drop the first connections."""
    for attempt in range(10):
        try:
            emulators.clear_firestore(host, "demo-justo")
            return
        except OSError:
            if attempt == 9:
                raise
            time.sleep(1)


@pytest.fixture
def fresh(own_firestore: emulators.Emulator) -> emulators.Emulator:
    """The module's emulator, emptied, with an organization (admin `org1-admin`, agent `org1-agent1`)."""
    if own_firestore.process is None:  # a test that stopped it failed before restarting it
        own_firestore.start()
    _clear(own_firestore.host)
    tenancy.cache.clear()
    make_org()
    add_person("org1", "agent", "north")
    return own_firestore


def _serve(function: str, firestore_host: str) -> tuple[subprocess.Popen[bytes], str]:
    """The function in its own process, as the Functions emulator runs it (functions-framework)."""
    port = emulators.free_port()
    env = dict(os.environ) | {
        "FUNCTION_TARGET": function,
        "FUNCTION_SIGNATURE_TYPE": "http",
        "FIRESTORE_EMULATOR_HOST": firestore_host,
        "FUNCTIONS_EMULATOR": "true",
        "JUSTO_ENV": "local",
        "MEMBER_CACHE_SECONDS": "0",
    }
    framework = ROOT / "functions" / "venv" / "bin" / "functions-framework"
    process = subprocess.Popen(
        [str(framework), "--target", function, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT / "functions",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/__/health", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("functions-framework did not start")


def _admin() -> dict[str, str]:
    token = id_token("org1-admin", {"orgId": "org1", "role": "admin", "teamId": None})
    return {"Authorization": f"Bearer {token}"}


def test_after_firestore_returns_the_same_function_instance_serves_again(fresh: emulators.Emulator) -> None:
    process, base = _serve("members", fresh.host)
    try:
        assert httpx.get(f"{base}/", headers=_admin(), timeout=30).status_code == 200
        fresh.stop()
        fresh.start()  # same port; the emulator keeps data in memory only, so it comes back empty
        _clear(fresh.host)
        tenancy.cache.clear()
        gone = httpx.get(f"{base}/", headers=_admin(), timeout=60)
        assert gone.status_code == 401  # the organization is gone with the data: refused, not a crash
        make_org()
        add_person("org1", "agent", "north")
        again = httpx.get(f"{base}/", headers=_admin(), timeout=60)
        assert again.status_code == 200 and len(again.json()["items"]) == 2
    finally:
        process.kill()
        process.wait()


def test_requests_during_a_firestore_outage_answer_503_promptly(fresh: emulators.Emulator) -> None:
    process, base = _serve("members", fresh.host)
    try:
        assert httpx.get(f"{base}/", headers=_admin(), timeout=30).status_code == 200
        fresh.stop()
        try:
            during = httpx.get(f"{base}/", headers=_admin(), timeout=PROMPT_503_SECONDS)
        except httpx.TimeoutException:
            raise AssertionError(f"no answer within {PROMPT_503_SECONDS:.0f} s while Firestore was down") from None
        assert during.status_code == 503
        assert during.json()["error"]["code"] == "UNAVAILABLE" and during.headers.get("Retry-After")
    finally:
        process.kill()
        process.wait()
        if fresh.process is None:
            fresh.start()


# ---- a commit failing part-way through one request ------------------------------------------------------


@pytest.fixture
def fail_commit(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[Any], bool]], list[Any]]:
    """Make the first commit whose request matches `which` fail as an unreachable Firestore would."""
    from google.api_core.exceptions import ServiceUnavailable
    from google.cloud.firestore_v1.services.firestore.client import FirestoreClient

    original = FirestoreClient.commit

    def arm(which: Callable[[Any], bool]) -> list[Any]:
        failed: list[Any] = []

        def commit(self: Any, request: Any = None, *args: Any, **kwargs: Any) -> Any:
            if not failed and which(request):
                failed.append(request)
                raise ServiceUnavailable("injected: Firestore unreachable")
            return original(self, request, *args, **kwargs)

        monkeypatch.setattr(FirestoreClient, "commit", commit)
        return failed

    return arm


def _writes(request: Any) -> list[str]:
    writes = request.get("writes") if isinstance(request, dict) else request.writes
    names = []
    for write in writes or []:
        update = write.update if not isinstance(write, dict) else write.get("update")
        names.append(str(getattr(update, "name", "") or ""))
    return names


def test_a_member_change_whose_commit_fails_answers_503_and_changes_nothing(
    fresh: emulators.Emulator, fail_commit: Any
) -> None:
    failed = fail_commit(lambda request: any("/members/org1-agent1" in name for name in _writes(request)))
    response = call("PATCH", "/members/org1-agent1", token=_admin()["Authorization"][7:], json_body={"name": "New"})
    assert failed and response.status == 503 and response.error["code"] == "UNAVAILABLE"
    member = tenancy.member_ref("org1", "org1-agent1").get().to_dict() or {}
    assert member["version"] == 1 and member["name"] != "New"
    audit = list(tenancy.org_ref("org1").collection("audit").stream())
    assert [a.get("action") for a in audit if a.get("action") == "member.changed"] == []


def test_a_member_change_answered_503_is_stored_with_its_audit_entry_or_not_at_all(
    fresh: emulators.Emulator, fail_commit: Any
) -> None:
    failed = fail_commit(lambda request: any("/auditHead/" in name for name in _writes(request)))
    response = call("PATCH", "/members/org1-agent1", token=_admin()["Authorization"][7:], json_body={"name": "Audited"})
    assert failed and response.status == 503
    member = tenancy.member_ref("org1", "org1-agent1").get().to_dict() or {}
    audited = [
        a.to_dict() for a in tenancy.org_ref("org1").collection("audit").stream() if a.get("action") == "member.changed"
    ]
    assert (member["name"] != "Audited" and not audited) or (member["name"] == "Audited" and audited), (
        f"half-written: name={member['name']!r}, audit entries={len(audited)}"
    )


def test_a_lead_whose_transaction_fails_leaves_no_lead_key_or_contact(
    fresh: emulators.Emulator, fail_commit: Any
) -> None:
    failed = fail_commit(lambda request: any("/leads/" in name for name in _writes(request)))
    agent = id_token("org1-agent1", {"orgId": "org1", "role": "agent", "teamId": "north"})
    body = lead_body("98222 33444", "Half Written")
    response = call("POST", "/leads", token=agent, json_body=body, headers={"Idempotency-Key": "half-1"})
    assert failed and response.status == 503
    org = tenancy.org_ref("org1")
    assert list(org.collection("leads").stream()) == [] and list(org.collection("leadKeys").stream()) == []
    retry = call("POST", "/leads", token=agent, json_body=body, headers={"Idempotency-Key": "half-1"})
    assert retry.status == 201, retry.body  # the failed attempt left no idempotency record behind
    assert len(list(org.collection("leads").stream())) == 1


def test_a_lead_created_before_the_reply_was_recorded_is_returned_to_the_retry(
    fresh: emulators.Emulator, fail_commit: Any
) -> None:
    def marks_done(request: Any) -> bool:
        return any("/idempotency/" in name for name in _writes(request)) and "leads" not in str(_writes(request))

    agent = id_token("org1-agent1", {"orgId": "org1", "role": "agent", "teamId": "north"})
    body = lead_body("98222 55666", "Reply Lost")
    headers = {"Idempotency-Key": "done-lost-1"}
    creates = {"n": 0}

    def second_idempotency_write(request: Any) -> bool:
        if marks_done(request):
            creates["n"] += 1
            return creates["n"] == 2  # the first is the pending record, the second marks it done
        return False

    failed = fail_commit(second_idempotency_write)
    first = call("POST", "/leads", token=agent, json_body=body, headers=headers)
    assert failed and first.status == 201, "the lead was created: the caller hears so, not a 503"
    assert len(list(tenancy.org_ref("org1").collection("leads").stream())) == 1
    time.sleep(2)
    retry = call("POST", "/leads", token=agent, json_body=body, headers=headers)
    assert retry.status == 201 and retry.body == first.body, retry.body
    assert len(list(tenancy.org_ref("org1").collection("leads").stream())) == 1
