"""Attachments through the real handler and the Storage emulator: upload and download by signed URL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from attachments import storage
from tests.comms.conftest import World
from tests.support.factory import add_person, make_org
from tests.support.http import call

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
    put = httpx.put(ticket.body["uploadUrl"], content=PDF, headers={"Content-Type": "application/pdf"})
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
    httpx.put(ticket.body["uploadUrl"], content=PNG, headers={"Content-Type": "application/pdf"})
    rejected = call("POST", f"/attachments/{ticket.body['id']}/complete", token=world.agent.token())
    assert rejected.status == 409 and rejected.error["reason"] == "the file is not really of its declared type"
    shown = call("GET", f"/attachments/{ticket.body['id']}", token=world.agent.token())
    assert shown.body["status"] == "rejected" and shown.body["downloadUrl"] is None
    record_path = f"orgs/org1/attachments/{ticket.body['id']}/Floor_plan.pdf"
    assert storage.stat(record_path) is None

    short = request_upload(world, sizeBytes=len(PDF) + 10)
    httpx.put(short.body["uploadUrl"], content=PDF, headers={"Content-Type": "application/pdf"})
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
