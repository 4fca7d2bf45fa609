"""Retention by purpose: on a generated organization the preview lists exactly what the sweep then erases, and
the sweep leaves nothing the preview listed (inactive leads archived, old calls' and messages' content gone,
their attachments and recordings deleted, the records kept for counts); restricted leads stay."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from core import audit, clients, clock, tenancy
from devtools.inproc import call
from privacy import providers, purpose
from privacy import settings as privacy_settings
from tests.support.factory import make_org

pytestmark = pytest.mark.http


class Recording:
    """A provider eraser that records what it was asked to delete."""

    def __init__(self) -> None:
        self.asked: list[providers.Copy] = []

    def erase(self, org_id: str, copy: providers.Copy) -> str:
        self.asked.append(copy)
        return "deleted"


def _generate(bucket: Any, seed: int) -> dict[str, set[str]]:
    """Leads, history, calls, messages and attachments of every age; what each period should catch."""
    rng = random.Random(seed)
    now = clock.now()
    org = tenancy.org_ref("org1")
    db = clients.db()
    batch = db.batch()
    expect: dict[str, set[str]] = {"leads": set(), "calls": set(), "messages": set(), "attachments": set()}
    for index in range(40):
        lead_id = f"lead{index:02d}"
        changed = now - timedelta(days=rng.choice([10, 200, 400, 500]))
        history = now - timedelta(days=rng.choice([5, 300, 450]))
        restricted = index % 13 == 0
        batch.set(
            org.collection("leads").document(lead_id),
            {"name": f"Lead {index}", "stage": "new", "archived": False, "restricted": restricted,
             "updatedAt": changed, "createdAt": changed, "version": 1},
        )  # fmt: skip
        batch.set(org.collection("leads").document(lead_id).collection("activity").document("a1"), {"at": history})
        if max(changed, history) < now - timedelta(days=365) and not restricted:
            expect["leads"].add(lead_id)
        age = timedelta(days=rng.choice([20, 100, 200, 300]))
        call_id, message_id, attachment_id = f"call{index:02d}", f"msg{index:02d}", f"att{index:02d}"
        batch.set(
            org.collection("calls").document(call_id),
            {"leadId": lead_id, "notes": "Wants 3BHK, call +91 98765 43210", "durationSec": 60,
             "recordingUrl": f"https://media.plivo.com/v1/Account/MA1/Recording/rec-{index:04d}-abcdef.mp3",
             "createdAt": now - age},
        )  # fmt: skip
        path = f"orgs/org1/attachments/{attachment_id}/brochure.pdf"
        bucket.blob(path).upload_from_string(b"%PDF-1.4", content_type="application/pdf")
        batch.set(org.collection("attachments").document(attachment_id), {"objectPath": path, "leadId": lead_id})
        batch.set(
            org.collection("messages").document(message_id),
            {"leadId": lead_id, "channel": "whatsapp", "text": "Price list attached", "to": "+919876543210",
             "attachmentIds": [attachment_id], "status": "delivered", "createdAt": now - age},
        )  # fmt: skip
        if age > timedelta(days=183):
            expect["calls"].add(call_id)
            expect["messages"].add(message_id)
            expect["attachments"].add(attachment_id)
    batch.commit()
    return expect


def test_the_preview_lists_what_the_sweep_erases_and_the_sweep_leaves_nothing_it_listed(
    db: Any, bucket: Any, clock: Any
) -> None:
    admin = make_org()
    eraser = Recording()
    providers.install(eraser)
    try:
        expect = _generate(bucket, seed=7)
        nothing = call("GET", "/privacy/retention/preview", token=admin.token())
        assert nothing.status == 200 and nothing.body["leads"] == [] and nothing.body["messages"] == []
        privacy_settings.save("org1", {"inactiveLeadMonths": 12, "messageMonths": 6}, by=admin.uid, expected=None)

        listed = call("GET", "/privacy/retention/preview", token=admin.token()).body

        assert {lead["id"] for lead in listed["leads"]} == expect["leads"]
        assert set(listed["calls"]) == expect["calls"] and set(listed["messages"]) == expect["messages"]
        assert set(listed["attachments"]) == expect["attachments"] and listed["truncated"] is False

        counts = purpose.sweep("org1", clock.now())

        org = tenancy.org_ref("org1")
        for lead_id in expect["leads"]:
            assert (org.collection("leads").document(lead_id).get().to_dict() or {})["archived"] is True
        for lead in org.collection("leads").where(filter=clients.where("archived", "==", False)).stream():
            assert lead.id not in expect["leads"]
        for call_id in expect["calls"]:
            stored = org.collection("calls").document(call_id).get().to_dict() or {}
            assert stored["notes"] == "" and stored["recordingUrl"] is None and stored["durationSec"] == 60
        for message_id in expect["messages"]:
            stored = org.collection("messages").document(message_id).get().to_dict() or {}
            assert stored["text"] == "" and stored["to"] is None and stored["status"] == "delivered"
        for attachment_id in expect["attachments"]:
            assert not org.collection("attachments").document(attachment_id).get().exists
            assert not bucket.blob(f"orgs/org1/attachments/{attachment_id}/brochure.pdf").exists()
        kept = [m.to_dict() or {} for m in org.collection("messages").stream()]
        assert len(kept) == 40 and sum(1 for m in kept if m["text"]) == 40 - len(expect["messages"])
        assert len(eraser.asked) == len(expect["calls"])
        assert counts["leadsArchived"] == len(expect["leads"]) and counts["messagesErased"] == len(expect["messages"])
        assert "privacy.retention.swept" in [s.get("action") for s in audit.entries_ref("org1").stream()]

        again = call("GET", "/privacy/retention/preview", token=admin.token()).body
        assert again["leads"] == [] and again["calls"] == [] and again["messages"] == []
        assert purpose.sweep("org1", clock.now())["leadsArchived"] == 0
    finally:
        providers.install(None)
