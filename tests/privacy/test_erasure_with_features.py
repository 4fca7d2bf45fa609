"""Erasure and export of a lead built through the features' real endpoints (leads, notes, tasks, visits,
check-in, calls, WhatsApp and email with statuses, attachments), so erasure reaches what their code stores."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from core import clock
from devtools.inproc import Response, call
from leads import history
from tests.privacy.world import every_document
from tests.support.factory import add_person, make_org

pytestmark = pytest.mark.http

NAME = "Kavya Iyer"
PHONE = "+919845012345"
EMAIL = "kavya.iyer@example.org"
PDF = b"%PDF-1.4 Kavya Iyer booking form +919845012345\n%%EOF\n"


def _ok(response: Response, status: int = 201) -> dict[str, Any]:
    assert response.status == status, response.body
    return dict(response.body)


def _build(bucket: Any) -> dict[str, Any]:
    from comms.seed import seed

    admin = make_org()
    agent = add_person("org1", "agent", "north", name="Neha Agent")
    seed("org1", None)
    token = agent.token()
    project = _ok(
        call("POST", "/projects", token=admin.token(),
             json_body={"name": "Skyline", "city": "Pune", "location": {"lat": 18.559, "lng": 73.786},
                        "checkinRadiusM": 300})
    )  # fmt: skip
    lead = _ok(
        call("POST", "/leads", token=token, headers={"Idempotency-Key": "lead-1"},
             json_body={"name": NAME, "primaryPhone": {"countryCode": "+91", "number": "98450 12345"},
                        "emails": [EMAIL], "optIns": ["whatsapp", "email"], "doNotContact": ["sms"],
                        "purpose": "Price list for Skyline", "projectId": project["id"]})
    )  # fmt: skip
    lead_id = lead["id"]
    _ok(call("POST", f"/leads/{lead_id}/notes", token=token, json_body={"text": f"{NAME} asked about parking"}))
    _ok(call("POST", "/tasks", token=token,
             json_body={"title": f"Send {NAME} the brochure", "leadId": lead_id,
                        "dueAt": clock.rfc3339(clock.now() + timedelta(days=1))}))  # fmt: skip
    visit = _ok(
        call("POST", "/visits", token=token,
             json_body={"leadId": lead_id, "projectId": project["id"],
                        "scheduledAt": clock.rfc3339(clock.now() + timedelta(hours=1)),
                        "notes": f"Bring {NAME}'s file"})
    )  # fmt: skip
    _ok(call("POST", f"/visits/{visit['id']}/checkin", token=token,
             json_body={"lat": 18.5591, "lng": 73.7861, "accuracyM": 15}))  # fmt: skip
    _ok(call("POST", "/comms/calls", token=token,
             json_body={"leadId": lead_id, "direction": "outbound", "kind": "phone",
                        "startedAt": clock.rfc3339(clock.now()), "durationSec": 120, "outcome": "interested",
                        "notes": f"{NAME} will come on Sunday"}))  # fmt: skip
    whatsapp = _ok(
        call("POST", "/comms/whatsapp", token=token,
             json_body={"leadId": lead_id, "templateName": "site_visit_reminder", "params": ["Sunday 11:00"]})
    )  # fmt: skip
    from comms.service import apply_status

    apply_status("org1", whatsapp["id"], "delivered", at=clock.now())
    apply_status("org1", whatsapp["id"], "read", at=clock.now())
    _ok(call("POST", "/comms/email", token=token,
             json_body={"leadId": lead_id, "subject": f"Brochure for {NAME}", "body": "Attached."}))  # fmt: skip
    ticket = _ok(
        call("POST", "/attachments", token=token,
             json_body={"leadId": lead_id, "fileName": "booking.pdf", "contentType": "application/pdf",
                        "sizeBytes": len(PDF)})
    )  # fmt: skip
    upload = httpx.put(ticket["uploadUrl"], content=PDF, headers=ticket["uploadHeaders"], timeout=30)
    assert upload.status_code in (200, 201), upload.text
    _ok(call("POST", f"/attachments/{ticket['id']}/complete", token=token), 200)
    history.record(
        org_id="org1", lead_id=lead_id, event_id="e1", type="updated", actor_id=agent.uid, at=clock.now(),
        summary="Updated emails", changes={"emails": {"before": [], "after": [EMAIL]}},
    )  # fmt: skip
    return {"admin": admin, "agent": agent, "lead": lead_id, "visit": visit["id"], "attachment": ticket["id"]}


def test_a_lead_built_through_every_feature_exports_whole_and_erases_without_a_trace(db: Any, bucket: Any) -> None:
    built = _build(bucket)
    lead_id, admin = built["lead"], built["admin"]
    assert any(True for _ in bucket.list_blobs()), "the attachment reached the bucket"

    export = call("GET", f"/privacy/leads/{lead_id}/export", token=admin.token())
    assert export.status == 200, export.body
    body = export.body
    assert body["lead"]["name"] == NAME and body["consent"]["purpose"] == "Price list for Skyline"
    assert [o["channel"] for o in body["consent"]["optIns"]] == ["whatsapp", "email"]
    assert len(body["notes"]) == 1 and len(body["tasks"]) == 1 and len(body["calls"]) == 1
    assert [v["id"] for v in body["visits"]] == [built["visit"]] and body["visits"][0]["checkin"]
    assert {m["channel"] for m in body["messages"]} == {"whatsapp", "email"}
    whatsapp = next(m for m in body["messages"] if m["channel"] == "whatsapp")
    assert [s["status"] for s in whatsapp["statusHistory"]][-2:] == ["delivered", "read"]
    assert [a["id"] for a in body["attachments"]] == [built["attachment"]]
    assert httpx.get(body["attachments"][0]["downloadUrl"], timeout=30).content == PDF
    assert any(a["changes"] for a in body["activity"])

    assert call("DELETE", f"/privacy/leads/{lead_id}", token=admin.token()).status == 204

    needles = [lead_id, NAME, "Kavya", "Iyer", PHONE, "9845012345", "98450 12345", EMAIL]
    leftovers = []
    for path, data in every_document():
        text = path + json.dumps(data, default=str, ensure_ascii=False)
        found = [needle for needle in needles if needle in text]
        if found:
            leftovers.append((path, found, data.get("action")))
    expected = [([lead_id], "privacy.lead.exported"), ([lead_id], "privacy.lead.erased")]
    assert [(found, action) for _, found, action in leftovers] == expected, leftovers
    assert all(path.startswith("orgs/org1/audit/") for path, _, _ in leftovers)
    assert list(bucket.list_blobs()) == []
