"""Meta Lead Ads through the real `webhooks` handler: the handshake, signed `leadgen` deliveries (batched: 2
entries x 2 changes) read from a Graph API stub with each page's token, forged signatures, redeliveries and
Graph failures, and the page token that is never shown."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from core import tenancy
from devtools.inproc import Response, call
from leads import store
from leads.capture import providers
from tests.comms import stub as stub_module
from tests.comms.stub import Scripted, Stub
from tests.support.leads import Team, make_team
from webhooks.signatures import hub_signature

pytestmark = pytest.mark.http

APP_SECRET = "local-whatsapp-secret"  # the development Meta app secret (API.md "Local settings")
TOKENS = {"page-1": "token-of-page-1", "page-2": "token-of-page-2"}


@pytest.fixture
def graph() -> Iterator[Stub]:
    """A Graph API stub the Meta client reads leads from."""
    running, server = stub_module.start()
    providers.install(
        meta=providers.MetaGraphClient(api_base=running.base + "/v21.0", app_secret=APP_SECRET, backoff_sec=0)
    )
    yield running
    providers.install()
    server.shutdown()
    server.server_close()


def meta_source(team: Team, page_id: str, **config: Any) -> dict[str, Any]:
    """A meta source of a page, with its token."""
    body = {
        "kind": "meta",
        "name": f"Facebook {page_id}",
        "source": "facebook",
        "config": {"pageId": page_id, "pageAccessToken": TOKENS.get(page_id, "a-token"), **config},
    }
    response = call("POST", "/leads/sources", token=team.admin.token(), json_body=body)
    assert response.status == 201, response.body
    return dict(response.body)


def change(leadgen_id: str, page_id: str, form_id: str = "444") -> dict[str, Any]:
    """One leadgen change as Meta sends it."""
    value = {
        "leadgen_id": leadgen_id,
        "page_id": page_id,
        "form_id": form_id,
        "adgroup_id": "2385000000001",
        "ad_id": "2385000000002",
        "created_time": 1764580000,
    }
    return {"field": "leadgen", "value": value}


def delivery(*entries: tuple[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A page webhook delivery: (page id, changes) per entry."""
    return {"object": "page", "entry": [{"id": page, "time": 1764580001, "changes": c} for page, c in entries]}


def graph_lead(leadgen_id: str, phone: str, name: str = "Asha Rao", **extra: Any) -> dict[str, Any]:
    """The Graph API's answer for a lead."""
    return {
        "id": leadgen_id,
        "created_time": "2026-12-01T08:49:14+0000",
        "ad_id": "2385000000002",
        "form_id": "444",
        "campaign_id": "2385000000000",
        "campaign_name": "Skyline launch",
        "field_data": [
            {"name": "full_name", "values": [name]},
            {"name": "phone_number", "values": [phone]},
            {"name": "city", "values": ["Pune"]},
            {"name": "when_do_you_plan_to_buy?", "values": ["3 months"]},
        ],
        **extra,
    }


def post(payload: Any, *, secret: str | None = APP_SECRET, raw: bytes | None = None) -> Response:
    """POST /webhooks/meta, signed as Meta signs it (secret None: unsigned)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"X-Hub-Signature-256": hub_signature(secret, body)} if secret is not None else {}
    return call("POST", "/webhooks/meta", data=body, content_type="application/json", headers=headers)


def stored(org_id: str = "org1") -> dict[str, Any]:
    """Every capture and lead of the organization (what a redelivery must not change)."""
    org = tenancy.org_ref(org_id)
    return {
        "captures": {s.id: s.to_dict() for s in org.collection("captures").stream()},
        "leads": {s.id: s.to_dict() for s in store.collection(org_id).stream()},
    }


def graph_reads(graph: Stub) -> list[tuple[str, str]]:
    """(path, page token) of each Graph API request; the proof must be the token's."""
    reads = []
    for request in graph.requests:
        parts = urlsplit(request.path)
        token = request.headers["Authorization"].removeprefix("Bearer ")
        assert parse_qs(parts.query)["appsecret_proof"] == [providers.appsecret_proof(APP_SECRET, token)]
        reads.append((parts.path, token))
    return reads


