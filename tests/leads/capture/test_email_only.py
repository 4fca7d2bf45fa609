"""Buyers who leave only an email (API.md: only a payload with no valid phone and no email is rejected): the
capture makes a lead without a phone, deduplicated by its email key; every reader of a lead's phone copes."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from devtools.inproc import call
from leads import store
from tests.leads.capture.test_api import captures, leads, push, website
from tests.support.leads import create, make_team, set_settings

pytestmark = pytest.mark.http

EMAIL_ONLY = {"name": "Meera Iyer", "email": "Meera.Iyer@Example.com", "city": "Chennai", "message": "2BHK?"}


def test_an_email_only_buyer_becomes_a_phoneless_lead_and_a_repeat_by_email_an_enquiry(db: Any) -> None:
    team = make_team()
    site = website(team)
    first = push(site, EMAIL_ONLY)
    assert first.status == 200 and first.body["outcome"] == "created", first.body
    lead_id = first.body["leadId"]
    lead = store.get("org1", lead_id)
    assert lead is not None and lead.primary_phone is None and lead.alternate_phone is None
    assert lead.emails == ("meera.iyer@example.com",) and lead.source_id == site["id"]
    assert lead.assignee_id in {team.agent1.uid, team.agent2.uid, team.south.uid}
    key = store.key_ref("org1", store.contact_key("email", "meera.iyer@example.com")).get()
    assert key.exists and key.get("leadId") == lead_id
    shown = call("GET", f"/leads/{lead_id}", token=team.admin.token())
    assert shown.status == 200 and shown.body["primaryPhone"] is None and shown.body["emails"] == [lead.emails[0]]
    portal = website(team, kind="housing", source="housing", name="Housing.com")
    again = push(portal, {"name": "Meera", "email": "MEERA.IYER@example.com"})
    assert again.body == {"captureId": again.body["captureId"], "outcome": "enquired-again", "leadId": lead_id}
    assert len(leads()) == 1
    later = store.get("org1", lead_id)
    assert later is not None and [e["sourceId"] for e in later.enquiries] == [portal["id"]]
    assert sorted(c["outcome"] for c in captures()) == ["created", "enquired-again"]
    # and a later buyer with the same email and a phone is that lead too, not a second one
    with_phone = push(site, {"name": "Meera I", "email": "meera.iyer@example.com", "phone": "9845022003"})
    assert with_phone.body["outcome"] == "enquired-again" and with_phone.body["leadId"] == lead_id


def test_post_leads_still_requires_a_primary_phone(db: Any) -> None:
    team = make_team()
    response = call(
        "POST", "/leads", token=team.admin.token(), json_body={"name": "No Phone", "emails": ["np@example.com"]}
    )
    assert response.status == 400 and "primaryPhone" in response.error["fields"], response.body


@pytest.mark.parametrize("masks", [False, True], ids=["unmasked", "masked"])
def test_a_phoneless_lead_is_listed_searched_edited_exported_and_merged(db: Any, masks: bool) -> None:
    team = make_team()
    set_settings("org1", phoneMasking=masks, rolePermissions={"agent": {"leads.export": True}})
    lead_id = push(website(team), EMAIL_ONLY).body["leadId"]
    stored = store.get("org1", lead_id)
    assert stored is not None
    owner = next(p for p in (team.agent1, team.agent2, team.south) if p.uid == stored.assignee_id)
    for person in (team.admin, owner):
        listed = call("GET", "/leads?limit=50", token=person.token())
        assert listed.status == 200 and lead_id in [item["id"] for item in listed.body["items"]]
        found = call("GET", "/leads?q=Meera", token=person.token())
        assert found.status == 200 and [item["id"] for item in found.body["items"]] == [lead_id]
        exported = call("GET", "/leads/export", token=person.token())
        assert exported.status == 200, exported.body
        rows = {row["id"]: row for row in csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))) if "id" in row}
        assert rows[lead_id]["primaryPhone"] == ""
    renamed = call("PATCH", f"/leads/{lead_id}", token=team.admin.token(), json_body={"name": "Meera S Iyer"})
    assert renamed.status == 200 and renamed.body["name"] == "Meera S Iyer" and renamed.body["primaryPhone"] is None
    emptied = call("PATCH", f"/leads/{lead_id}", token=team.admin.token(), json_body={"emails": []})
    assert emptied.status == 400 and "primaryPhone" in emptied.error["fields"], emptied.body
    phoned = call(
        "PATCH", f"/leads/{lead_id}", token=team.admin.token(), json_body={"primaryPhone": {"number": "9845022004"}}
    )
    assert phoned.status == 200 and phoned.body["primaryPhone"]["e164"] == "+919845022004"
    # a phone-less duplicate merged into a lead with a phone, and the other way round
    other = push(website(team, name="Site 2"), {"name": "Meera dup", "email": "meera.other@example.com"}).body
    merged = call(
        "POST", f"/leads/{other['leadId']}/merge", token=team.admin.token(), json_body={"duplicateId": lead_id}
    )
    assert merged.status == 200, merged.body
    assert merged.body["primaryPhone"]["e164"] == "+919845022004"
    assert set(merged.body["emails"]) == {"meera.iyer@example.com", "meera.other@example.com"}
    assert create(team.admin, "98450 22004").status == 409  # the phone key moved to the survivor
