"""The 99acres pull against a stub of its pull interface, through the real pipeline: the exact request, each
enquiry one capture, two pulls never duplicating, the cursor moving only on success, a provider error keeping
it (and showing why), and two runs at once pulling once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from core import clock as clock_module
from core import tenancy
from devtools.inproc import call
from leads import store
from leads.capture import providers, pull
from tests.comms import stub as stub_module
from tests.comms.stub import Scripted, Stub
from tests.leads.capture.test_providers import ACRES99_REFUSED, ACRES99_XML
from tests.support.leads import Team, make_team

pytestmark = pytest.mark.http

NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 10:30 IST, after the recorded enquiries' RcvdOn
XML = {"Content-Type": "text/xml"}


@pytest.fixture
def acres() -> Iterator[Stub]:
    """A stub of 99acres' pull interface that the pull client calls."""
    running, server = stub_module.start()
    providers.install(acres=providers.Acres99Client(url=running.base + "/uid/", backoff_sec=0))
    yield running
    providers.install()
    server.shutdown()
    server.server_close()


@pytest.fixture
def at() -> Iterator[clock_module.FixedClock]:
    """The pull's clock, movable."""
    fixed = clock_module.FixedClock(NOW)
    previous = clock_module.install(fixed)
    yield fixed
    clock_module.install(previous)


def portal_source(team: Team, **extra: Any) -> str:
    """A 99acres source with pull credentials; its id."""
    body = {
        "kind": "99acres",
        "name": "99acres",
        "source": "99acres",
        "config": {"username": "skyline<builder>", "password": "s3cret&pw"},
        **extra,
    }
    response = call("POST", "/leads/sources", token=team.admin.token(), json_body=body)
    assert response.status == 201, response.body
    return str(response.body["id"])


def xml_reply(body: str = ACRES99_XML) -> Scripted:
    return Scripted(200, body, content_type="text/xml")


def source_doc(source_id: str) -> dict[str, Any]:
    return tenancy.org_ref("org1").collection("captureSources").document(source_id).get().to_dict() or {}


def stored() -> dict[str, Any]:
    org = tenancy.org_ref("org1")
    return {
        "captures": {s.id: s.to_dict() for s in org.collection("captures").stream()},
        "leads": {s.id: s.to_dict() for s in store.collection("org1").stream()},
    }


def sent_window(stub: Stub, index: int = -1) -> str:
    """The XML query of a pull the stub received."""
    request = stub.requests[index]
    assert request.method == "POST" and request.path == "/uid/"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    return parse_qs(request.body.decode())["xml"][0]


def test_a_pull_sends_the_credentials_and_window_and_captures_each_enquiry(db: Any, acres: Stub, at: Any) -> None:
    team = make_team()
    source_id = portal_source(team)
    acres.reply(xml_reply())
    result = pull.pull_source("org1", source_id)
    assert (result.skipped, result.captured, result.error, result.cursor) == (False, 2, None, NOW)
    assert sent_window(acres) == providers.acres99_query(
        username="skyline<builder>", password="s3cret&pw", start=NOW - pull.FIRST_WINDOW, end=NOW
    )
    after = stored()
    assert sorted(c["providerId"] for c in after["captures"].values()) == ["Q-88001", "Q-88002"]
    assert {c["outcome"] for c in after["captures"].values()} == {"created"}
    by_name = {lead["name"]: lead for lead in after["leads"].values()}
    assert sorted(by_name) == ["Meena", "Ravi Kumar"]
    assert by_name["Ravi Kumar"]["source"] == "99acres" and by_name["Ravi Kumar"]["sourceId"] == source_id
    assert by_name["Ravi Kumar"]["primaryPhone"]["e164"] == "+919812345678"
    state = source_doc(source_id)["pull"]
    assert state["cursor"] == NOW and state["lastPulledAt"] == NOW and state["lastError"] is None
    assert state["leaseId"] is None and state["leaseUntil"] is None
    shown = call("GET", "/leads/sources", token=team.admin.token()).body["items"][0]
    assert shown["pull"]["cursor"].startswith("2026-12-01T05:00") and "s3cret" not in str(shown)


def test_two_pulls_of_the_same_enquiries_capture_them_once_and_the_cursor_advances(
    db: Any, acres: Stub, at: Any
) -> None:
    team = make_team()
    source_id = portal_source(team)
    acres.reply(xml_reply(), xml_reply())
    pull.pull_source("org1", source_id)
    first = stored()
    at.at = NOW + timedelta(minutes=5)
    result = pull.pull_source("org1", source_id)
    assert result.cursor == NOW + timedelta(minutes=5)
    assert sent_window(acres) == providers.acres99_query(
        username="skyline<builder>", password="s3cret&pw", start=NOW - pull.OVERLAP, end=NOW + timedelta(minutes=5)
    )
    assert stored() == first, "the same enquiries pulled again change nothing"
    assert source_doc(source_id)["pull"]["cursor"] == NOW + timedelta(minutes=5)


