"""The register of data-principal requests: recorded with a due date, moved, fulfilled with evidence (a kept
export, an erasure report naming every store and provider, a restriction), overdue ones listed, every step in
the audit chain; members' own requests; restriction; the daily reminder."""

from __future__ import annotations

import hashlib
import urllib.request
from datetime import timedelta
from typing import Any

import pytest

from core import audit, clients, tenancy
from core.errors import ApiError
from devtools.inproc import Response, call
from leads.seed import member_caller
from privacy import account, providers
from tests.privacy.world import LEAD_ID, populate
from tests.support.factory import Person, add_person, make_org

pytestmark = pytest.mark.http

RECORDING_ID = "2c1a9c3e-8a1f-11ef-9c2b-0242ac110003"
MEDIA_ID = "1043595630929911"


class Recording:
    """An eraser that records each copy asked for; media deletion fails (the provider keeps refusing)."""

    def __init__(self) -> None:
        self.asked: list[providers.Copy] = []

    def erase(self, org_id: str, copy: providers.Copy) -> str:
        self.asked.append(copy)
        if copy.provider == "whatsapp":
            raise providers.ProviderError("provider error 503", retryable=True)
        return "deleted"


@pytest.fixture
def eraser() -> Any:
    """The provider eraser, recorded; the configured one afterwards."""
    recorder = Recording()
    providers.install(recorder)
    yield recorder
    providers.install(None)


def _record(admin: Person, **body: Any) -> Response:
    payload = {"kind": "erasure", "subject": {"type": "lead", "id": LEAD_ID}, "receivedVia": "email"} | body
    return call("POST", "/privacy/requests", token=admin.token(), json_body=payload)


def _actions() -> list[str]:
    return [str(s.get("action")) for s in audit.entries_ref("org1").order_by("seq").stream()]


