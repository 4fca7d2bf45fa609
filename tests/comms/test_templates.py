"""Template management through the real `comms` handler: registering SMS (DLT) and WhatsApp (Cloud API
components) templates, changing and removing them, sends checked against them, and the sync with Meta."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from comms import providers, templates
from core import tenancy
from devtools.inproc import call
from tests.comms.conftest import OWN_CHANNELS, World
from tests.comms.stub import Scripted, Stub
from tests.comms.test_messages import accepted_sms, accepted_whatsapp, cloud, plivo

pytestmark = pytest.mark.http

SMS = {
    "channel": "sms",
    "dltTemplateId": "1107170000000000777",
    "category": "utility",
    "text": "Dear {#var#}, your visit to {#var#} is confirmed. - JUSTOL",
}
WHATSAPP = {
    "channel": "whatsapp",
    "name": "visit_booked",
    "language": "en_US",
    "category": "utility",
    "components": [
        {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::aGVsbG8="]}},
        {"type": "BODY", "text": "Hi {{1}}, your visit is at {{2}}.", "example": {"body_text": [["Asha", "11:00"]]}},
        {"type": "FOOTER", "text": "Reply STOP to opt out"},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Map", "url": "https://maps.example.com/{{1}}"}]},
    ],
}


def templates_of(org_id: str = "org1") -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() or {} for s in templates.collection(org_id).stream()}


def test_admin_registers_changes_and_removes_templates(world: World, clock: Any) -> None:
    admin = world.admin.token()
    sms = call("POST", "/comms/templates", token=admin, json_body=SMS)
    assert sms.status == 201, sms.body
    assert (sms.body["id"], sms.body["templateId"], sms.body["status"]) == (
        "sms-1107170000000000777",
        SMS["dltTemplateId"],
        "APPROVED",
    )
    assert sms.body["params"] == ["var1", "var2"] and sms.body["dltCategory"] == "service_implicit"
    wa = call("POST", "/comms/templates", token=admin, json_body=WHATSAPP)
    assert wa.status == 201, wa.body
    assert wa.body["id"] == "wa-visit_booked-en_US" and wa.body["status"] == "PENDING"  # until Meta approves it
    assert wa.body["components"] == WHATSAPP["components"] and wa.body["params"] == ["1", "2"]
    again = call("POST", "/comms/templates", token=admin, json_body=WHATSAPP)
    assert again.status == 409 and "name" in again.error["fields"]
    listed = call("GET", "/comms/templates", token=world.agent.token())
    assert {"sms-1107170000000000777", "wa-visit_booked-en_US"} <= {t["id"] for t in listed.body["items"]}
    changed = call(
        "PATCH",
        f"/comms/templates/{wa.body['id']}",
        token=admin,
        json_body={"status": "APPROVED"},
        headers={"If-Match": "1"},
    )
    assert changed.status == 200 and changed.body["status"] == "APPROVED" and changed.body["version"] == 2
    stale = call(
        "PATCH",
        f"/comms/templates/{wa.body['id']}",
        token=admin,
        json_body={"status": "PAUSED"},
        headers={"If-Match": "1"},
    )
    assert stale.status == 412
    wrong = call(
        "PATCH", f"/comms/templates/{sms.body['id']}", token=admin, json_body={"components": WHATSAPP["components"]}
    )
    assert wrong.status == 400 and "components" in wrong.error["fields"]
    for method, path, body in (
        ("POST", "/comms/templates", SMS | {"dltTemplateId": "1107170000000000778"}),
        ("PATCH", f"/comms/templates/{sms.body['id']}", {"status": "PAUSED"}),
        ("DELETE", f"/comms/templates/{sms.body['id']}", None),
        ("POST", "/comms/templates/sync", None),
    ):
        assert call(method, path, token=world.manager.token(), json_body=body).status == 403, (method, path)
    assert call("DELETE", f"/comms/templates/{sms.body['id']}", token=admin).status == 204
    assert call("DELETE", f"/comms/templates/{sms.body['id']}", token=admin).status == 404
    assert "sms-1107170000000000777" not in templates_of()


BAD: list[tuple[dict[str, Any], str]] = [
    (SMS | {"dltTemplateId": "11071700000000007"}, "dltTemplateId"),
    ({k: v for k, v in SMS.items() if k != "dltTemplateId"}, "dltTemplateId"),
    ({k: v for k, v in SMS.items() if k != "text"}, "text"),
    (SMS | {"category": "authentication"}, "category"),
    (SMS | {"components": WHATSAPP["components"]}, "components"),
    (WHATSAPP | {"name": "Visit Booked"}, "name"),
    ({k: v for k, v in WHATSAPP.items() if k != "components"}, "components"),
    (WHATSAPP | {"text": "hello"}, "text"),
    (WHATSAPP | {"language": "english"}, "language"),
    (WHATSAPP | {"components": [{"type": "FOOTER", "text": "only"}]}, "components"),
    (WHATSAPP | {"status": "LIVE"}, "status"),
]


def test_bad_templates_are_400_naming_the_field(world: World) -> None:
    before = templates_of()
    for body, field in BAD:
        answer = call("POST", "/comms/templates", token=world.admin.token(), json_body=body)
        assert answer.status == 400 and field in answer.error["fields"], (body, answer.body)
    assert templates_of() == before


def test_sends_are_checked_against_the_stored_template(world: World, stub: Stub, clock: Any) -> None:
    admin, agent = world.admin.token(), world.agent.token()
    assert call("POST", "/comms/templates", token=admin, json_body=SMS).status == 201
    assert call("POST", "/comms/templates", token=admin, json_body=WHATSAPP).status == 201
    lead = {"leadId": world.lead_id}
    too_long = call(
        "POST",
        "/comms/sms",
        token=agent,
        json_body=lead | {"templateId": SMS["dltTemplateId"], "params": ["Asha", "x" * 31]},
    )
    assert too_long.status == 400 and "params.1" in too_long.error["fields"]  # DLT: 30 characters a variable
    one = call(
        "POST", "/comms/sms", token=agent, json_body=lead | {"templateId": SMS["dltTemplateId"], "params": ["Asha"]}
    )
    assert one.status == 400 and "params" in one.error["fields"]
    send = lead | {
        "templateName": "visit_booked",
        "language": "en_US",
        "params": ["Asha", "11:00"],
        "buttonParams": ["x"],
    }
    pending = call("POST", "/comms/whatsapp", token=agent, json_body=send)
    assert pending.status == 409 and pending.error["status"] == "PENDING"
    call("PATCH", "/comms/templates/wa-visit_booked-en_US", token=admin, json_body={"status": "APPROVED"})
    no_header = call("POST", "/comms/whatsapp", token=agent, json_body=send)
    assert no_header.status == 400 and "header" in no_header.error["fields"]
    text_header = call(
        "POST", "/comms/whatsapp", token=agent, json_body=send | {"header": {"type": "text", "text": "Hi"}}
    )
    assert text_header.status == 400 and "header.type" in text_header.error["fields"]
    reminder = lead | {"templateName": "site_visit_reminder", "params": ["Sat 11:00"]}
    buttons = call("POST", "/comms/whatsapp", token=agent, json_body=reminder | {"buttonParams": ["x"]})
    assert buttons.status == 400 and "buttonParams" in buttons.error["fields"]
    providers.install(whatsapp=cloud(stub))
    stub.reply(accepted_whatsapp())
    assert call("POST", "/comms/whatsapp", token=agent, json_body=reminder).status == 201
    assert len(stub.requests) == 1  # nothing refused reached the provider
    stored = [s.to_dict() for s in tenancy.org_ref("org1").collection("messages").stream()]
    assert len(stored) == 1


def test_promotional_sms_go_from_a_numeric_header_and_service_ones_from_a_letter_one(
    world: World, stub: Stub, clock: Any
) -> None:
    from comms import channels

    providers.install(sms=plivo(stub))
    stub.default = accepted_sms()
    lead = {"leadId": world.lead_id, "params": ["Skyline"]}
    for dlt_id, header in (("1107170000000000002", "100200"), ("1107170000000000001", "JUSTOL")):
        sent = call("POST", "/comms/sms", token=world.agent.token(), json_body=lead | {"templateId": dlt_id})
        assert sent.status == 201 and sent.body["status"] == "sent", sent.body
        assert stub.requests[-1].json()["src"] == header
    channels.save("org1", {"sms": {"dltEntityId": "1101000000000000001", "senderIds": ["JUSTOL"]}})
    refused = call(
        "POST", "/comms/sms", token=world.agent.token(), json_body=lead | {"templateId": "1107170000000000002"}
    )
    assert refused.status == 409 and refused.error["setting"] == "sms.senderIds" and len(stub.requests) == 2


def meta_page(items: list[dict[str, Any]], after: str | None) -> Scripted:
    """One page of `GET /{waba-id}/message_templates` as the Graph API answers it."""
    paging: dict[str, Any] = {"cursors": {"before": "QVFIUb", "after": after or "QVFIUz"}}
    if after:
        paging["next"] = (
            f"https://graph.facebook.com/v21.0/{OWN_CHANNELS['whatsapp']['wabaId']}/message_templates?after={after}"
        )
    return Scripted(200, {"data": items, "paging": paging})


def meta_template(name: str, status: str, category: str = "UTILITY", language: str = "en") -> dict[str, Any]:
    return {
        "id": f"9{abs(hash(name)) % 10**14}",
        "name": name,
        "language": language,
        "status": status,
        "category": category,
        "components": [{"type": "BODY", "text": "Hello {{1}}", "example": {"body_text": [["Asha"]]}}],
    }


def test_sync_reads_every_page_with_the_orgs_token_upserts_and_a_resync_changes_nothing(
    world: World, stub: Stub, clock: Any
) -> None:
    reader = providers.CloudTemplateReader(api_base=stub.base, backoff_sec=0.01)
    providers.install(templates=reader)
    remote = [
        meta_template("site_visit_reminder", "APPROVED"),  # the seeded one: its content comes from Meta
        meta_template("price_drop", "PENDING", "MARKETING"),
        meta_template("visit_feedback", "REJECTED", language="hi"),
    ]
    pages = [meta_page(remote[:2], "QVFIUcursor2"), meta_page(remote[2:], None)]
    stub.reply(*pages)
    first = call("POST", "/comms/templates/sync", token=world.admin.token())
    assert first.status == 200, first.body
    # seeded: site_visit_reminder (changed), new_launch_offer and project_brochure (gone from Meta)
    assert first.body == {"created": 2, "updated": 1, "unchanged": 0, "gone": 2}
    one, two = stub.requests
    waba, token = OWN_CHANNELS["whatsapp"]["wabaId"], OWN_CHANNELS["whatsapp"]["accessToken"]
    for request, after in ((one, None), (two, "QVFIUcursor2")):
        url = urlsplit(request.path)
        assert request.method == "GET" and url.path == f"/{waba}/message_templates"
        query = parse_qs(url.query)
        assert query["fields"] == ["name,language,status,category,components"] and query["limit"] == ["100"]
        assert query.get("after") == ([after] if after else None)
        assert request.headers["Authorization"] == f"Bearer {token}" and token not in request.path
    stored = templates_of()
    assert stored["wa-price_drop-en"]["status"] == "PENDING" and stored["wa-price_drop-en"]["category"] == "marketing"
    assert stored["wa-visit_feedback-hi"]["status"] == "REJECTED"
    assert stored["wa-new_launch_offer-en"]["gone"] is True and stored["wa-new_launch_offer-en"]["status"] == "DISABLED"
    assert json.loads(stored["wa-site_visit_reminder-en"]["components"]) == remote[0]["components"]
    stub.reply(*pages)
    second = call("POST", "/comms/templates/sync", token=world.admin.token())
    assert second.body == {"created": 0, "updated": 0, "unchanged": 3, "gone": 0}
    assert templates_of() == stored  # not one document written again
    gone = call(
        "POST",
        "/comms/whatsapp",
        token=world.agent.token(),
        json_body={"leadId": world.lead_id, "templateName": "new_launch_offer", "params": ["Skyline"]},
    )
    assert gone.status == 409
    stub.reply(Scripted(400, {"error": {"message": "Invalid parameter", "code": 100}}))
    refused = call("POST", "/comms/templates/sync", token=world.admin.token())
    assert refused.status == 409 and refused.error["setting"] == "whatsapp.accessToken" and templates_of() == stored
    stub.reply(*[Scripted(502, {})] * 3)
    down = call("POST", "/comms/templates/sync", token=world.admin.token())
    assert down.status == 503 and down.headers.get("Retry-After") == "30" and templates_of() == stored
