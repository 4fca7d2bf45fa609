"""Attachments through the real handler and the Storage emulator: upload and download by signed URL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from core import clients, storage, tenancy
from core.errors import ApiError
from devtools.inproc import call
from tests.comms.conftest import World
from tests.support.factory import add_person, make_org

pytestmark = pytest.mark.http

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 500


def request_upload(world: World, *, token: str | None = None, **overrides: Any) -> Any:
    """POST /attachments for the world's lead."""
    body = {
        "leadId": world.lead_id,
        "fileName": "Floor plan.pdf",
        "contentType": "application/pdf",
        "sizeBytes": len(PDF),
    }
    return call("POST", "/attachments", token=token or world.agent.token(), json_body=body | overrides)


def test_a_pdf_is_uploaded_and_downloaded_through_signed_urls(world: World, storage_emulator: str, clock: Any) -> None:
    ticket = request_upload(world)
    assert ticket.status == 201, ticket.body
    assert (
        "X-Goog-Signature=" in ticket.body["uploadUrl"]
        and "X-Goog-Algorithm=GOOG4-RSA-SHA256" in ticket.body["uploadUrl"]
    )
    put = httpx.put(ticket.body["uploadUrl"], content=PDF, headers=ticket.body["uploadHeaders"])
    assert put.status_code == 200, put.text
    done = call("POST", f"/attachments/{ticket.body['id']}/complete", token=world.agent.token())
    assert done.status == 200 and done.body["status"] == "ready" and done.body["sizeBytes"] == len(PDF)
    shown = call("GET", f"/attachments/{ticket.body['id']}", token=world.agent.token())
    assert shown.status == 200 and shown.body["fileName"] == "Floor plan.pdf"
    downloaded = httpx.get(shown.body["downloadUrl"])
    assert downloaded.status_code == 200 and downloaded.content == PDF
    again = call("POST", f"/attachments/{ticket.body['id']}/complete", token=world.agent.token())
    assert again.status == 200 and again.body["status"] == "ready"


def test_too_large_or_wrong_type_is_refused_before_signing(world: World, storage_emulator: str, clock: Any) -> None:
    big = request_upload(world, sizeBytes=21 * 1024 * 1024)
    assert big.status == 413 and big.error["fields"] == {"sizeBytes": "at most 20 MB"}
    text = request_upload(world, contentType="text/plain", fileName="notes.txt")
    assert text.status == 400 and "contentType" in text.error["fields"]
    both = request_upload(world, visitId="v1")
    assert both.status == 400
    assert call("GET", "/attachments/nope", token=world.agent.token()).status == 404


def test_an_upload_that_is_not_what_was_declared_is_rejected_and_deleted(
    world: World, storage_emulator: str, clock: Any
) -> None:
    ticket = request_upload(world, sizeBytes=len(PNG))
    early = call("POST", f"/attachments/{ticket.body['id']}/complete", token=world.agent.token())
    assert early.status == 409
    httpx.put(ticket.body["uploadUrl"], content=PNG, headers=ticket.body["uploadHeaders"])
    rejected = call("POST", f"/attachments/{ticket.body['id']}/complete", token=world.agent.token())
    assert rejected.status == 409 and rejected.error["reason"] == "the file is not really of its declared type"
    shown = call("GET", f"/attachments/{ticket.body['id']}", token=world.agent.token())
    assert shown.body["status"] == "rejected" and shown.body["downloadUrl"] is None
    record_path = f"orgs/org1/attachments/{ticket.body['id']}/Floor_plan.pdf"
    assert storage.stat(record_path) is None

    short = request_upload(world, sizeBytes=len(PDF) + 10)
    httpx.put(short.body["uploadUrl"], content=PDF, headers=short.body["uploadHeaders"])
    mismatch = call("POST", f"/attachments/{short.body['id']}/complete", token=world.agent.token())
    assert mismatch.status == 409 and mismatch.error["reason"] == "size differs from the declared size"


