"""End to end on the Emulator Suite: a WhatsApp template goes to the outbox, its delivery comes back through
the signed webhook, the activity trigger writes the lead's history; SendGrid events signed with the development
key move an email and opt its buyer out; a file round-trips through Storage."""

from __future__ import annotations

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
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 16 + b"%%EOF\n"


@pytest.fixture(scope="module")
def auth(suite: str) -> dict[str, str]:
    """The agent's Authorization header (one login: the OTP endpoint is throttled per email)."""
    return {"Authorization": f"Bearer {stack.login(suite, AGENT)}"}


def _lead(phone: str = "97000 12345", email: str | None = None) -> str:
    from leads.models import LeadCreate
    from leads.service import create_lead

    data = LeadCreate.model_validate(
        {
            "name": "E2E Comms Buyer",
            "primaryPhone": {"countryCode": "+91", "number": phone},
            "emails": [email] if email else [],
            "optIns": ["whatsapp"],
            "assigneeId": "demo-agent1",
        }
    )
    return str(create_lead(org_id="demo", actor=SYSTEM, data=data).id)


def _activity(lead_id: str) -> list[dict[str, Any]]:
    from core import tenancy

    ref = tenancy.org_ref("demo").collection("leads").document(lead_id).collection("activity")
    return [s.to_dict() or {} for s in ref.stream()]


def test_whatsapp_and_its_delivery_reach_the_leads_history(suite: str, auth: dict[str, str]) -> None:
    lead_id = _lead()
    body = {"leadId": lead_id, "templateName": "site_visit_reminder", "language": "en", "params": ["11:00"]}
    sent = httpx.post(f"{suite}/comms/whatsapp", json=body, headers=auth, timeout=30)
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "sent"
    outbox = httpx.get(f"{suite}/dev/outbox", params={"to": "+919700012345"}, timeout=30).json()["items"]
    assert outbox[0]["channel"] == "whatsapp" and lead_id in outbox[0]["refs"]
    delivery = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "local-demo"},
                            "statuses": [
                                {
                                    "id": sent.json()["providerMessageId"],
                                    "status": "delivered",
                                    "timestamp": str(int(time.time())),
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    raw = json.dumps(delivery).encode()
    forged = httpx.post(
        f"{suite}/webhooks/whatsapp", content=raw, headers={"X-Hub-Signature-256": "sha256=00"}, timeout=30
    )
    assert forged.status_code == 401
    signed = httpx.post(
        f"{suite}/webhooks/whatsapp",
        content=raw,
        headers={
            "X-Hub-Signature-256": hub_signature("local-whatsapp-secret", raw),
            "Content-Type": "application/json",
        },
        timeout=30,
    )
    assert signed.status_code == 200, signed.text
    message = httpx.get(f"{suite}/comms/messages/{sent.json()['id']}", headers=auth, timeout=30).json()
    assert message["status"] == "delivered"
    entries = wait_for(lambda: [e for e in _activity(lead_id) if "delivered" in e["summary"]] and _activity(lead_id))
    assert {e["type"] for e in entries} >= {"messaged", "message-status"}


def test_sendgrid_events_signed_by_the_development_key_move_an_email_and_opt_the_buyer_out(
    suite: str, auth: dict[str, str]
) -> None:
    from core import tenancy
    from devtools.sendgrid_events import event, signed_headers

    lead_id = _lead(phone="97000 12346", email="e2e.sendgrid@example.com")
    sent = httpx.post(
        f"{suite}/comms/email", json={"leadId": lead_id, "subject": "Brochure", "body": "Hi"}, headers=auth, timeout=30
    )
    assert sent.status_code == 201 and sent.json()["status"] == "sent", sent.text
    message_id = sent.json()["id"]
    batch = [event(message_id, "delivered"), event(message_id, "open"), event(message_id, "spamreport")]
    raw = json.dumps(batch).encode()
    answer = httpx.post(f"{suite}/webhooks/email", content=raw, headers=signed_headers(raw), timeout=30)
    assert answer.status_code == 200 and answer.json() == {"received": {"applied": 3, "duplicate": 0, "skipped": 0}}
    message = httpx.get(f"{suite}/comms/messages/{message_id}", headers=auth, timeout=30).json()
    assert message["status"] == "read"
    lead = tenancy.org_ref("demo").collection("leads").document(lead_id).get().to_dict() or {}
    assert lead["doNotContact"] == ["email"]
    entries = wait_for(lambda: [e for e in _activity(lead_id) if "doNotContact" in (e.get("changes") or {})])
    assert entries[0]["type"] == "updated"


def test_a_file_uploads_and_downloads_through_signed_urls_on_the_storage_emulator(
    suite: str, auth: dict[str, str]
) -> None:
    from leads.models import LeadCreate
    from leads.service import create_lead

    lead_id = str(
        create_lead(
            org_id="demo",
            actor=SYSTEM,
            data=LeadCreate.model_validate(
                {"name": "E2E File Buyer", "primaryPhone": {"number": "97000 54321"}, "assigneeId": "demo-agent1"}
            ),
        ).id
    )
    ticket = httpx.post(
        f"{suite}/attachments",
        json={"leadId": lead_id, "fileName": "plan.pdf", "contentType": "application/pdf", "sizeBytes": len(PDF)},
        headers=auth,
        timeout=30,
    )
    assert ticket.status_code == 201, ticket.text
    put = httpx.put(ticket.json()["uploadUrl"], content=PDF, headers=ticket.json()["uploadHeaders"], timeout=30)
    assert put.status_code == 200, put.text
    done = httpx.post(f"{suite}/attachments/{ticket.json()['id']}/complete", headers=auth, timeout=30)
    assert done.status_code == 200 and done.json()["status"] == "ready", done.text
    shown = httpx.get(f"{suite}/attachments/{ticket.json()['id']}", headers=auth, timeout=30).json()
    assert httpx.get(shown["downloadUrl"], timeout=30).content == PDF
