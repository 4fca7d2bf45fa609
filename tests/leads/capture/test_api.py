"""Lead capture through the real handlers: sources and keys, the push and Google receivers, the pipeline's
outcomes (created, enquired-again, rejected then retried), redelivery, racing deliveries, and who sees what."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from core import tenancy
from devtools.inproc import Response, call
from leads import store
from tests.support.factory import Person
from tests.support.leads import Team, create, make_team, set_settings
from tests.support.outbox import pushes_to
from tests.support.triggers import Triggers

pytestmark = pytest.mark.http


def new_source(admin: Person, **body: Any) -> Response:
    """POST /leads/sources as admin (a website source unless told otherwise)."""
    fields = {"kind": "website", "name": "Our website", "source": "website", **body}
    return call("POST", "/leads/sources", token=admin.token(), json_body=fields)


def website(team: Team, **body: Any) -> dict[str, Any]:
    """A website source's reply (with its key)."""
    response = new_source(team.admin, **body)
    assert response.status == 201, response.body
    return dict(response.body)


def push(source: dict[str, Any], payload: dict[str, Any], *, key: str | None = None, form: bool = False) -> Response:
    """POST /webhooks/capture/{id} with the source's key in X-Justo-Key."""
    headers = {"X-Justo-Key": key if key is not None else source["key"]}
    path = f"/webhooks/capture/{source['id']}"
    if form:
        from urllib.parse import urlencode

        return call(
            "POST", path, data=urlencode(payload), content_type="application/x-www-form-urlencoded", headers=headers
        )
    return call("POST", path, json_body=payload, headers=headers)


def captures(org_id: str = "org1") -> list[dict[str, Any]]:
    return [s.to_dict() or {} for s in tenancy.org_ref(org_id).collection("captures").stream()]


def leads(org_id: str = "org1") -> list[dict[str, Any]]:
    return [{"id": s.id, **(s.to_dict() or {})} for s in store.collection(org_id).stream()]


BUYER = {
    "name": "Asha Rao",
    "phone": "098450 22001",
    "email": "Asha.Rao@Example.com",
    "city": "Pune",
    "message": "2BHK?",
}


# ---- sources -----------------------------------------------------------------------------------------------


def test_source_key_is_shown_once_stored_hashed_and_rotation_refuses_the_old_key(db: Any) -> None:
    team = make_team()
    created = website(team)
    key = created["key"]
    assert created["keyLast4"] == key[-4:] and len(key) >= 24
    assert created["endpointUrl"].endswith(f"/webhooks/capture/{created['id']}")
    assert created["fieldMap"] is None and created["fieldMapInForce"] == {
        "name": "name",
        "phone": "primaryPhone",
        "email": "email",
        "city": "location.city",
        "message": "note",
    }
    stored = tenancy.org_ref("org1").collection("captureSources").document(created["id"]).get().to_dict()
    assert key not in str(stored) and stored["keyHash"] != key
    listed = call("GET", "/leads/sources", token=team.admin.token())
    assert listed.status == 200 and [s["id"] for s in listed.body["items"]] == [created["id"]]
    assert "key" not in listed.body["items"][0] and key not in listed.text
    rotated = call("POST", f"/leads/sources/{created['id']}/rotate-key", token=team.admin.token())
    assert rotated.status == 200 and rotated.body["key"] != key
    assert push(created, BUYER).status == 401
    assert captures() == [] and leads() == []
    assert push({**created, "key": rotated.body["key"]}, BUYER).status == 200


