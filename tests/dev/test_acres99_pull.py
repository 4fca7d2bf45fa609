"""The 99acres pull end to end on the local stack's own stub (functions/dev): enquiries registered for a source's
user name are served over HTTP as 99acres' pull interface answers them, and the scheduled `capturepull` (its
handler, as the scheduler runs it) pulls them through the real client and pipeline into leads; a repeat
enquiry of a known buyer becomes an enquiry on that lead; nothing is captured twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import tenancy
from devtools.inproc import call
from leads import store
from leads.capture import providers
from tests.support.leads import make_team

pytestmark = pytest.mark.http

USER = "skyline-builder"


@pytest.fixture
def dev_stub() -> Iterator[str]:
    """The dev function served over HTTP on a free port (as the Functions emulator serves it); its pull URL is
    the 99acres client's."""
    from flask import Flask, request
    from werkzeug.serving import make_server

    from dev.api import dev

    app = Flask("dev-stub")
    handler = getattr(dev, "__wrapped__", dev)  # the function object the decorator wraps
    app.add_url_rule("/<path:rest>", "dev", lambda rest: handler(request), methods=["GET", "POST"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    providers.install(acres=providers.Acres99Client(url=base + "/99acres/pull", backoff_sec=0))
    yield base
    providers.install()
    server.shutdown()


def register(*enquiries: dict[str, Any], username: str = USER) -> None:
    answer = call("POST", "/dev/99acres/enquiries", json_body={"username": username, "enquiries": list(enquiries)})
    assert answer.status == 201, answer.body


def capturepull() -> None:
    """The scheduled function's handler, as Cloud Scheduler runs it."""
    from triggers.capture_pull import capturepull as scheduled

    getattr(scheduled, "__wrapped__")(None)  # noqa: B009 - the decorator's type does not name it


def _leads() -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() or {} for s in store.collection("org1").stream()}


def test_capturepull_pulls_registered_enquiries_into_leads_then_a_repeat_into_an_enquiry(
    db: Any, dev_stub: str
) -> None:
    team = make_team()
    body = {"kind": "99acres", "name": "99acres", "source": "99acres", "config": {"username": USER, "password": "pw"}}
    source = call("POST", "/leads/sources", token=team.admin.token(), json_body=body).body
    now = datetime.now(UTC)
    register(
        {"queryId": "Q-1", "name": "Asha Rao", "phone": "9845022001", "message": "2BHK?", "receivedAt": _at(now, 30)},
        {"queryId": "Q-2", "name": "Ravi K", "email": "ravi@example.com", "receivedAt": _at(now, 20)},
    )
    register({"queryId": "Q-9", "name": "Not ours", "phone": "9845022009"}, username="another-builder")
    capturepull()
    leads = _leads()
    assert sorted(lead["name"] for lead in leads.values()) == ["Asha Rao", "Ravi K"]
    assert {lead["sourceId"] for lead in leads.values()} == {source["id"]}
    assert {lead["source"] for lead in leads.values()} == {"99acres"}
    asha = next(lead for lead in leads.values() if lead["name"] == "Asha Rao")
    capturepull()  # the overlapping window serves both again: captured once
    assert _leads().keys() == leads.keys()
    captures = [s.to_dict() or {} for s in tenancy.org_ref("org1").collection("captures").stream()]
    assert sorted(c["providerId"] for c in captures) == ["Q-1", "Q-2"]
    register({"queryId": "Q-3", "name": "Asha", "phone": "+91 98450 22001", "message": "Still keen"})
    capturepull()
    after = _leads()
    assert after.keys() == leads.keys()
    (lead_id,) = [key for key, lead in after.items() if lead["name"] == "Asha Rao"]
    assert [e["source"] for e in after[lead_id].get("enquiries", [])] == ["99acres"] and asha["version"] == 1
    pulled = tenancy.org_ref("org1").collection("captureSources").document(source["id"]).get().to_dict() or {}
    assert pulled["pull"]["lastError"] is None and pulled["pull"]["cursor"] is not None


def _at(now: datetime, minutes_ago: int) -> str:
    return (now - timedelta(minutes=minutes_ago)).isoformat()


@pytest.mark.parametrize(
    ("enquiry", "field"),
    [
        ({"name": "x"}, "enquiries.0.queryId"),
        ({"queryId": "a/b"}, "enquiries.0.queryId"),
        ({"queryId": "q", "phone": 98450}, "enquiries.0.phone"),
        ({"queryId": "q", "receivedAt": "yesterday"}, "enquiries.0.receivedAt"),
        ({"queryId": "q", "receivedAt": "2026-11-25T10:00:00"}, "enquiries.0.receivedAt"),
    ],
)
def test_a_bad_enquiry_registration_is_400_naming_the_field(db: Any, enquiry: dict[str, Any], field: str) -> None:
    answer = call("POST", "/dev/99acres/enquiries", json_body={"username": USER, "enquiries": [enquiry]})
    assert answer.status == 400 and field in answer.error["fields"], answer.body
