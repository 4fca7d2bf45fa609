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