def test_source_changes_and_bad_input_name_the_field(db: Any) -> None:
    team = make_team()
    created = website(team)
    for body, field in (
        ({"source": "tv"}, "source"),
        ({"fieldMap": {"phone": "shoeSize"}}, "fieldMap.phone"),
        ({"projectId": "nope"}, "projectId"),
        ({"kind": "fax"}, "kind"),
        ({"name": ""}, "name"),
    ):
        response = new_source(team.admin, **body)
        assert response.status == 400 and field in response.error["fields"], (body, response.body)
    meta = new_source(team.admin, kind="meta", source="facebook")
    assert meta.status == 400 and "config.pageId" in meta.error["fields"]
    path = f"/leads/sources/{created['id']}"
    changed = call(
        "PATCH", path, token=team.admin.token(), json_body={"fieldMap": {"mobile": "primaryPhone"}, "active": False}
    )
    assert (
        changed.status == 200
        and changed.body["fieldMap"] == {"mobile": "primaryPhone"}
        and changed.body["version"] == 2
    )
    stale = call("PATCH", path, token=team.admin.token(), json_body={"active": True}, headers={"If-Match": "1"})
    assert stale.status == 412
    assert push(created, BUYER).status == 409  # switched off: refused, nothing stored
    assert captures() == []
    assert call("PATCH", "/leads/sources/nope", token=team.admin.token(), json_body={"active": True}).status == 404


def test_a_meta_page_connects_to_one_source_only(db: Any) -> None:
    team = make_team()
    first = new_source(team.admin, kind="meta", source="facebook", config={"pageId": "1234"})
    assert first.status == 201 and first.body["endpointUrl"] is None
    again = new_source(team.admin, kind="meta", source="facebook", config={"pageId": "1234"})
    assert again.status == 409 and "config.pageId" in again.error["fields"]


@pytest.mark.parametrize("role", ["manager", "agent", "rm"])
def test_only_admins_manage_sources_and_retry(db: Any, role: str) -> None:
    team = make_team()
    created = website(team)
    person = {"manager": team.manager, "agent": team.agent1, "rm": team.rm}[role]
    token = person.token()
    assert call("GET", "/leads/sources", token=token).status == 403
    assert (
        call(
            "POST", "/leads/sources", token=token, json_body={"kind": "website", "name": "x", "source": "website"}
        ).status
        == 403
    )
    assert call("PATCH", f"/leads/sources/{created['id']}", token=token, json_body={"active": False}).status == 403
    assert call("POST", f"/leads/sources/{created['id']}/rotate-key", token=token).status == 403
    assert push(created, BUYER).status == 200
    capture_id = captures()[0]
    listing = call("GET", "/leads/captures", token=token)
    assert listing.status == (200 if role == "manager" else 403)
    one = tenancy.org_ref("org1").collection("captures").limit(1).get()[0].id
    assert call("POST", f"/leads/captures/{one}/retry", token=token).status == 403
    assert capture_id


# ---- the push receiver ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_push_creates_a_routed_attributed_lead_with_a_note_and_pushes_its_agent(db: Any, form: bool) -> None:
    team = make_team()
    created = website(team)
    triggers = Triggers()
    with triggers.running():
        response = push(created, BUYER, form=form)
    assert response.status == 200, response.body
    assert response.body["outcome"] == "created"
    lead_id = response.body["leadId"]
    lead = store.get("org1", lead_id)
    assert lead is not None
    assert lead.name == "Asha Rao" and lead.emails == ("asha.rao@example.com",)
    assert lead.primary_phone is not None and lead.primary_phone.e164 == "+919845022001"
    assert (lead.location or {}).get("city") == "Pune" and lead.source == "website" and lead.created_by is None
    assert lead.source_id == created["id"] and lead.first_source == "website"
    assert lead.assignee_id in {team.agent1.uid, team.agent2.uid, team.south.uid}
    notes = [s.to_dict() for s in store.child("org1", lead_id, "notes").stream()]
    assert [n["text"] for n in notes] == ["2BHK?"]
    pushed = pushes_to(lead.assignee_id)
    assert [p["subject"] for p in pushed] == ["New lead assigned to you"]
    (capture,) = captures()
    assert capture["outcome"] == "created" and capture["leadId"] == lead_id and capture["teamId"] == lead.team_id
    assert capture["fields"]["primaryPhone"] == "098450 22001"
    seen = call("GET", f"/leads/{lead_id}", token=team.admin.token())
    assert seen.status == 200 and seen.body["sourceId"] == created["id"] and seen.body["firstSource"] == "website"


