"""GET /privacy/leads/{id}/export: the lead's full record as one machine-readable document."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from core import audit, clients, tenancy
from devtools.inproc import call
from tests.privacy.world import EMAIL, LEAD_ID, NAME, PDF, PHONE, populate
from tests.support.factory import make_org

pytestmark = pytest.mark.http


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def test_export_of_a_fully_populated_lead_holds_every_item_and_round_trips(db: Any, bucket: Any) -> None:
    world = populate(bucket)

    response = call("GET", f"/privacy/leads/{LEAD_ID}/export", token=world.admin.token())

    assert response.status == 200, response.body
    body = response.body
    assert json.loads(json.dumps(body)) == body and json.loads(response.text) == body
    assert body["format"] == "justo-lead-export/1" and body["leadId"] == LEAD_ID and body["orgId"] == "org1"
    assert body["lead"]["name"] == NAME and body["lead"]["primaryPhone"]["e164"] == PHONE
    assert body["contact"]["emails"] == [EMAIL] and body["contact"]["id"] == "contact"
    assert body["consent"]["source"] == "website"
    assert body["consent"]["purpose"] == "Site visit and price list for Skyline Towers"
    assert body["consent"]["doNotContact"] == ["sms"]
    assert body["consent"]["optIns"][0]["channel"] == "whatsapp" and body["consent"]["optIns"][0]["by"] == "org1-admin"
    assert _ids(body["notes"]) == ["n1", "n2"] and PHONE in body["notes"][0]["text"]
    assert _ids(body["activity"]) == ["a1", "a2"]
    assert body["activity"][1]["changes"]["alternatePhone"]["after"] == "+919812345678"
    assert _ids(body["tasks"]) == ["t1"]
    assert _ids(body["visits"]) == ["v1"]
    assert body["visits"][0]["checkin"]["withinRadius"] is True
    assert _ids(body["visits"][0]["checkins"]) == ["c1"]
    assert _ids(body["calls"]) == ["call1"] and body["calls"][0]["outcome"] == "interested"
    assert sorted(_ids(body["messages"])) == ["m1", "m2"]
    whatsapp = next(m for m in body["messages"] if m["id"] == "m1")
    assert [s["status"] for s in whatsapp["statusHistory"]] == ["queued", "sent", "delivered", "read"]
    assert sorted(_ids(body["attachments"])) == ["att1", "att2"]
    pdf = next(a for a in body["attachments"] if a["id"] == "att1")
    with urllib.request.urlopen(pdf["downloadUrl"], timeout=10) as download:
        assert download.read() == PDF
    assert pdf["downloadUrlExpiresAt"] > body["exportedAt"]
    assert _ids(body["other"]["archivedLeads"]) == [LEAD_ID]
    assert _ids(body["other"]["leads"]) == ["lead_dup1"]
    assert "leadKeys" not in body["other"]
    assert body["people"][world.agent.uid] == {"name": "Neha Agent", "formerMember": False}
    assert body["people"][world.manager.uid]["name"] == "Mohan Manager"


def test_export_is_audited_without_personal_data(db: Any, bucket: Any) -> None:
    world = populate(bucket)
    assert call("GET", f"/privacy/leads/{LEAD_ID}/export", token=world.admin.token()).status == 200
    entries = audit.entries_ref("org1").where(filter=clients.where("action", "==", "privacy.lead.exported")).get()
    assert len(entries) == 1
    entry = entries[0].to_dict()
    assert entry["actorId"] == world.admin.uid and entry["targetId"] == LEAD_ID and entry["details"] == {}
    assert NAME not in json.dumps(entry, default=str) and PHONE not in json.dumps(entry, default=str)


def test_export_shows_current_values_after_a_correction(db: Any, bucket: Any) -> None:
    world = populate(bucket)
    tenancy.org_ref("org1").collection("leads").document(LEAD_ID).update({"name": "Asha V. Rao"})
    body = call("GET", f"/privacy/leads/{LEAD_ID}/export", token=world.admin.token()).body
    assert body["lead"]["name"] == "Asha V. Rao"


def test_export_is_for_admins_of_the_lead_organization(db: Any, bucket: Any) -> None:
    world = populate(bucket)
    other_admin = make_org("org2")
    assert call("GET", f"/privacy/leads/{LEAD_ID}/export", token=world.agent.token()).status == 403
    assert call("GET", f"/privacy/leads/{LEAD_ID}/export", token=other_admin.token()).status == 404
    assert call("GET", "/privacy/leads/missing/export", token=world.admin.token()).status == 404
    assert call("GET", f"/privacy/leads/{LEAD_ID}/export").status == 401