def test_only_those_who_see_the_lead_reach_its_attachments(world: World, storage_emulator: str, clock: Any) -> None:
    ticket = request_upload(world)
    assert request_upload(world, token=world.other_agent.token()).status == 403
    assert call("GET", f"/attachments/{ticket.body['id']}", token=world.other_agent.token()).status == 403
    assert call("GET", f"/attachments/{ticket.body['id']}", token=world.manager.token()).status == 200
    make_org("org2")
    outsider = add_person("org2", "admin")
    assert call("GET", f"/attachments/{ticket.body['id']}", token=outsider.token()).status == 404


def _signed(url: str) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(url).query))


def test_the_upload_url_is_signed_for_the_exact_length_and_create_only(
    world: World, storage_emulator: str, clock: Any
) -> None:
    """The Storage emulator checks neither signatures nor preconditions: the signed URL itself is checked."""
    ticket = request_upload(world)
    assert ticket.status == 201, ticket.body
    headers = ticket.body["uploadHeaders"]
    assert headers == {
        "Content-Type": "application/pdf",
        "x-goog-content-length-range": f"{len(PDF)},{len(PDF)}",
        "x-goog-if-generation-match": "0",
    }
    query = _signed(ticket.body["uploadUrl"])
    signed = set(query["X-Goog-SignedHeaders"].split(";"))
    # Cloud Storage refuses the PUT unless these headers come with the values signed: no other size, no overwrite
    assert {"content-type", "host", "x-goog-content-length-range", "x-goog-if-generation-match"} <= signed
    assert query["X-Goog-Expires"] == str(15 * 60) and query["X-Goog-Algorithm"] == "GOOG4-RSA-SHA256"
    stored = tenancy.org_ref("org1").collection("attachments").document(ticket.body["id"]).get().to_dict()
    assert stored["status"] == "pending" and stored["objectGeneration"] is None and stored["version"] == 1


def test_complete_pins_the_generation_it_checked_and_an_overwrite_is_never_served(
    world: World, storage_emulator: str, clock: Any
) -> None:
    from attachments import service

    ticket = request_upload(world)
    assert httpx.put(ticket.body["uploadUrl"], content=PDF, headers=ticket.body["uploadHeaders"]).status_code == 200
    done = call("POST", f"/attachments/{ticket.body['id']}/complete", token=world.agent.token())
    assert done.status == 200 and done.body["status"] == "ready" and done.body["version"] == 2
    record = tenancy.org_ref("org1").collection("attachments").document(ticket.body["id"]).get().to_dict()
    path = record["objectPath"]
    live = storage.stat(path)
    assert live is not None and record["objectGeneration"] == live.generation
    shown = call("GET", f"/attachments/{ticket.body['id']}", token=world.agent.token())
    assert _signed(shown.body["downloadUrl"])["generation"] == str(live.generation)

    # the emulator lets the (create-only) URL overwrite the file; production refuses: either way it is not served
    html = b"<html><script>steal()</script></html>".ljust(len(PDF), b" ")
    assert httpx.put(ticket.body["uploadUrl"], content=html, headers=ticket.body["uploadHeaders"]).status_code == 200
    assert storage.stat(path).generation != live.generation  # type: ignore[union-attr]
    again = call("GET", f"/attachments/{ticket.body['id']}", token=world.agent.token())
    assert _signed(again.body["downloadUrl"])["generation"] == str(live.generation)
    assert call("POST", f"/attachments/{ticket.body['id']}/complete", token=world.agent.token()).body["version"] == 2
    with pytest.raises(ApiError) as refused:
        service.read_bytes(record | {"id": ticket.body["id"]})
    assert refused.value.status == 409 and refused.value.body()["error"]["reason"] == service.CHANGED
    email = {"leadId": world.lead_id, "subject": "Plan", "body": "Attached", "attachmentIds": [ticket.body["id"]]}
    sent = call("POST", "/comms/email", token=world.agent.token(), json_body=email)
    assert sent.status == 409 and sent.error["reason"] == service.CHANGED