def test_the_handshake_echoes_the_challenge_only_for_the_verify_token(db: Any) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "local-verify-token", "hub.challenge": "1158201444"}
    answered = call("GET", "/webhooks/meta?" + urlencode(query))
    assert (answered.status, answered.text) == (200, "1158201444")
    for wrong in ({"hub.verify_token": "guess"}, {"hub.mode": "unsubscribe"}, {"hub.verify_token": ""}):
        assert call("GET", "/webhooks/meta?" + urlencode({**query, **wrong})).status == 403


def test_a_batched_delivery_captures_each_change_with_its_pages_token(db: Any, graph: Stub) -> None:
    team = make_team()
    first, second = meta_source(team, "page-1"), meta_source(team, "page-2")
    graph.reply(
        Scripted(200, graph_lead("L1", "+919845022001", "Asha Rao")),
        Scripted(200, graph_lead("L2", "+919845022002", "Ravi Kumar")),
        Scripted(200, graph_lead("L3", "+919845022003", "Meena Iyer")),
        Scripted(200, graph_lead("L4", "+919845022004", "Kiran Shah")),
    )
    payload = delivery(
        ("page-1", [change("L1", "page-1"), change("L2", "page-1")]),
        ("page-2", [change("L3", "page-2"), change("L4", "page-2")]),
    )
    response = post(payload)
    assert response.status == 200, response.text
    assert response.body == {"received": {"captured": 4, "ignored": 0}}
    assert graph_reads(graph) == [
        ("/v21.0/L1", "token-of-page-1"),
        ("/v21.0/L2", "token-of-page-1"),
        ("/v21.0/L3", "token-of-page-2"),
        ("/v21.0/L4", "token-of-page-2"),
    ]
    after = stored()
    by_name = {lead["name"]: lead for lead in after["leads"].values()}
    assert sorted(by_name) == ["Asha Rao", "Kiran Shah", "Meena Iyer", "Ravi Kumar"]
    asha = by_name["Asha Rao"]
    assert asha["source"] == "facebook" and asha["sourceId"] == first["id"] and asha["firstSource"] == "facebook"
    assert asha["campaign"] == {
        "id": "2385000000000",
        "name": "Skyline launch",
        "adId": "2385000000002",
        "formId": "444",
    }
    assert by_name["Meena Iyer"]["sourceId"] == second["id"]
    assert {c["outcome"] for c in after["captures"].values()} == {"created"}
    assert {c["providerId"] for c in after["captures"].values()} == {"L1", "L2", "L3", "L4"}
    raw = json.loads(next(c for c in after["captures"].values() if c["providerId"] == "L1")["raw"])
    assert raw["webhook"]["leadgen_id"] == "L1" and raw["lead"]["field_data"][0]["values"] == ["Asha Rao"]
    note = [n.to_dict() for n in store.child("org1", asha_id(after, "Asha Rao"), "notes").stream()]
    assert [n["text"] for n in note] == ["when do you plan to buy?: 3 months"]

    again = post(payload)  # Meta redelivers the whole batch
    assert again.status == 200 and again.body == response.body
    assert len(graph.requests) == 4, "a redelivery reads nothing again"
    assert stored() == after


def asha_id(snapshot: dict[str, Any], name: str) -> str:
    return next(lead_id for lead_id, lead in snapshot["leads"].items() if lead["name"] == name)


@pytest.mark.parametrize(
    "signature",
    [None, "sha256=" + "0" * 64, hub_signature("not-the-app-secret", b"x"), "sha1=abc", "", "sha256="],
)
def test_a_forged_or_missing_signature_is_401_and_changes_nothing(db: Any, graph: Stub, signature: str | None) -> None:
    team = make_team()
    meta_source(team, "page-1")
    body = json.dumps(delivery(("page-1", [change("L1", "page-1")]))).encode()
    headers = {"X-Hub-Signature-256": signature} if signature is not None else {}
    before = stored()
    response = call("POST", "/webhooks/meta", data=body, content_type="application/json", headers=headers)
    assert response.status == 401 and response.error["code"] == "UNAUTHENTICATED"
    assert graph.requests == [] and stored() == before