def test_a_provider_error_keeps_the_cursor_shows_why_and_the_next_pull_retries_the_window(
    db: Any, acres: Stub, at: Any
) -> None:
    team = make_team()
    source_id = portal_source(team)
    acres.reply(xml_reply('<Xml ActionStatus="true"></Xml>'))
    pull.pull_source("org1", source_id)  # cursor = NOW
    at.at = NOW + timedelta(minutes=5)
    acres.reply(xml_reply(ACRES99_REFUSED))
    failed = pull.pull_source("org1", source_id)
    assert failed.error and "Incorrect Username/Password" in failed.error and failed.cursor == NOW
    state = source_doc(source_id)["pull"]
    assert state["cursor"] == NOW and "Incorrect Username/Password" in state["lastError"]
    assert state["lastErrorAt"] == NOW + timedelta(minutes=5) and state["leaseId"] is None
    assert stored()["captures"] == {}
    acres.reply(Scripted(503, "", content_type="text/html"), Scripted(503, "", content_type="text/html"))
    acres.reply(Scripted(503, "", content_type="text/html"))  # 3 attempts, all down
    at.at = NOW + timedelta(minutes=10)
    down = pull.pull_source("org1", source_id)
    assert down.error == "provider error 503" and source_doc(source_id)["pull"]["cursor"] == NOW
    at.at = NOW + timedelta(minutes=15)
    acres.reply(xml_reply())
    done = pull.pull_source("org1", source_id)
    assert done.captured == 2 and done.error is None
    assert sent_window(acres) == providers.acres99_query(
        username="skyline<builder>", password="s3cret&pw", start=NOW - pull.OVERLAP, end=NOW + timedelta(minutes=15)
    )
    assert source_doc(source_id)["pull"]["lastError"] is None


def test_two_runs_at_once_pull_once(db: Any, acres: Stub, at: Any) -> None:
    team = make_team()
    source_id = portal_source(team)
    acres.reply(Scripted(200, ACRES99_XML, delay=1.0, content_type="text/xml"))
    results: list[pull.PullResult] = []
    runs = [threading.Thread(target=lambda: results.append(pull.pull_source("org1", source_id))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sorted(r.skipped for r in results) == [False, True]
    assert len(acres.requests) == 1 and len(stored()["leads"]) == 2


def test_a_crashed_runs_lease_lapses_and_the_next_run_pulls(db: Any, acres: Stub, at: Any) -> None:
    team = make_team()
    source_id = portal_source(team)
    ref = tenancy.org_ref("org1").collection("captureSources").document(source_id)
    ref.update({"pull.leaseUntil": NOW + timedelta(minutes=1), "pull.leaseId": "crashed"})
    assert pull.pull_source("org1", source_id).skipped and acres.requests == []
    at.at = NOW + timedelta(minutes=2)
    acres.reply(xml_reply())
    assert pull.pull_source("org1", source_id).captured == 2


def test_pull_all_pulls_only_active_99acres_sources_and_one_failure_stops_no_other(
    db: Any, acres: Stub, at: Any
) -> None:
    team = make_team()
    first = portal_source(team, name="99acres A")
    second = portal_source(team, name="99acres B")
    off = portal_source(team, name="99acres off", active=False)
    call(
        "POST",
        "/leads/sources",
        token=team.admin.token(),
        json_body={"kind": "website", "name": "w", "source": "website"},
    )
    due = set(pull.due_sources())
    assert due == {("org1", first), ("org1", second)} and ("org1", off) not in due
    acres.reply(xml_reply(ACRES99_REFUSED), xml_reply())
    counts = pull.pull_all()
    assert counts == {"sources": 2, "skipped": 0, "captured": 2, "failed": 1}
    assert len(stored()["leads"]) == 2


def test_a_source_without_credentials_fails_visibly_without_calling_99acres(db: Any, acres: Stub, at: Any) -> None:
    team = make_team()
    source_id = portal_source(team, config={"username": "only-a-name"})
    result = pull.pull_source("org1", source_id)
    assert result.error == "the 99acres source has no username and password" and acres.requests == []
    assert source_doc(source_id)["pull"]["lastError"] == result.error


def test_the_pulls_queries_are_indexed(db: Any, acres: Stub, at: Any) -> None:
    from tests.support import indexes

    team = make_team()
    portal_source(team)
    acres.reply(xml_reply())
    with indexes.recording() as recorder:
        pull.pull_all()
    assert recorder.shapes
    assert indexes.missing(recorder.shapes) == []
