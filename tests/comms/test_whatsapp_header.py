"""POST /comms/whatsapp with `header?` (a lead's attachment or text) and `buttonParams?`, as API.md names them."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from comms import providers
from core import tenancy
from devtools.inproc import call
from tests.comms.conftest import World, make_lead
from tests.comms.stub import Stub
from tests.comms.test_messages import accepted_whatsapp, cloud

pytestmark = pytest.mark.http

PDF = b"%PDF-1.7\n" + b"brochure " * 200 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300
BODY = {"templateName": "site_visit_reminder", "language": "en", "params": ["Sat 11:00"]}
# The seed's brochure template: a DOCUMENT header, two body variables, a quick reply then a URL button.
BROCHURE = {"templateName": "project_brochure", "language": "en", "params": ["Skyline Towers", "Baner"]}


def register(name: str, header: dict[str, Any]) -> dict[str, Any]:
    """An approved template of org1 with this header and a body of one variable; the send body for it."""
    from comms import templates

    components = [header, {"type": "BODY", "text": "Hello {{1}}"}]
    document = templates.whatsapp_document(name, "en", "utility", "APPROVED", components)
    templates.collection("org1").document(templates.doc_id("whatsapp", name, "en")).set(document)
    return {"templateName": name, "language": "en", "params": ["Asha"]}


def upload(world: World, lead_id: str, name: str, content_type: str, data: bytes, *, complete: bool = True) -> str:
    ticket = call(
        "POST",
        "/attachments",
        token=world.agent.token(),
        json_body={"leadId": lead_id, "fileName": name, "contentType": content_type, "sizeBytes": len(data)},
    )
    assert ticket.status == 201, ticket.body
    assert httpx.put(ticket.body["uploadUrl"], content=data, headers=ticket.body["uploadHeaders"]).status_code == 200
    if complete:
        assert call("POST", f"/attachments/{ticket.body['id']}/complete", token=world.agent.token()).status == 200
    return str(ticket.body["id"])


def test_a_brochure_header_and_url_buttons_reach_the_cloud_api(
    world: World, stub: Stub, storage_emulator: str, clock: Any
) -> None:
    brochure = upload(world, world.lead_id, "Skyline brochure.pdf", "application/pdf", PDF)
    stub.reply(accepted_whatsapp())
    providers.install(whatsapp=cloud(stub))
    body = BROCHURE | {
        "leadId": world.lead_id,
        "header": {"type": "document", "attachmentId": brochure},
        "buttonParams": ["skyline-towers?lead=1"],
    }
    response = call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=body)
    assert response.status == 201, response.body
    assert response.body["header"] == {"type": "document", "attachmentId": brochure, "text": None}
    assert response.body["buttonParams"] == ["skyline-towers?lead=1"] and response.body["attachmentIds"] == [brochure]
    (request,) = stub.requests
    header, text, button = request.json()["template"]["components"]
    document = header["parameters"][0]["document"]
    assert header["type"] == "header" and header["parameters"][0]["type"] == "document"
    assert document["filename"] == "Skyline brochure.pdf"
    approved = tenancy.org_ref("org1").collection("attachments").document(brochure).get().get("objectGeneration")
    assert dict(parse_qsl(urlsplit(document["link"]).query))["generation"] == str(approved)
    assert httpx.get(document["link"]).content == PDF  # what WhatsApp fetches is the approved file
    assert text == {
        "type": "body",
        "parameters": [{"type": "text", "text": "Skyline Towers"}, {"type": "text", "text": "Baner"}],
    }
    assert button == {  # the URL button is the template's second button (after the quick reply): index 1
        "type": "button",
        "sub_type": "url",
        "index": "1",
        "parameters": [{"type": "text", "text": "skyline-towers?lead=1"}],
    }


def test_a_text_header_goes_as_text(world: World, stub: Stub, clock: Any) -> None:
    stub.reply(accepted_whatsapp())
    providers.install(whatsapp=cloud(stub))
    titled = register("titled_update", {"type": "HEADER", "format": "TEXT", "text": "News of {{1}}"})
    body = titled | {"leadId": world.lead_id, "header": {"type": "text", "text": "Skyline Towers"}}
    assert call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=body).status == 201
    (request,) = stub.requests
    assert request.json()["template"]["components"][0] == {
        "type": "header",
        "parameters": [{"type": "text", "text": "Skyline Towers"}],
    }


def test_a_header_that_cannot_be_shown_is_400_naming_it(world: World, storage_emulator: str, clock: Any) -> None:
    photo = upload(world, world.lead_id, "site.png", "image/png", PNG)
    pending = upload(world, world.lead_id, "late.pdf", "application/pdf", PDF, complete=False)
    other_lead = make_lead("org1", assignee=world.agent.uid, phone="98765 00009", emails=(), name="Other Buyer")
    foreign = upload(world, other_lead, "theirs.pdf", "application/pdf", PDF)
    cases = [
        ({"type": "text"}, "header"),
        ({"type": "document", "text": "x", "attachmentId": photo}, "header"),
        ({"type": "document", "attachmentId": photo}, "header.attachmentId"),
        ({"type": "video", "attachmentId": photo}, "header.type"),  # the template's header is a document
        ({"type": "document", "attachmentId": pending}, "header.attachmentId"),
        ({"type": "document", "attachmentId": foreign}, "header.attachmentId"),
        ({"type": "gif", "attachmentId": photo}, "header.type"),
    ]
    for header, field in cases:
        body = BROCHURE | {"leadId": world.lead_id, "header": header, "buttonParams": ["skyline"]}
        answer = call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=body)
        assert answer.status == 400 and field in answer.error["fields"], (header, answer.body)
    pictured = register("site_photo", {"type": "HEADER", "format": "IMAGE"})
    image = pictured | {"leadId": world.lead_id, "header": {"type": "image", "attachmentId": photo}}
    assert call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=image).status == 201
    empty_button = BODY | {"leadId": world.lead_id, "buttonParams": [""]}
    refused = call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=empty_button)
    assert refused.status == 400 and "buttonParams.0" in refused.error["fields"]
