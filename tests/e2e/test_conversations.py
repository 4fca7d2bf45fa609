"""End to end on the Emulator Suite (issue 16's done-when): a buyer's WhatsApp message lands in its conversation
and pushes the agent, the agent replies inside the window (a lead that never wrote is refused), a photo comes
through the dev Graph stub into Cloud Storage as the lead's attachment, and STOP is honoured with one
confirmation."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from core.caller import SYSTEM
from devtools import stack
from tests.support.polling import wait_for
from webhooks.signatures import hub_signature

pytestmark = pytest.mark.e2e

AGENT = "agent1@demo.example.com"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
BUYER = "919700033333"


def _lead(number: str, name: str) -> str:
    from leads.models import LeadCreate
    from leads.service import create_lead

    data = LeadCreate.model_validate(
        {"name": name, "primaryPhone": {"countryCode": "+91", "number": number}, "assigneeId": "demo-agent1"}
    )
    return str(create_lead(org_id="demo", actor=SYSTEM, data=data).id)


def _inbound(suite: str, wamid: str, **content: Any) -> httpx.Response:
    message = {"from": BUYER, "id": wamid, "timestamp": str(int(time.time())), **content}
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "local-demo"}, "messages": [message]}
    raw = json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"value": value}]}]}
    ).encode()
    headers = {"X-Hub-Signature-256": hub_signature("local-whatsapp-secret", raw), "Content-Type": "application/json"}
    return httpx.post(f"{suite}/webhooks/whatsapp", content=raw, headers=headers, timeout=60)


def _outbox(suite: str, to: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{suite}/dev/outbox", params={"to": to}, timeout=30).json()["items"])


def test_inbound_reply_media_and_stop_through_the_emulator_suite(suite: str) -> None:
    auth = {"Authorization": f"Bearer {stack.login(suite, AGENT)}"}
    lead_id = _lead("97000 33333", "E2E Chat Buyer")
    silent = _lead("97000 44444", "E2E Silent Buyer")

    assert _inbound(suite, "wamid.E2E1", type="text", text={"body": "Is the 2BHK available?"}).status_code == 200
    listed = httpx.get(f"{suite}/comms/conversations", params={"leadId": lead_id}, headers=auth, timeout=30).json()
    (conversation,) = listed["items"]
    assert conversation["unreadCount"] == 1 and conversation["lastDirection"] == "inbound"
    assert conversation["windowOpenUntil"] is not None
    pushes = [p for p in _outbox(suite, "demo-agent1") if (p.get("data") or {}).get("leadId") == lead_id]
    assert any(p["text"] == "Is the 2BHK available?" and p["data"]["kind"] == "whatsapp-message" for p in pushes)

    reply = {"leadId": lead_id, "text": "Yes, shall I book a visit?"}
    sent = httpx.post(f"{suite}/comms/whatsapp/reply", json=reply, headers=auth, timeout=30)
    assert sent.status_code == 201 and sent.json()["status"] == "sent", sent.text
    assert any(m["channel"] == "whatsapp" and m["text"] == reply["text"] for m in _outbox(suite, "+" + BUYER))
    refused = httpx.post(
        f"{suite}/comms/whatsapp/reply", json={"leadId": silent, "text": "Hi"}, headers=auth, timeout=30
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "FAILED_PRECONDITION"

    registered = {"id": "e2e-media-1", "mimeType": "image/png", "data": base64.b64encode(PNG).decode()}
    assert httpx.post(f"{suite}/dev/meta/media", json=registered, timeout=30).status_code == 201
    photo = {"type": "image", "image": {"id": "e2e-media-1", "mime_type": "image/png", "caption": "This one"}}
    assert _inbound(suite, "wamid.E2E2", **photo).status_code == 200
    thread = httpx.get(f"{suite}/comms/conversations/{conversation['id']}/messages", headers=auth, timeout=30).json()[
        "items"
    ]
    (image,) = [m for m in thread if m.get("kind") == "image"]
    assert image["media"]["status"] == "ready", image
    attachment = httpx.get(f"{suite}/attachments/{image['media']['attachmentId']}", headers=auth, timeout=30).json()
    assert httpx.get(attachment["downloadUrl"], timeout=30).content == PNG

    for _ in range(2):  # Meta redelivers: one opt-out, one confirmation
        assert _inbound(suite, "wamid.E2E3", type="text", text={"body": "stop"}).status_code == 200
    lead = httpx.get(f"{suite}/leads/{lead_id}", headers=auth, timeout=30).json()
    assert "whatsapp" in lead["doNotContact"]
    confirmations = wait_for(
        lambda: [m for m in _outbox(suite, "+" + BUYER) if "START" in (m.get("text") or "")] or None
    )
    assert len(confirmations) == 1
    after_stop = httpx.post(f"{suite}/comms/whatsapp/reply", json=reply, headers=auth, timeout=30)
    assert after_stop.status_code == 409
