"""CSV import and export, merge of duplicates, and the purge of old archived leads."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest

from core import clock as clock_module
from core import tenancy
from devtools.inproc import call
from leads import store
from privacy import archived as purge
from tests.support.leads import create, leads_of, make_team, set_settings

pytestmark = pytest.mark.http

CSV = """Customer Name,Mobile,Email ID,City,Budget Min,Budget Max,Configuration,Source,Stage
Asha Rao,98765 00001,asha@example.com,Pune,50L,80L,2BHK,website,new
Bad Phone,12345,,,,,,,
Existing Buyer,+91 98765-43210,,,,,,,
Dup In File,9876500001,,,,,,,
No Name,9876500005,,,,,,,
,,,,,,,,
Wrong Stage,9876500006,,,,,,,dreaming
Budget Upside Down,9876500007,,,90L,10L,,,
Good Two,9876500008,,Mumbai,,,3BHK;2BHK,,
Good Three,9876500009,,,,,,,
"""


def test_import_creates_exactly_the_good_rows_and_names_every_bad_one(db: Any) -> None:
    team = make_team()
    existing = create(team.agent1, "9876543210").body["id"]
    text = CSV.replace("No Name,", ",")
    response = call("POST", "/leads/import", token=team.admin.token(), data=text, content_type="text/csv")
    assert response.status == 200, response.body
    body = response.body
    assert body["created"] == 3
    assert sorted(item["row"] for item in body["duplicates"]) == [4, 5]
    by_row = {item["row"]: item["duplicateOf"] for item in body["duplicates"]}
    assert by_row[4] == existing
    asha = next(lead for lead in leads_of() if lead["name"] == "Asha Rao")
    assert by_row[5] == asha["id"]
    assert asha["budget"] == {"min": 5_000_000, "max": 8_000_000, "currency": "INR"} and asha["emails"] == [
        "asha@example.com"
    ]
    errors = {item["row"]: item["field"] for item in body["errors"]}
    assert errors == {3: "primaryPhone.number", 6: "name", 8: "stage", 9: "budget.max"}
    names = sorted(lead["name"] for lead in leads_of())
    assert names == ["Asha Rao", "Good Three", "Good Two", "Ravi Kumar"]
    imported = [lead for lead in leads_of() if lead["name"] != "Ravi Kumar"]
    # one rotation for the file: the three rows go round the three active agents
    assert sorted(lead["assigneeId"] for lead in imported) == sorted([team.agent1.uid, team.agent2.uid, team.south.uid])
    assert all(lead["source"] in {"website", "import"} for lead in imported)


def test_import_needs_the_permission_a_name_and_phone_column_and_csv(db: Any) -> None:
    team = make_team()
    assert call("POST", "/leads/import", token=team.agent1.token(), data=CSV, content_type="text/csv").status == 403
    missing = call("POST", "/leads/import", token=team.admin.token(), data="Name,City\nA,B\n", content_type="text/csv")
    assert missing.status == 400 and "body" in missing.error["fields"]
    assert call("POST", "/leads/import", token=team.admin.token(), json_body={"csv": CSV}).status == 415


def test_import_of_a_manager_rotates_within_its_team_and_retries_create_nothing(db: Any) -> None:
    team = make_team()
    text = "Name,Phone Number\nA One,9000000001\nB Two,9000000002\n"
    headers = {"Idempotency-Key": "file-1"}
    first = call(
        "POST", "/leads/import", token=team.manager.token(), data=text, content_type="text/csv", headers=headers
    )
    again = call(
        "POST", "/leads/import", token=team.manager.token(), data=text, content_type="text/csv", headers=headers
    )
    assert first.body == again.body and first.body["created"] == 2
    assert {lead["assigneeId"] for lead in leads_of()} == {team.agent1.uid, team.agent2.uid}
    repeat = call("POST", "/leads/import", token=team.manager.token(), data=text, content_type="text/csv")
    assert repeat.body["created"] == 0 and len(repeat.body["duplicates"]) == 2 and len(leads_of()) == 2


def test_export_streams_visible_leads_only_and_is_audited(db: Any) -> None:
    team = make_team()
    mine = create(team.agent1, "9000000001", name="Mine").body["id"]
    create(team.south, "9000000002", name="Theirs")
    assert call("GET", "/leads/export", token=team.agent1.token()).status == 403
    set_settings("org1", rolePermissions={"agent": {"leads.export": True}})
    response = call("GET", "/leads/export", token=team.agent1.token())
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(row["id"], row["name"], row["primaryPhone"]) for row in rows] == [(mine, "Mine", "(+91) 90000 00001")]
    admin_rows = list(csv.DictReader(io.StringIO(call("GET", "/leads/export", token=team.admin.token()).text)))
    assert len(admin_rows) == 2
    audit = [s.to_dict() for s in tenancy.org_ref("org1").collection("audit").stream()]
    exports = [entry for entry in audit if entry["action"] == "leads.exported"]
    assert sorted(entry["details"]["count"] for entry in exports) == [1, 2]
    assert "9000000001" not in str(exports)


def test_merge_folds_contact_notes_and_tasks_into_the_lead(db: Any) -> None:
    team = make_team()
    keep = create(team.agent1, "9000000001", emails=["keep@example.com"]).body["id"]
    dup = create(team.agent1, "9000000002", emails=["dup@example.com"], name="Ravi K").body["id"]
    call("POST", f"/leads/{dup}/notes", token=team.agent1.token(), json_body={"text": "from the portal"})
    task = call(
        "POST",
        "/tasks",
        token=team.agent1.token(),
        json_body={"title": "Call", "leadId": dup, "dueAt": "2026-12-01T10:00:00Z"},
    ).body["id"]
    assert call("POST", f"/leads/{keep}/merge", token=team.agent1.token(), json_body={"duplicateId": dup}).status == 403
    merged = call("POST", f"/leads/{keep}/merge", token=team.manager.token(), json_body={"duplicateId": dup})
    assert merged.status == 200, merged.body
    assert merged.body["alternatePhone"]["e164"] == "+919000000002"
    assert merged.body["emails"] == ["keep@example.com", "dup@example.com"]
    assert not tenancy.org_ref("org1").collection("leads").document(dup).get().exists
    notes = call("GET", f"/leads/{keep}/notes", token=team.manager.token()).body["items"]
    assert [note["text"] for note in notes] == ["from the portal"]
    assert tenancy.org_ref("org1").collection("tasks").document(task).get().get("leadId") == keep
    assert create(team.agent2, "9000000002").error["duplicateOf"] == keep
    assert create(team.agent2, "9000000003", emails=["dup@example.com"]).error["duplicateOf"] == keep
    assert (
        call("POST", f"/leads/{keep}/merge", token=team.manager.token(), json_body={"duplicateId": keep}).status == 400
    )


@pytest.mark.parametrize(("days", "purged"), [(29, False), (30, True)])
def test_archived_leads_are_purged_after_30_days(db: Any, bucket: Any, clock: Any, days: int, purged: bool) -> None:
    team = make_team()
    lead_id = create(team.agent1, "9000000001").body["id"]
    kept = create(team.agent1, "9000000002").body["id"]
    call("POST", f"/leads/{lead_id}/notes", token=team.agent1.token(), json_body={"text": "note"})
    assert call("DELETE", f"/leads/{lead_id}", token=team.admin.token()).status == 204
    later = clock_module.now() + timedelta(days=days)
    assert purge.purge_archived(later) == int(purged)
    ref = tenancy.org_ref("org1").collection("leads").document(lead_id)
    assert ref.get().exists is (not purged)
    assert (len(list(ref.collection("notes").stream())) == 0) is purged
    assert store.private_ref("org1", lead_id).get().exists is (not purged)
    assert tenancy.org_ref("org1").collection("leads").document(kept).get().exists


def test_a_key_claimed_between_the_check_and_the_write_fails_only_its_row(db: Any, monkeypatch: Any) -> None:
    from leads import transfer

    team = make_team()
    # as if a concurrent create claimed the number after the import looked: the batch meets the key
    monkeypatch.setattr(transfer, "_drop_existing", lambda org_id, valid, duplicates: [])
    racer = create(team.agent1, "9000000002").body["id"]
    text = "Name,Mobile\nA One,9000000001\nB Two,9000000002\nC Three,9000000003\n"
    response = call("POST", "/leads/import", token=team.admin.token(), data=text, content_type="text/csv")
    assert response.status == 200, response.body
    assert response.body["created"] == 2 and response.body["duplicates"] == [{"row": 3, "duplicateOf": racer}]
    assert sorted(lead["name"] for lead in leads_of()) == ["A One", "C Three", "Ravi Kumar"]
    owners = [s.get("leadId") for s in tenancy.org_ref("org1").collection("leadKeys").stream()]
    assert len(owners) == 3 and owners.count(racer) == 1