@pytest.mark.parametrize(
    ("declared", "data"),
    [
        ("image/webp", b"<html><body onload=alert(1)></body></html>"),
        ("image/heic", b"<html><body onload=alert(1)></body></html>"),
        ("image/jpeg", PNG),
        ("application/pdf", b"<svg onload=alert(1)/>"),
    ],
)
def test_every_type_is_checked_for_what_it_really_is(
    world: World, storage_emulator: str, clock: Any, declared: str, data: bytes
) -> None:
    ticket = request_upload(world, contentType=declared, fileName="photo", sizeBytes=len(data))
    httpx.put(ticket.body["uploadUrl"], content=data, headers=ticket.body["uploadHeaders"])
    rejected = call("POST", f"/attachments/{ticket.body['id']}/complete", token=world.agent.token())
    assert rejected.status == 409 and rejected.error["reason"] == "the file is not really of its declared type"
    assert storage.stat(f"orgs/org1/attachments/{ticket.body['id']}/photo") is None


def test_an_upload_larger_than_declared_is_refused_and_deleted(world: World, storage_emulator: str, clock: Any) -> None:
    ticket = request_upload(world, sizeBytes=len(PDF))
    bigger = PDF + b"\0" * (5 * 1024 * 1024)
    # production refuses this PUT (signed length range); the emulator stores it, and /complete refuses it
    httpx.put(ticket.body["uploadUrl"], content=bigger, headers=ticket.body["uploadHeaders"])
    refused = call("POST", f"/attachments/{ticket.body['id']}/complete", token=world.agent.token())
    assert refused.status == 409 and refused.error["reason"] == "size differs from the declared size"
    assert storage.stat(f"orgs/org1/attachments/{ticket.body['id']}/Floor_plan.pdf") is None
    shown = call("GET", f"/attachments/{ticket.body['id']}", token=world.agent.token())
    assert shown.body["status"] == "rejected" and shown.body["downloadUrl"] is None


def test_abandoned_uploads_are_swept_and_live_ones_left(world: World, storage_emulator: str, clock: Any) -> None:
    from attachments import service

    attachments = tenancy.org_ref("org1").collection("attachments")
    never = request_upload(world).body  # no bytes ever sent
    uploaded = request_upload(world).body  # bytes sent, never completed
    httpx.put(uploaded["uploadUrl"], content=PDF, headers=uploaded["uploadHeaders"])
    ready = request_upload(world).body
    httpx.put(ready["uploadUrl"], content=PDF, headers=ready["uploadHeaders"])
    assert call("POST", f"/attachments/{ready['id']}/complete", token=world.agent.token()).status == 200
    elsewhere = clients.db().collection("users").document("u1").collection("attachments").document("x")
    elsewhere.set({"status": "pending", "createdAt": clock.now(), "objectPath": "users/u1/x"})
    clock.at = clock.now() + timedelta(minutes=59)
    fresh = request_upload(world).body
    assert service.sweep_abandoned(clock.now()) == 0  # 59 minutes: an upload begun at 14:59 may still finish

    clock.at = clock.now() + timedelta(minutes=2)
    assert service.sweep_abandoned(clock.now()) == 2
    for ticket in (never, uploaded):
        record = attachments.document(ticket["id"]).get().to_dict()
        assert record["status"] == "rejected" and record["rejectedReason"] == service.NEVER_COMPLETED
        assert storage.stat(record["objectPath"]) is None
        late = call("POST", f"/attachments/{ticket['id']}/complete", token=world.agent.token())
        assert late.status == 409 and late.error["reason"] == service.NEVER_COMPLETED
    assert attachments.document(ready["id"]).get().get("status") == "ready"
    assert storage.stat(attachments.document(ready["id"]).get().get("objectPath")) is not None
    assert attachments.document(fresh["id"]).get().get("status") == "pending"
    assert elsewhere.get().get("status") == "pending"  # not an organization's attachment
    assert service.sweep_abandoned(clock.now()) == 0  # a second run finds nothing