def test_key_in_the_query_works_and_a_wrong_or_missing_key_is_401_storing_nothing(db: Any) -> None:
    team = make_team()
    created = website(team)
    for headers, query in (({"X-Justo-Key": "wrong"}, ""), ({}, ""), ({}, "?key=wrong")):
        response = call("POST", f"/webhooks/capture/{created['id']}{query}", json_body=BUYER, headers=headers)
        assert response.status == 401, response.body
    assert (
        call("POST", "/webhooks/capture/src_unknown", json_body=BUYER, headers={"X-Justo-Key": created["key"]}).status
        == 401
    )
    assert captures() == [] and leads() == []
    ok = call("POST", f"/webhooks/capture/{created['id']}?key={created['key']}", json_body=BUYER)
    assert ok.status == 200 and ok.body["outcome"] == "created"


def test_a_key_of_another_organizations_source_is_refused(db: Any) -> None:
    team = make_team()
    other = make_team("org2")
    ours, theirs = website(team), website(other)
    assert push({**ours, "key": theirs["key"]}, BUYER).status == 401
    assert captures("org1") == [] and captures("org2") == []


def test_redelivery_answers_as_the_first_and_changes_nothing(db: Any) -> None:
    team = make_team()
    created = website(team)
    first = push(created, BUYER)
    before = (captures(), leads(), [s.to_dict() for s in tenancy.org_ref("org1").collection("leadKeys").stream()])
    again = push(created, BUYER)
    assert again.status == 200 and again.body == first.body
    assert (
        captures(),
        leads(),
        [s.to_dict() for s in tenancy.org_ref("org1").collection("leadKeys").stream()],
    ) == before


def test_a_portal_id_in_the_field_map_makes_a_resent_enquiry_one_capture(db: Any) -> None:
    team = make_team()
    created = website(
        team,
        kind="magicbricks",
        source="magicbricks",
        fieldMap={"enquiry_id": "providerId", "mobile": "primaryPhone", "fullname": "name"},
    )
    first = push(created, {"enquiry_id": "MB-1", "mobile": "9845022001", "fullname": "Asha"})
    again = push(created, {"enquiry_id": "MB-1", "mobile": "9845022001", "fullname": "Asha", "resent": "yes"})
    assert first.body == again.body and len(captures()) == 1 and len(leads()) == 1


def test_a_known_buyer_from_another_source_becomes_one_enquiry_with_history_and_a_push(db: Any) -> None:
    team = make_team()
    existing = create(team.agent1, "98450 22001", name="Asha").body["id"]
    portal = website(team, kind="housing", source="housing", name="Housing.com")
    triggers = Triggers()
    with triggers.running():
        response = push(portal, {"name": "Asha R", "phone": "+91 98450-22001"})
    assert response.status == 200 and response.body == {
        "captureId": response.body["captureId"],
        "outcome": "enquired-again",
        "leadId": existing,
    }
    lead = store.get("org1", existing)
    assert lead is not None and len(lead.enquiries) == 1 and lead.name == "Asha"
    entry = lead.enquiries[0]
    assert entry["captureId"] == response.body["captureId"] and entry["sourceId"] == portal["id"]
    assert entry["source"] == "housing" and lead.last_enquired_at == entry["at"] and lead.version == 2
    activity = call("GET", f"/leads/{existing}/activity", token=team.agent1.token()).body["items"]
    assert [a["type"] for a in activity].count("enquired") == 1
    pushed = [p for p in pushes_to(team.agent1.uid) if p["subject"] == "Your lead enquired again"]
    assert len(pushed) == 1 and "98450" not in str(pushed)
    assert len(leads()) == 1
    with triggers.running():
        assert push(portal, {"name": "Asha R", "phone": "+91 98450-22001"}).body == response.body
    lead = store.get("org1", existing)
    assert lead is not None and len(lead.enquiries) == 1
    assert len([p for p in pushes_to(team.agent1.uid) if p["subject"] == "Your lead enquired again"]) == 1


def test_an_email_only_enquiry_of_a_known_buyer_is_an_enquiry(db: Any) -> None:
    team = make_team()
    existing = create(team.agent1, "98450 22001", emails=["asha@example.com"]).body["id"]
    created = website(team)
    response = push(created, {"name": "Asha", "email": "ASHA@example.com"})
    assert response.body["outcome"] == "enquired-again" and response.body["leadId"] == existing