def test_a_body_changed_after_signing_is_refused(db: Any, graph: Stub) -> None:
    team = make_team()
    meta_source(team, "page-1")
    signed = json.dumps(delivery(("page-1", [change("L1", "page-1")]))).encode()
    tampered = signed.replace(b"L1", b"L9")
    headers = {"X-Hub-Signature-256": hub_signature(APP_SECRET, signed)}
    response = call("POST", "/webhooks/meta", data=tampered, content_type="application/json", headers=headers)
    assert response.status == 401 and graph.requests == [] and stored()["captures"] == {}


def test_a_graph_failure_answers_503_after_capturing_the_rest_and_meta_redelivers(
    db: Any, graph: Stub, caplog: pytest.LogCaptureFixture
) -> None:
    team = make_team()
    meta_source(team, "page-1")
    expired = {"error": {"message": "Error validating access token: Session has expired", "code": 190}}
    graph.reply(Scripted(200, graph_lead("L1", "+919845022001")), Scripted(400, expired))
    payload = delivery(("page-1", [change("L1", "page-1"), change("L2", "page-1")]))
    with caplog.at_level(logging.DEBUG):
        response = post(payload)
    assert response.status == 503 and response.error["code"] == "UNAVAILABLE"
    assert "token-of-page-1" not in response.text and "token-of-page-1" not in caplog.text
    assert [c["providerId"] for c in stored()["captures"].values()] == ["L1"]
    graph.reply(Scripted(200, graph_lead("L2", "+919845022002", "Ravi Kumar")))
    again = post(payload)
    assert again.status == 200 and again.body == {"received": {"captured": 2, "ignored": 0}}
    assert graph_reads(graph)[2:] == [("/v21.0/L2", "token-of-page-1")], "L1 is not read again"
    assert sorted(lead["name"] for lead in stored()["leads"].values()) == ["Asha Rao", "Ravi Kumar"]


def test_unknown_pages_other_forms_and_switched_off_sources_are_ignored(db: Any, graph: Stub) -> None:
    team = make_team()
    meta_source(team, "page-1", formIds=["444"])
    off = meta_source(team, "page-2")
    call("PATCH", f"/leads/sources/{off['id']}", token=team.admin.token(), json_body={"active": False})
    payload = delivery(
        ("page-1", [change("L1", "page-1", form_id="555")]),
        ("page-2", [change("L2", "page-2")]),
        ("page-9", [change("L3", "page-9")]),
        ("page-1", [{"field": "feed", "value": {"item": "post"}}]),
    )
    response = post(payload)
    assert response.status == 200 and response.body == {"received": {"captured": 0, "ignored": 3}}
    assert graph.requests == [] and stored()["captures"] == {}


def test_a_repeat_buyer_from_meta_is_an_enquiry_on_the_existing_lead(db: Any, graph: Stub) -> None:
    team = make_team()
    meta_source(team, "page-1")
    graph.reply(Scripted(200, graph_lead("L1", "+919845022001")), Scripted(200, graph_lead("L2", "+91 98450 22001")))
    assert post(delivery(("page-1", [change("L1", "page-1")]))).status == 200
    assert post(delivery(("page-1", [change("L2", "page-1")]))).status == 200
    after = stored()
    assert len(after["leads"]) == 1
    [lead] = after["leads"].values()
    assert len(lead["enquiries"]) == 1
    assert sorted(c["outcome"] for c in after["captures"].values()) == ["created", "enquired-again"]


def test_the_page_token_is_write_only_and_kept_when_a_change_omits_it(db: Any, graph: Stub) -> None:
    team = make_team()
    created = meta_source(team, "page-1")
    path = f"/leads/sources/{created['id']}"
    assert created["config"]["pageAccessTokenSet"] is True and "token-of-page-1" not in json.dumps(created)
    changed = call(
        "PATCH", path, token=team.admin.token(), json_body={"config": {"pageId": "page-1", "formIds": ["444"]}}
    )
    assert changed.status == 200 and "token-of-page-1" not in changed.text
    assert changed.body["config"]["pageAccessTokenSet"] is True
    listed = call("GET", "/leads/sources", token=team.admin.token())
    assert "token-of-page-1" not in listed.text
    graph.reply(Scripted(200, graph_lead("L1", "+919845022001")))
    assert post(delivery(("page-1", [change("L1", "page-1")]))).status == 200
    assert graph_reads(graph) == [("/v21.0/L1", "token-of-page-1")]
