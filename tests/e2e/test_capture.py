"""End to end on the Emulator Suite, as the README's walkthrough does it: a website enquiry with the seeded
source's key, and a Meta lead registered with the local Graph API stub then delivered as Meta's signed
`leadgen` notification, read over HTTP by the webhooks function from the dev function."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from webhooks.signatures import hub_signature

pytestmark = pytest.mark.e2e


def _leads_named(name: str) -> list[dict[str, Any]]:
    from core import clients
    from leads import store

    query = store.collection("demo").where(filter=clients.where("name", "==", name))
    return [s.to_dict() or {} for s in query.stream()]


def test_a_website_enquiry_becomes_a_lead(suite: str) -> None:
    name = "E2E Website " + uuid.uuid4().hex[:6]
    body = {"name": name, "phone": "9845" + str(uuid.uuid4().int % 10**6).zfill(6), "city": "Pune"}
    answer = httpx.post(
        f"{suite}/webhooks/capture/demo-website", json=body, headers={"X-Justo-Key": "local-website-key"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "created"
    [lead] = _leads_named(name)
    assert lead["sourceId"] == "demo-website"


def test_a_meta_lead_is_read_from_the_graph_stub_and_captured_once(suite: str) -> None:
    leadgen_id = str(uuid.uuid4().int % 10**15)
    name = "E2E Meta " + leadgen_id[-6:]
    field_data = [
        {"name": "full_name", "values": [name]},
        {"name": "phone_number", "values": ["+91 9845" + leadgen_id[-6:]]},
    ]
    registered = httpx.post(f"{suite}/dev/meta/leads", json={"id": leadgen_id, "field_data": field_data}, timeout=30)
    assert registered.status_code == 201, registered.text
    value = {"leadgen_id": leadgen_id, "page_id": "local-page", "form_id": "local-form", "created_time": 1764580000}
    raw = json.dumps(
        {"object": "page", "entry": [{"id": "local-page", "changes": [{"field": "leadgen", "value": value}]}]}
    )
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": hub_signature("local-whatsapp-secret", raw.encode()),
    }
    for _ in range(2):  # a redelivery changes nothing
        answer = httpx.post(f"{suite}/webhooks/meta", content=raw, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"received": {"captured": 1, "ignored": 0}}
    [lead] = _leads_named(name)
    assert lead["sourceId"] == "demo-meta" and lead["source"] == "facebook"
    forged = {**headers, "X-Hub-Signature-256": hub_signature("not-the-secret", raw.encode())}
    assert httpx.post(f"{suite}/webhooks/meta", content=raw, headers=forged, timeout=30).status_code == 401


def test_capturepull_pulls_the_dev_stubs_99acres_enquiries_into_leads_then_a_repeat(suite: str) -> None:
    from devtools.inproc import id_token

    tag = uuid.uuid4().hex[:6]
    admin = {"Authorization": "Bearer " + id_token("demo-admin", {"orgId": "demo", "role": "admin"})}
    username = f"e2e-99acres-{tag}"
    config = {"username": username, "password": "local-99acres-password"}
    body = {"kind": "99acres", "name": f"99acres {tag}", "source": "99acres", "config": config}
    created = httpx.post(f"{suite}/leads/sources", json=body, headers=admin, timeout=30)
    assert created.status_code == 201, created.text
    phone = "98" + str(uuid.uuid4().int % 10**8).zfill(8)
    names = [f"E2E 99acres {tag} {n}" for n in (1, 2)]
    enquiries = [
        {"queryId": f"{tag}-1", "name": names[0], "phone": phone, "message": "2BHK?"},
        {"queryId": f"{tag}-2", "name": names[1], "email": f"{tag}@example.com"},
    ]
    registered = httpx.post(
        f"{suite}/dev/99acres/enquiries", json={"username": username, "enquiries": enquiries}, timeout=30
    )
    assert registered.status_code == 201, registered.text

    def capturepull() -> None:
        fired = httpx.post(f"{suite}/capturepull-0", content=b"{}", timeout=300)
        assert fired.status_code in (200, 204), fired.text

    capturepull()
    [first] = _leads_named(names[0])
    [second] = _leads_named(names[1])
    assert first["sourceId"] == second["sourceId"] == created.json()["id"] and first["source"] == "99acres"
    repeat = {"queryId": f"{tag}-3", "name": f"{names[0]} again", "phone": "+91 " + phone}
    again = httpx.post(f"{suite}/dev/99acres/enquiries", json={"username": username, "enquiries": [repeat]}, timeout=30)
    assert again.status_code == 201, again.text
    capturepull()
    [enquired] = _leads_named(names[0])
    assert [e["source"] for e in enquired.get("enquiries", [])] == ["99acres"]
    assert _leads_named(f"{names[0]} again") == [] and len(_leads_named(names[1])) == 1
