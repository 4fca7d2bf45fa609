"""Large imports through Cloud Storage: the endpoints per role, runs of CSV and .xlsx end to end on the Storage and
Firestore emulators, a killed run resumed, dry run, column map and the errors CSV."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import httpx
import pytest

from core import tenancy
from devtools.inproc import call
from leads import imports
from tests.support.leads import create, leads_of, make_team

pytestmark = pytest.mark.http

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def tasks() -> Any:
    """The import task queue in memory."""
    queue = imports.MemoryQueue()
    imports.install(queue)
    yield queue
    imports.install(None)


def upload(person: Any, content: bytes, *, content_type: str = "text/csv", name: str = "leads.csv") -> str:
    """POST /leads/imports and PUT the file to its signed URL: the import id."""
    ticket = call(
        "POST", "/leads/imports", token=person.token(), json_body={"fileName": name, "contentType": content_type}
    )
    assert ticket.status == 201, ticket.body
    put = httpx.put(ticket.body["uploadUrl"], content=content, headers=ticket.body["uploadHeaders"])
    assert put.status_code == 200, put.text
    return str(ticket.body["id"])


def drain(queue: imports.MemoryQueue, **options: Any) -> list[str]:
    """Run every queued task (and those they queue) as the task-queue function would."""
    outcomes = []
    while queue.tasks:
        _name, payload = queue.tasks.pop(0)
        outcomes.append(imports.run(payload["orgId"], payload["importId"], **options))
    return outcomes


def status(person: Any, import_id: str) -> Any:
    return call("GET", f"/leads/imports/{import_id}", token=person.token())


def big_csv(rows: int, *, header: str = "Name,Mobile,City") -> bytes:
    lines = [header] + [f"Buyer {n},98{n:08d},Pune" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(("role", "allowed"), [("admin", True), ("manager", True), ("agent", False), ("rm", False)])
def test_who_may_create_an_import(db: Any, storage_emulator: str, role: str, allowed: bool) -> None:
    team = make_team()
    person = {"admin": team.admin, "manager": team.manager, "agent": team.agent1, "rm": team.rm}[role]
    body = {"fileName": "leads.csv", "contentType": "text/csv"}
    response = call("POST", "/leads/imports", token=person.token(), json_body=body)
    assert response.status == (201 if allowed else 403), response.body
    if allowed:
        assert "X-Goog-Signature=" in response.body["uploadUrl"]
        assert response.body["uploadHeaders"]["x-goog-if-generation-match"] == "0"


def test_bad_requests_name_the_field(db: Any, storage_emulator: str, tasks: Any) -> None:
    team = make_team()
    token = team.admin.token()
    wrong = call(
        "POST", "/leads/imports", token=token, json_body={"fileName": "a.pdf", "contentType": "application/pdf"}
    )
    assert wrong.status == 400 and "contentType" in wrong.error["fields"]
    missing = call("POST", "/leads/imports", token=token, json_body={"contentType": "text/csv"})
    assert missing.status == 400 and "fileName" in missing.error["fields"]
    ticket = call("POST", "/leads/imports", token=token, json_body={"fileName": "a.csv", "contentType": "text/csv"})
    early = call("POST", f"/leads/imports/{ticket.body['id']}/start", token=token, json_body={})
    assert early.status == 409 and tasks.tasks == []
    assert call("GET", "/leads/imports/imp_nope", token=token).status == 404
    import_id = upload(team.admin, big_csv(2))
    bad_map = call(
        "POST", f"/leads/imports/{import_id}/start", token=token, json_body={"columnMap": {"Mobile": "shoeSize"}}
    )
    assert bad_map.status == 400 and "columnMap.Mobile" in bad_map.error["fields"]
    assert status(team.admin, import_id).body["status"] == "uploaded" and tasks.tasks == []


def test_only_the_creator_or_an_admin_sees_an_import(db: Any, storage_emulator: str, tasks: Any) -> None:
    team = make_team()
    other = make_team("org2")
    import_id = upload(team.manager, big_csv(1))
    assert status(team.manager, import_id).status == 200
    assert status(team.admin, import_id).status == 200
    assert status(team.agent1, import_id).status == 403
    assert status(other.admin, import_id).status == 404
    started = call("POST", f"/leads/imports/{import_id}/start", token=other.admin.token(), json_body={})
    assert started.status == 404 and tasks.tasks == []


def test_a_csv_runs_in_batches_with_progress_and_an_errors_csv(db: Any, storage_emulator: str, tasks: Any) -> None:
    team = make_team()
    existing = create(team.agent1, "9800000003").body["id"]
    rows = big_csv(23).decode().splitlines()
    rows[5] = "Bad Phone,12345,Pune"  # row 6
    rows[9] = "=HYPERLINK(1),,Pune"  # row 10: no phone
    rows.insert(12, ",,")  # an empty row is skipped, not counted
    rows.append("Buyer Again,9800000001,Pune")  # duplicate of row 3 (another batch)
    import_id = upload(team.admin, ("\n".join(rows) + "\n").encode())
    started = call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body={})
    assert started.status == 200 and (started.body["status"], started.body["rowsDone"]) == ("running", 0)
    again = call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body={})
    assert again.status == 200 and again.body["status"] == "running"
    assert len(tasks.tasks) == 1  # a repeated start queues nothing more
    seen: list[tuple[int, int]] = []

    def watch(_batch: int) -> None:
        shown = status(team.admin, import_id).body
        seen.append((shown["rowsDone"], shown["rowsTotal"]))

    assert drain(tasks, batch_rows=5, after_batch=watch) == ["done"]
    assert (
        seen[0] == (5, 24) and seen[-1] == (24, 24) and [done for done, _ in seen] == sorted(done for done, _ in seen)
    )
    shown = status(team.admin, import_id).body
    assert shown | {"errorsUrl": None} == shown | {
        "status": "done",
        "rowsTotal": 24,
        "rowsDone": 24,
        "created": 20,
        "duplicates": 2,
        "errors": 2,
        "errorsUrl": None,
    }
    names = Counter(lead["name"] for lead in leads_of())
    assert sum(names.values()) == 21 and names["Buyer 3"] == 0 and names["Buyer Again"] == 0
    assert existing in {lead["id"] for lead in leads_of()}
    text = httpx.get(shown["errorsUrl"]).text
    failed = list(csv.DictReader(io.StringIO(text)))
    assert [(row["row"], row["field"]) for row in failed] == [
        ("6", "primaryPhone.number"),
        ("10", "primaryPhone.number"),
    ]
    assert failed[1]["name"] == "'=HYPERLINK(1)"  # through the one CSV writer: neutralized


def test_a_killed_run_resumes_and_creates_every_row_exactly_once(db: Any, storage_emulator: str, tasks: Any) -> None:
    team = make_team()
    import_id = upload(team.admin, big_csv(40))
    call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body={})

    def crash_after(batch: int) -> Any:
        def hook(number: int) -> None:
            if number == batch:
                raise imports.Stop

        return hook

    with pytest.raises(imports.Stop):
        imports.run("org1", import_id, batch_rows=7, after_batch=crash_after(2))
    # a crash between writing a batch and recording it: batch 3's leads exist, its offset was never recorded
    real_record = imports._record_batch
    calls = {"n": 0}

    def die_before_recording(ref: Any, **kwargs: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise imports.Stop
        return real_record(ref, **kwargs)

    imports._record_batch = die_before_recording
    try:
        with pytest.raises(imports.Stop):
            imports.run("org1", import_id, batch_rows=7)
    finally:
        imports._record_batch = real_record
    assert status(team.admin, import_id).body["rowsDone"] == 14
    assert len(leads_of()) == 21  # batch 3 written, not recorded
    assert drain(tasks, batch_rows=7) == ["done"]  # the redelivered task
    shown = status(team.admin, import_id).body
    assert (shown["status"], shown["rowsDone"], shown["created"], shown["duplicates"]) == ("done", 40, 40, 0)
    names = Counter(lead["name"] for lead in leads_of())
    assert len(names) == 40 and set(names.values()) == {1}
    keys = list(tenancy.org_ref("org1").collection("leadKeys").stream())
    assert len(keys) == 40
    assert imports.run("org1", import_id) == "skipped"  # a late redelivery changes nothing


def test_a_run_past_its_time_queues_the_rest(db: Any, storage_emulator: str, tasks: Any) -> None:
    team = make_team()
    import_id = upload(team.admin, big_csv(12))
    call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body={})
    assert drain(tasks, batch_rows=5, seconds=0) == ["continued", "continued", "done"]  # one batch per slice
    assert status(team.admin, import_id).body["created"] == 12 and len(leads_of()) == 12


def test_a_dry_run_counts_and_writes_no_lead(db: Any, storage_emulator: str, tasks: Any) -> None:
    team = make_team()
    rotation_before = tenancy.org_ref("org1").collection("rotation").get()
    content = big_csv(9) + b"Dup,9800000000,Pune\nBad,1,Pune\n"
    import_id = upload(team.admin, content)
    body = {"dryRun": True}
    assert call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body=body).status == 200
    assert drain(tasks, batch_rows=4) == ["done"]
    shown = status(team.admin, import_id).body
    assert (shown["dryRun"], shown["created"], shown["duplicates"], shown["errors"]) == (True, 9, 1, 1)
    assert leads_of() == [] and list(tenancy.org_ref("org1").collection("leadKeys").stream()) == []
    assert len(tenancy.org_ref("org1").collection("rotation").get()) == len(rotation_before)


def test_a_column_map_renames_file_columns(db: Any, storage_emulator: str, tasks: Any) -> None:
    team = make_team()
    content = b"Kunde,Handy,Wohnort,Notiz\nAsha Rao,9800000011,Pune,call later\n"
    import_id = upload(team.admin, content)
    body = {"columnMap": {"Kunde": "name", "Handy": "primaryPhone", "Wohnort": "city", "Notiz": ""}}
    assert call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body=body).status == 200
    assert drain(tasks) == ["done"]
    [lead] = leads_of()
    assert lead["name"] == "Asha Rao" and lead["location"]["city"] == "Pune"
    assert lead["primaryPhone"]["e164"] == "+919800000011"


def test_an_xlsx_workbook_is_imported(db: Any, storage_emulator: str, tasks: Any) -> None:
    import openpyxl

    team = make_team()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Customer Name", "Mobile", "Budget Max"])
    for n in range(11):
        sheet.append([f"Sheet Buyer {n}", 9700000000 + n, 8_000_000.0])
    sheet.append(["No Phone", None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    import_id = upload(team.admin, buffer.getvalue(), content_type=XLSX, name="leads.xlsx")
    call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body={})
    assert drain(tasks, batch_rows=4) == ["done"]
    shown = status(team.admin, import_id).body
    assert (shown["rowsTotal"], shown["created"], shown["errors"]) == (12, 11, 1)
    lead = next(lead for lead in leads_of() if lead["name"] == "Sheet Buyer 3")
    assert lead["primaryPhone"]["e164"] == "+919700000003" and lead["budget"]["max"] == 8_000_000


def test_a_file_that_is_not_what_it_claims_fails_the_import(db: Any, storage_emulator: str, tasks: Any) -> None:
    team = make_team()
    import_id = upload(team.admin, b"Name,Mobile\nA,9800000001\n", content_type=XLSX, name="x.xlsx")
    call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body={})
    assert drain(tasks) == ["failed"]
    shown = status(team.admin, import_id).body
    assert shown["status"] == "failed" and "xlsx" in shown["reason"] and leads_of() == []
    no_phone = upload(team.admin, b"Name,City\nA,Pune\n")
    call("POST", f"/leads/imports/{no_phone}/start", token=team.admin.token(), json_body={})
    assert drain(tasks) == ["failed"]
    assert "Phone" in status(team.admin, no_phone).body["reason"]


def test_the_command_line_import_runs_the_same_runner_with_progress(
    db: Any, storage_emulator: str, tmp_path: Any, capsys: Any
) -> None:
    import json

    from ops.cli import main as cli

    team = make_team()
    path = tmp_path / "leads.csv"
    path.write_bytes(big_csv(1200) + b"Bad,1,Pune\n")
    assert cli(["leads-import", "--org", "org1", "--admin-uid", team.admin.uid, "--file", str(path)]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert (result["status"], result["rowsTotal"], result["created"], result["errors"]) == ("done", 1201, 1200, 1)
    assert "1201/1201" in err  # the bar reached the total
    assert len(leads_of()) == 1200 and result["errorsUrl"]
    agent = cli(["leads-import", "--org", "org1", "--admin-uid", team.agent1.uid, "--file", str(path)])
    assert agent == 2 and len(leads_of()) == 1200


@pytest.mark.parametrize("refusal", ["unavailable", "ambiguous"])
def test_a_start_cloud_tasks_refuses_is_503_and_startable_again(
    db: Any, storage_emulator: str, tasks: Any, refusal: str
) -> None:
    team = make_team()
    import_id = upload(team.admin, big_csv(3))
    kept: list[str] = []

    class Down(imports.MemoryQueue):
        def enqueue(self, task_id: str, payload: dict[str, Any]) -> None:
            if refusal == "ambiguous":  # the task was made, but the answer was lost: it will run later
                kept.append(task_id)
                tasks.enqueue(task_id, payload)
            raise RuntimeError("Cloud Tasks is down")

    imports.install(Down())
    body = {"columnMap": {"Name": "name", "Mobile": "number"}}
    failed = call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body=body)
    assert failed.status == 503 and failed.error["code"] == "UNAVAILABLE", failed.body
    assert failed.headers.get("Retry-After") == "5"
    assert status(team.admin, import_id).body["status"] == "uploaded"
    assert drain(tasks) == (["skipped"] if refusal == "ambiguous" else [])  # a stale task of a refused start
    imports.install(tasks)
    retried = call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body=body)
    assert retried.status == 200 and retried.body["status"] == "running"
    assert [name for name, _ in tasks.tasks] == [imports.first_task(import_id, 2)]  # not the refused start's name
    assert kept == ([imports.first_task(import_id, 1)] if refusal == "ambiguous" else [])
    assert drain(tasks) == ["done"] and status(team.admin, import_id).body["created"] == 3


def test_a_start_that_died_before_queuing_is_queued_by_the_next_start(
    db: Any, storage_emulator: str, tasks: Any
) -> None:
    team = make_team()
    import_id = upload(team.admin, big_csv(2))

    class Lost(imports.MemoryQueue):
        def enqueue(self, task_id: str, payload: dict[str, Any]) -> None:
            raise SystemExit  # the instance died between the start's transaction and its task

    imports.install(Lost())
    with pytest.raises(SystemExit):
        call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body={})
    assert status(team.admin, import_id).body["status"] == "running" and tasks.tasks == []
    imports.install(tasks)
    for _ in range(2):  # the app's retry queues the task; a further one is a no-op (the same name)
        again = call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body={})
        assert again.status == 200 and again.body["status"] == "running"
    assert [name for name, _ in tasks.tasks] == [imports.first_task(import_id, 1)]
    assert drain(tasks) == ["done"] and status(team.admin, import_id).body["created"] == 2


def test_hostile_column_maps_are_400s_naming_the_field(db: Any, storage_emulator: str, tasks: Any) -> None:
    team = make_team()
    import_id = upload(team.admin, big_csv(1))
    for column_map in ({"": "name"}, {"x" * 201: "name"}, {"Mobile": "n" * 41}, {"Mobile": 7}, ["name"]):
        body = {"columnMap": column_map}
        response = call("POST", f"/leads/imports/{import_id}/start", token=team.admin.token(), json_body=body)
        assert response.status == 400 and any(key.startswith("columnMap") for key in response.error["fields"]), body
    assert tasks.tasks == []