def test_two_racing_deliveries_of_one_buyer_from_two_sources_give_one_lead_and_one_enquiry(db: Any) -> None:
    team = make_team()
    one = website(team, name="Site")
    two = website(team, kind="magicbricks", source="magicbricks", name="MagicBricks")
    barrier = threading.Barrier(2)
    results: dict[str, Response] = {}

    def deliver(name: str, source: dict[str, Any], payload: dict[str, Any]) -> None:
        barrier.wait()
        results[name] = push(source, payload)

    threads = [
        threading.Thread(target=deliver, args=("one", one, {"name": "Asha", "phone": "9845022001"})),
        threading.Thread(
            target=deliver, args=("two", two, {"name": "Asha Rao", "phone": "+919845022001", "email": "a@example.com"})
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = sorted(r.body["outcome"] for r in results.values())
    assert outcomes == ["created", "enquired-again"], [r.body for r in results.values()]
    (lead,) = leads()
    assert {r.body["leadId"] for r in results.values()} == {lead["id"]}
    assert len(lead.get("enquiries", [])) == 1


def test_rejected_without_phone_or_email_then_retried_after_the_field_map_is_fixed(db: Any) -> None:
    team = make_team()
    created = website(team)
    payload = {"full_name": "Asha", "mobile_no": "98450 22001"}
    response = push(created, payload)
    assert (
        response.status == 200
        and response.body["outcome"] == "rejected"
        and "leadId" not in {k for k, v in response.body.items() if v}
    )
    listed = call("GET", "/leads/captures?outcome=rejected", token=team.admin.token())
    assert listed.status == 200 and len(listed.body["items"]) == 1
    capture = listed.body["items"][0]
    assert capture["reason"].startswith("no valid phone and no email") and capture["raw"] == payload
    assert leads() == []
    fixed = {"full_name": "name", "mobile_no": "primaryPhone"}
    call("PATCH", f"/leads/sources/{created['id']}", token=team.admin.token(), json_body={"fieldMap": fixed})
    retried = call("POST", f"/leads/captures/{capture['id']}/retry", token=team.admin.token())
    assert retried.status == 200 and retried.body["outcome"] == "created" and retried.body["attempts"] == 2
    (lead,) = leads()
    assert lead["id"] == retried.body["leadId"] and lead["name"] == "Asha"
    again = call("POST", f"/leads/captures/{capture['id']}/retry", token=team.admin.token())
    assert again.status == 409 and len(leads()) == 1
    assert call("POST", "/leads/captures/nope/retry", token=team.admin.token()).status == 404


def test_an_invalid_phone_and_email_are_rejected_with_the_reasons(db: Any) -> None:
    team = make_team()
    created = website(team)
    response = push(created, {"name": "X", "phone": "12345", "email": "not-an-email"})
    assert response.body["outcome"] == "rejected"
    (capture,) = captures()
    assert "primaryPhone is not a valid phone number" in capture["reason"] and "email" in capture["reason"]


def test_a_capture_left_pending_by_a_crash_is_completed_by_the_redelivery_without_a_duplicate(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leads.capture import pipeline

    team = make_team()
    created = website(team)
    real_finish = pipeline.finish

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("instance died")

    monkeypatch.setattr(pipeline, "finish", crash)
    assert push(created, BUYER).status == 500
    (capture,) = captures()
    assert capture["outcome"] == "pending" and len(leads()) == 1
    monkeypatch.setattr(pipeline, "finish", real_finish)
    again = push(created, BUYER)
    assert again.status == 200 and again.body["outcome"] == "created" and again.body["leadId"] == leads()[0]["id"]
    assert len(leads()) == 1 and len(list(store.child("org1", leads()[0]["id"], "notes").stream())) == 1


# ---- Google --------------------------------------------------------------------------------------------------


def google_payload(key: str, **extra: Any) -> dict[str, Any]:
    """A Google Ads lead form webhook body as Google sends it."""
    return {
        "lead_id": "TeSter-123-ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz-0123456789",
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "Vikram Shah", "column_id": "FULL_NAME"},
            {"column_name": "User Phone", "string_value": "+919845022002", "column_id": "PHONE_NUMBER"},
            {"column_name": "User Email", "string_value": "Vikram@Example.com", "column_id": "EMAIL"},
            {"column_name": "City", "string_value": "Mumbai", "column_id": "CITY"},
            {"column_name": "Preferred configuration", "string_value": "3 BHK", "column_id": "UNKNOWN_QUESTION"},
        ],
        "api_version": "1.0",
        "form_id": 40000000000,
        "campaign_id": 12345678901,
        "google_key": key,
        "is_test": True,
        "gcl_id": "gclid-1",
        "adgroup_id": 20000000000,
        "creative_id": 30000000000,
        **extra,
    }


def test_google_lead_form_creates_a_test_tagged_lead_with_its_campaign_and_stores_no_key(db: Any) -> None:
    team = make_team()
    source = new_source(team.admin, kind="google", source="google", name="Google ads").body
    assert source["endpointUrl"].endswith(f"/webhooks/google/{source['id']}")
    path = f"/webhooks/google/{source['id']}"
    assert call("POST", path, json_body=google_payload("wrong")).status == 401
    assert (
        call("POST", path, json_body={k: v for k, v in google_payload("x").items() if k != "google_key"}).status == 401
    )
    assert captures() == []
    response = call("POST", path, json_body=google_payload(source["key"]))
    assert response.status == 200 and response.body["outcome"] == "created", response.body
    lead = store.get("org1", response.body["leadId"])
    assert lead is not None and lead.name == "Vikram Shah" and lead.tags == ("test",)
    assert lead.emails == ("vikram@example.com",) and (lead.location or {}).get("city") == "Mumbai"
    assert lead.campaign == {"id": "12345678901", "adId": "20000000000", "formId": "40000000000"}
    (capture,) = captures()
    assert source["key"] not in str(capture) and "google_key" not in capture["raw"]
    notes = [s.to_dict()["text"] for s in store.child("org1", lead.id, "notes").stream()]
    assert notes == ["Preferred configuration: 3 BHK"]
    again = call("POST", path, json_body=google_payload(source["key"], gcl_id="other"))
    assert again.body == response.body and len(leads()) == 1  # same lead_id: one capture


def test_a_real_google_lead_is_not_tagged_test(db: Any) -> None:
    team = make_team()
    source = new_source(team.admin, kind="google", source="google").body
    response = call("POST", f"/webhooks/google/{source['id']}", json_body=google_payload(source["key"], is_test=False))
    lead = store.get("org1", response.body["leadId"])
    assert lead is not None and lead.tags == ()


def test_a_source_posts_only_to_its_own_kinds_endpoint(db: Any) -> None:
    team = make_team()
    google = new_source(team.admin, kind="google", source="google").body
    site = website(team)
    assert (
        call(
            "POST", f"/webhooks/capture/{google['id']}", json_body=BUYER, headers={"X-Justo-Key": google["key"]}
        ).status
        == 409
    )
    assert call("POST", f"/webhooks/google/{site['id']}", json_body=google_payload(site["key"])).status == 409
    assert captures() == []


@pytest.mark.parametrize("masks", [True, False])
def test_a_number_the_buyer_types_in_the_message_reaches_the_lead_note_masked_where_the_org_masks(
    db: Any, masks: bool
) -> None:
    team = make_team()
    source = website(team)
    set_settings("org1", phoneMasking=masks)
    message = "Call me on 98450 22009 or +91-98450-22008 after 6 (2BHK)"
    response = push(source, {**BUYER, "message": message})
    assert response.status == 200 and response.body["outcome"] == "created", response.body
    (note,) = [s.to_dict() or {} for s in store.child("org1", response.body["leadId"], "notes").stream()]
    if masks:
        assert "9845022009" not in note["text"].replace(" ", "") and "22008" not in note["text"], note["text"]
        assert "98XXXXXX09" in note["text"] and "(2BHK)" in note["text"]
    else:
        assert note["text"] == message


# ---- listing and masking -------------------------------------------------------------------------------------


def test_managers_list_their_teams_captures_with_numbers_masked_where_the_org_masks(db: Any) -> None:
    team = make_team()
    created = website(team)
    set_settings("org1", phoneMasking=True)
    response = push(created, {**BUYER, "message": "call me on 98450 22001"})
    lead = store.get("org1", response.body["leadId"])
    assert lead is not None
    rejected = push(created, {"name": "Nobody"})
    assert rejected.body["outcome"] == "rejected"
    admin = call("GET", "/leads/captures", token=team.admin.token()).body["items"]
    assert len(admin) == 2 and any(c["raw"].get("phone") == "098450 22001" for c in admin)
    manager_view = call("GET", "/leads/captures", token=team.manager.token())
    assert manager_view.status == 200
    visible = manager_view.body["items"]
    if lead.team_id == "north":
        assert [c["id"] for c in visible] == [response.body["captureId"]]
    else:
        assert visible == []
    assert "22001" not in manager_view.text and "9845022001" not in manager_view.text
    for capture in visible:
        assert capture["raw"]["phone"] == "09XXXXXXX01" and "98XXXXXX01" in capture["raw"]["message"]
    filtered = call("GET", f"/leads/captures?sourceId={created['id']}&outcome=created", token=team.admin.token())
    assert [c["id"] for c in filtered.body["items"]] == [response.body["captureId"]]


def test_erasing_a_lead_erases_the_captures_that_made_it_and_enquired_on_it(db: Any, bucket: Any) -> None:
    team = make_team()
    created = website(team)
    portal = website(team, kind="housing", source="housing")
    lead_id = push(created, BUYER).body["leadId"]
    assert push(portal, {"name": "Asha", "phone": BUYER["phone"]}).body["outcome"] == "enquired-again"
    kept = push(created, {"name": "Someone else", "phone": "98450 22999"}).body["leadId"]
    erased = call("DELETE", f"/privacy/leads/{lead_id}", token=team.admin.token())
    assert erased.status in (200, 204), erased.body
    assert [c["leadId"] for c in captures()] == [kept]


def test_no_document_holds_a_source_key_in_clear(db: Any) -> None:
    from core import clients

    team = make_team()
    created = call(
        "POST",
        "/leads/sources",
        token=team.admin.token(),
        json_body={"kind": "website", "name": "Site", "source": "website"},
        headers={"Idempotency-Key": "create-site-1"},
    ).body
    rotated = call("POST", f"/leads/sources/{created['id']}/rotate-key", token=team.admin.token()).body

    def walk(collection: Any) -> list[str]:
        found = []
        for ref in collection.list_documents():
            snapshot = ref.get()
            text = str(snapshot.to_dict()) if snapshot.exists else ""
            found += [ref.path for key in (created["key"], rotated["key"]) if key in text]
            for sub in ref.collections():
                found += walk(sub)
        return found

    assert [path for top in clients.db().collections() for path in walk(top)] == []


def test_a_redelivery_racing_the_first_delivery_is_one_capture_and_one_lead(db: Any) -> None:
    team = make_team()
    created = website(team)
    barrier = threading.Barrier(2)
    answers: list[Response] = []

    def deliver() -> None:
        barrier.wait()
        answers.append(push(created, BUYER))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status for a in answers] == [200, 200], [a.body for a in answers]
    assert {a.body["outcome"] for a in answers} == {"created"} and len({a.body["leadId"] for a in answers}) == 1
    assert len(captures()) == 1 and len(leads()) == 1


@pytest.mark.parametrize("payload_field", ["", "__name__", "a.b", "`x`", "a" * 201, "é.ü", "x/y"])
def test_any_payload_field_name_in_a_field_map_is_stored_and_read_back_or_refused_by_name(
    db: Any, payload_field: str
) -> None:
    team = make_team()
    response = new_source(team.admin, fieldMap={payload_field: "name", "phone": "primaryPhone"})
    assert response.status in (201, 400), response.body
    if response.status == 400:
        assert any(key.startswith("fieldMap") for key in response.error["fields"]), response.error
        return
    listed = call("GET", "/leads/sources", token=team.admin.token())
    assert listed.status == 200 and listed.body["items"][0]["fieldMap"][payload_field] == "name"
    assert push(response.body, {payload_field: "Odd Name", "phone": "9845022001"}).body["outcome"] == "created"