def test_an_erasure_request_goes_to_done_with_a_report_naming_every_store_and_provider(
    db: Any, bucket: Any, clock: Any, eraser: Recording
) -> None:
    world = populate(bucket)
    org = tenancy.org_ref("org1")
    org.collection("calls").document("call1").update(
        {"recordingUrl": f"https://media.plivo.com/v1/Account/MA123/Recording/{RECORDING_ID}.mp3"}
    )
    org.collection("messages").document("m1").update({"media": {"mediaId": MEDIA_ID, "status": "ready"}})

    recorded = _record(world.admin, details="Please delete everything you hold about me")
    assert recorded.status == 201, recorded.body
    request = recorded.body
    assert request["status"] == "received" and request["recordedBy"] == world.admin.uid
    assert request["dueAt"] == (clock.now() + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    moved = call(
        "PATCH",
        f"/privacy/requests/{request['id']}",
        token=world.admin.token(),
        json_body={"status": "in-progress", "note": "identity checked by phone"},
        headers={"If-Match": "1"},
    )
    assert moved.status == 200 and moved.body["status"] == "in-progress" and moved.body["version"] == 2

    done = call("POST", f"/privacy/requests/{request['id']}/fulfil", token=world.admin.token())

    assert done.status == 200, done.body
    assert done.body["status"] == "done" and done.body["closedAt"] is not None
    assert [step["status"] for step in done.body["history"]] == ["received", "in-progress", "done"]
    report = done.body["evidence"]["erasure"]
    assert not org.collection("leads").document(LEAD_ID).get().exists
    firestore_stores = report["stores"]["firestore"]
    for where in ("orgs/*/leads", "orgs/*/leads/*/notes", "orgs/*/calls", "orgs/*/messages", "orgs/*/visits"):
        assert firestore_stores.get(where, 0) >= 1, (where, firestore_stores)
    assert report["stores"]["cloudStorage"] == report["objects"] >= 1
    assert {(c.provider, c.id) for c in eraser.asked} == {("plivo", RECORDING_ID), ("whatsapp", MEDIA_ID)}
    by_provider = {line["provider"]: line for line in report["providers"]}
    assert by_provider["plivo"]["outcome"] == "deleted"
    assert by_provider["whatsapp"] == {
        "provider": "whatsapp",
        "kind": "media",
        "id": MEDIA_ID,
        "outcome": "failed",
        "reason": "provider error 503",
    }
    assert report["complete"] is False
    # the register outlives the erasure, and the chain holds every step
    assert call("GET", f"/privacy/requests/{request['id']}", token=world.admin.token()).body["status"] == "done"
    actions = _actions()
    for action in ("privacy.request.recorded", "privacy.request.in-progress", "privacy.lead.erased"):
        assert action in actions
    assert actions[-1] == "privacy.request.done"
    assert audit.verify("org1").ok


def test_an_access_request_keeps_the_export_as_evidence_and_final_requests_do_not_move(
    db: Any, bucket: Any, clock: Any
) -> None:
    world = populate(bucket)
    request = _record(world.admin, kind="access", receivedVia="letter").body
    done = call("POST", f"/privacy/requests/{request['id']}/fulfil", token=world.admin.token())
    assert done.status == 200, done.body
    kept = done.body["evidence"]["export"]
    link = call("GET", f"/privacy/requests/{request['id']}/export", token=world.admin.token())
    assert link.status == 200
    with urllib.request.urlopen(link.body["downloadUrl"], timeout=10) as download:
        data = download.read()
    assert hashlib.sha256(data).hexdigest() == kept["sha256"] and len(data) == kept["sizeBytes"]
    assert LEAD_ID.encode() in data
    again = call("POST", f"/privacy/requests/{request['id']}/fulfil", token=world.admin.token())
    assert again.status == 409
    reopened = call(
        "PATCH", f"/privacy/requests/{request['id']}", token=world.admin.token(), json_body={"status": "in-progress"}
    )
    assert reopened.status == 409
    assert tenancy.org_ref("org1").collection("leads").document(LEAD_ID).get().exists  # access erases nothing


def test_bad_requests_are_4xx_naming_the_field_and_a_refusal_needs_its_reason(db: Any, bucket: Any, clock: Any) -> None:
    world = populate(bucket)
    unknown = _record(world.admin, subject={"type": "lead", "id": "nope"})
    assert unknown.status == 400 and "subject.id" in unknown.error["fields"]
    future = _record(world.admin, receivedAt=(clock.now() + timedelta(days=2)).isoformat())
    assert future.status == 400 and "receivedAt" in future.error["fields"]
    kind = _record(world.admin, kind="delete-everything")
    assert kind.status == 400 and "kind" in kind.error["fields"]
    request = _record(world.admin, kind="grievance").body
    path = f"/privacy/requests/{request['id']}"
    no_reason = call("PATCH", path, token=world.admin.token(), json_body={"status": "refused"})
    assert no_reason.status == 400 and "reason" in no_reason.error["fields"]
    stale = call("PATCH", path, token=world.admin.token(), json_body={"status": "done"}, headers={"If-Match": "7"})
    assert stale.status == 412
    by_hand = call("POST", f"{path}/fulfil", token=world.admin.token())
    assert by_hand.status == 409  # a grievance is answered by a person, then closed with a note
    refused = call(
        "PATCH", path, token=world.admin.token(), json_body={"status": "refused", "reason": "Not our customer"}
    )
    assert refused.status == 200 and refused.body["refusalReason"] == "Not our customer"
    assert call("GET", "/privacy/requests", token=world.agent.token()).status == 403
    make_org("org2")
    outsider = add_person("org2", "admin")
    assert call("GET", path, token=outsider.token()).status == 404


def test_overdue_requests_are_listed_most_overdue_first(db: Any, bucket: Any, clock: Any) -> None:
    world = populate(bucket)
    settings = call("PATCH", "/privacy/settings", token=world.admin.token(), json_body={"responseDays": 15})
    assert settings.status == 200 and settings.body["responseDays"] == 15
    old = _record(world.admin, kind="access", receivedAt=(clock.now() - timedelta(days=40)).isoformat()).body
    older = _record(world.admin, kind="correction", receivedAt=(clock.now() - timedelta(days=50)).isoformat()).body
    closed = _record(world.admin, kind="grievance", receivedAt=(clock.now() - timedelta(days=60)).isoformat()).body
    call("PATCH", f"/privacy/requests/{closed['id']}", token=world.admin.token(), json_body={"status": "done"})
    fresh = _record(world.admin, kind="access").body
    assert fresh["overdue"] is False and old["overdue"] is True

    overdue = call("GET", "/privacy/requests?overdue=true", token=world.admin.token())

    assert overdue.status == 200
    assert [item["id"] for item in overdue.body["items"]] == [older["id"], old["id"]]
    assert all(item["overdue"] for item in overdue.body["items"])


def test_restriction_keeps_the_lead_but_stops_contact_and_list_exports_until_lifted(
    db: Any, bucket: Any, clock: Any
) -> None:
    world = populate(bucket)
    request = _record(world.admin, kind="restriction").body
    done = call("POST", f"/privacy/requests/{request['id']}/fulfil", token=world.admin.token())
    assert done.status == 200 and done.body["evidence"]["restriction"]["restricted"] is True
    lead = call("GET", f"/leads/{LEAD_ID}", token=world.admin.token())
    assert lead.status == 200 and lead.body["restricted"] is True
    email = {"leadId": LEAD_ID, "subject": "Offer", "body": "New launch"}
    refused = call("POST", "/comms/email", token=world.admin.token(), json_body=email)
    assert refused.status == 409 and "restricted" in refused.error["message"]
    exported = call("GET", "/leads/export", token=world.admin.token())
    assert exported.status == 200 and LEAD_ID not in exported.text
    portable = call("GET", f"/privacy/leads/{LEAD_ID}/export", token=world.admin.token())
    assert portable.status == 200 and portable.body["lead"]["restricted"] is True
    lifted = call("DELETE", f"/privacy/leads/{LEAD_ID}/restriction", token=world.admin.token())
    assert lifted.status == 200 and lifted.body == {"restricted": False, "restrictedAt": None, "changed": True}
    assert LEAD_ID in call("GET", "/leads/export", token=world.admin.token()).text
    assert "privacy.lead.restricted" in _actions() and "privacy.lead.unrestricted" in _actions()


def test_members_ask_for_their_own_data_and_the_last_admin_stays(db: Any, bucket: Any, clock: Any) -> None:
    world = populate(bucket)
    own = call("POST", "/privacy/requests/me", token=world.agent.token(), json_body={"kind": "access"})
    assert own.status == 201, own.body
    assert own.body["subjectType"] == "member" and own.body["subjectId"] == world.agent.uid
    assert own.body["receivedVia"] == "in-app"
    answered = call("POST", f"/privacy/requests/{own.body['id']}/fulfil", token=world.admin.token())
    assert answered.status == 200 and answered.body["evidence"]["export"]["sizeBytes"] > 0
    assert call("POST", "/privacy/account/deletion", token=world.agent.token()).status == 202
    erasures = call("GET", f"/privacy/requests?subjectId={world.agent.uid}&kind=erasure", token=world.admin.token())
    assert [item["receivedVia"] for item in erasures.body["items"]] == ["in-app"]
    # the only admin asks to go: the register takes it; nobody (here a manager given privacy.manage) can leave
    # the organization without an active admin
    assert call("POST", "/privacy/account/deletion", token=world.admin.token()).status == 202
    manager = member_caller("org1", world.manager.uid)
    with pytest.raises(ApiError) as refused:
        account.complete_deletion(caller=manager, uid=world.admin.uid)
    assert refused.value.code == "FAILED_PRECONDITION" and "only active admin" in str(refused.value)
    assert tenancy.member_ref("org1", world.admin.uid).get().to_dict()["active"] is True


def test_admins_get_one_reminder_a_day_of_requests_near_their_due_date(db: Any, bucket: Any, clock: Any) -> None:
    from privacy import requests

    world = populate(bucket)
    _record(world.admin, kind="access", receivedAt=(clock.now() - timedelta(days=28)).isoformat())
    _record(world.admin, kind="correction")  # due in 30 days: not yet

    assert requests.remind_due(clock.now()) == 1
    assert requests.remind_due(clock.now()) == 0  # the schedule fired twice

    feed = list(clients.db().collection("users").document(world.admin.uid).collection("notifications").stream())
    assert [(n.to_dict() or {}).get("kind") for n in feed] == ["privacy-requests-due"]
    outbox = [s.to_dict() or {} for s in clients.db().collection("outbox").stream()]
    mails = [m for m in outbox if m.get("to") == world.admin.email]
    assert len(mails) == 1 and "1 privacy request(s) due soon" in mails[0]["subject"]
    assert "access about a lead" in mails[0]["text"] and LEAD_ID not in mails[0]["text"]


def test_a_member_corrects_its_own_name_and_phone(db: Any, bucket: Any, clock: Any) -> None:
    world = populate(bucket)
    token = world.agent.token()
    fixed = call(
        "PATCH", "/privacy/me", token=token, json_body={"name": "Neha Sharma", "phone": {"number": "098765 11111"}}
    )
    assert fixed.status == 200, fixed.body
    assert fixed.body["name"] == "Neha Sharma"
    assert fixed.body["phone"] == {"countryCode": "+91", "number": "9876511111", "e164": "+919876511111"}
    assert call("GET", "/members/me", token=token).body["phone"]["e164"] == "+919876511111"
    bad = call("PATCH", "/privacy/me", token=token, json_body={"phone": {"number": "12"}})
    assert bad.status == 400 and "phone.number" in bad.error["fields"]
    empty = call("PATCH", "/privacy/me", token=token, json_body={"name": None})
    assert empty.status == 400 and "name" in empty.error["fields"]
    cleared = call("PATCH", "/privacy/me", token=token, json_body={"phone": None})
    assert cleared.status == 200 and cleared.body["phone"] is None
    assert cleared.body["version"] == fixed.body["version"] + 1
    corrected = [s.to_dict() or {} for s in audit.entries_ref("org1").stream() if s.get("action") == "member.corrected"]
    assert [entry["details"]["fields"] for entry in corrected] == [["name", "phone"], ["phone"]]
    assert "9876511111" not in str(corrected)
