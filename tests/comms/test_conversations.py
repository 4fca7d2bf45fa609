"""WhatsApp conversations through the real `webhooks` and `comms` handlers: inbound messages of every kind, the
24-hour window, free-form replies, media through the Graph API stub, STOP/START, and threads that follow their
lead (the registry's triggers run in process)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest

from comms import channels, media, providers
from core import tenancy
from devtools.inproc import Response, call
from tests.comms.conftest import LEAD_PHONE, OWN_CHANNELS, World, make_lead
from tests.comms.stub import Scripted, Stub
from tests.comms.test_messages import accepted_whatsapp, cloud
from tests.support.outbox import pushes_to
from tests.support.ports import tasks_queue  # noqa: F401 - a fixture: the SLA trigger enqueues in memory
from tests.support.triggers import Triggers
from webhooks.signatures import hub_signature

pytestmark = pytest.mark.http

PHONE_NUMBER_ID = OWN_CHANNELS["whatsapp"]["phoneNumberId"]
TOKEN = OWN_CHANNELS["whatsapp"]["accessToken"]
WA_SENDER = LEAD_PHONE.lstrip("+")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def inbound(wamid: str, at: int, *, sender: str = WA_SENDER, **content: Any) -> Response:
    """POST one signed inbound message, as Meta delivers it (text unless content says otherwise)."""
    message = {"from": sender, "id": wamid, "timestamp": str(at), "type": "text", "text": {"body": "Hello"}}
    message |= content
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "918045678900", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Ravi Kumar"}, "wa_id": sender}],
        "messages": [message],
    }
    body = json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"value": value}]}]}
    ).encode()
    headers = {"X-Hub-Signature-256": hub_signature("local-whatsapp-secret", body)}
    return call("POST", "/webhooks/whatsapp", data=body, content_type="application/json", headers=headers)


def conversation(lead_id: str) -> dict[str, Any]:
    """The stored conversation of a lead (what its listener reads)."""
    return tenancy.org_ref("org1").collection("conversations").document(f"whatsapp_{lead_id}").get().to_dict() or {}


def now_ts(clock: Any, minutes: int = 0) -> int:
    """A provider timestamp minutes after the test clock."""
    return int((clock.at + timedelta(minutes=minutes)).timestamp())


def graph(stub: Stub) -> media.CloudMediaFetcher:
    """The real media client, pointed at the stub."""
    return media.CloudMediaFetcher(api_base=stub.base, attempts=2, backoff_sec=0.01, timeout_sec=2)


def test_inbound_text_opens_the_window_counts_unread_pushes_the_owner_and_replays_write_nothing(
    world: World, clock: Any
) -> None:
    at = now_ts(clock, -5)
    assert inbound("wamid.T1", at, text={"body": "Call me on +91 98111 22233 please"}).status == 200
    assert inbound("wamid.T1", at, text={"body": "Call me on +91 98111 22233 please"}).body == {
        "received": {"statuses": 0, "messages": 0}
    }
    stored = conversation(world.lead_id)
    assert stored["unreadCount"] == 1 and stored["unread"] is True and stored["lastDirection"] == "inbound"
    assert stored["windowOpenUntil"] == clock.at - timedelta(minutes=5) + timedelta(hours=24)
    assert stored["lastText"] == "Call me on [number] please"  # the listener document never holds a number
    assert (stored["assigneeId"], stored["teamId"], stored["stage"]) == (world.agent.uid, "north", "new")
    (push,) = [p for p in pushes_to(world.agent.uid) if p["data"]["kind"] == "whatsapp-message"]
    assert push["subject"] == "WhatsApp from Asha Buyer" and push["text"] == "Call me on [number] please"
    assert "98765" not in json.dumps(push, default=str) and "98111" not in push["text"]
    assert push["data"]["conversationId"] == f"whatsapp_{world.lead_id}"

    mine = call("GET", "/comms/conversations", token=world.agent.token())
    assert [(c["id"], c["unreadCount"]) for c in mine.body["items"]] == [(f"whatsapp_{world.lead_id}", 1)]
    assert call("GET", "/comms/conversations", token=world.other_agent.token()).body["items"] == []
    assert len(call("GET", "/comms/conversations?unread=true", token=world.manager.token()).body["items"]) == 1
    other = f"?assigneeId={world.other_agent.uid}"
    assert call("GET", "/comms/conversations" + other, token=world.agent.token()).body["items"] == []
    refused = call("GET", f"/comms/conversations/whatsapp_{world.lead_id}/messages", token=world.other_agent.token())
    assert refused.status == 403
    thread = call("GET", f"/comms/conversations/whatsapp_{world.lead_id}/messages", token=world.agent.token())
    (message,) = thread.body["items"]
    assert message["direction"] == "inbound" and message["kind"] == "text" and message["status"] == "delivered"

    for _ in range(2):  # idempotent
        read = call("POST", f"/comms/conversations/whatsapp_{world.lead_id}/read", token=world.agent.token())
        assert read.status == 200 and read.body["unreadCount"] == 0
    assert call("GET", "/comms/conversations?unread=true", token=world.agent.token()).body["items"] == []
    assert call("POST", "/comms/conversations/whatsapp_nope/read", token=world.agent.token()).status == 404


def test_a_reply_inside_the_window_goes_out_free_form_and_outside_it_is_refused(
    world: World, stub: Stub, clock: Any
) -> None:
    reply = {"leadId": world.lead_id, "text": "Yes, the 3BHK is available."}
    closed = call("POST", "/comms/whatsapp/reply", token=world.agent.token(), json_body=reply)
    assert closed.status == 409 and closed.body["error"]["code"] == "FAILED_PRECONDITION"  # no message yet
    assert inbound("wamid.R1", now_ts(clock, -60)).status == 200
    clock.at += timedelta(minutes=1)
    stub.reply(accepted_whatsapp("wamid.OUT1"))
    providers.install(whatsapp=cloud(stub))
    headers = {"Idempotency-Key": "reply-1"}
    sent = call("POST", "/comms/whatsapp/reply", token=world.agent.token(), json_body=reply, headers=headers)
    assert sent.status == 201, sent.body
    assert sent.body["status"] == "sent" and sent.body["kind"] == "text" and sent.body["to"] == LEAD_PHONE
    again = call("POST", "/comms/whatsapp/reply", token=world.agent.token(), json_body=reply, headers=headers)
    assert again.body["id"] == sent.body["id"]
    (request,) = stub.requests
    assert request.path == f"/{PHONE_NUMBER_ID}/messages" and request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_SENDER,
        "type": "text",
        "text": {"body": "Yes, the 3BHK is available.", "preview_url": False},
    }
    stored = conversation(world.lead_id)
    assert stored["lastDirection"] == "outbound" and stored["lastText"] == "Yes, the 3BHK is available."
    assert stored["unreadCount"] == 1  # a reply is not a read
    lead = tenancy.org_ref("org1").collection("leads").document(world.lead_id).get().to_dict() or {}
    assert lead["firstContactAt"] is not None  # the assignee's reply is first contact
    thread = call("GET", f"/comms/conversations/whatsapp_{world.lead_id}/messages", token=world.agent.token())
    assert [m["direction"] for m in thread.body["items"]] == ["outbound", "inbound"]

    for body, field in (
        ({"leadId": world.lead_id}, "text"),
        ({"leadId": world.lead_id, "text": "x", "attachmentId": "att_1"}, "attachmentId"),
        ({"leadId": world.lead_id, "text": "  "}, "text"),
    ):
        refused = call("POST", "/comms/whatsapp/reply", token=world.agent.token(), json_body=body)
        assert refused.status == 400 and field in refused.body["error"]["fields"], refused.body
    missing = call(
        "POST",
        "/comms/whatsapp/reply",
        token=world.agent.token(),
        json_body=reply | {"attachmentId": None, "text": None},
    )
    assert missing.status == 400

    clock.at += timedelta(hours=22, minutes=59)  # 24 h after the buyer's message, the window is closed
    late = call("POST", "/comms/whatsapp/reply", token=world.agent.token(), json_body=reply)
    assert late.status == 409 and "template" in late.body["error"]["message"]
    assert late.body["error"]["windowOpenUntil"] == "2026-11-26T05:00:00.000Z"
    assert len(stub.requests) == 1

    channels.save("org1", {"whatsapp": None})
    clock.at -= timedelta(hours=22, minutes=59)
    unset = call("POST", "/comms/whatsapp/reply", token=world.agent.token(), json_body=reply)
    assert unset.status == 409 and unset.body["error"]["setting"] == "whatsapp.phoneNumberId"


def test_media_is_fetched_with_the_organizations_token_and_kept_as_a_lead_attachment(
    world: World, stub: Stub, storage_emulator: str, clock: Any
) -> None:
    sha = hashlib.sha256(PNG).hexdigest()
    described = {"url": f"{stub.base}/lookaside/m1", "mime_type": "image/png", "sha256": sha, "file_size": len(PNG)}
    stub.reply(Scripted(200, described | {"id": "MEDIA1"}), Scripted(200, PNG, content_type="image/png"))
    media.install(graph(stub))
    image: dict[str, Any] = {
        "type": "image",
        "image": {"id": "MEDIA1", "mime_type": "image/png", "sha256": sha, "caption": "Plan"},
    }
    assert inbound("wamid.M1", now_ts(clock), **image).status == 200
    info, download = stub.requests
    assert (info.method, info.path, info.headers["Authorization"]) == ("GET", "/MEDIA1", f"Bearer {TOKEN}")
    assert (download.method, download.path, download.headers["Authorization"]) == (
        "GET",
        "/lookaside/m1",
        f"Bearer {TOKEN}",
    )
    thread = call("GET", f"/comms/conversations/whatsapp_{world.lead_id}/messages", token=world.agent.token())
    (message,) = thread.body["items"]
    assert message["kind"] == "image" and message["text"] == "Plan"
    assert message["media"]["status"] == "ready" and message["media"]["sizeBytes"] == len(PNG)
    attachment = call("GET", f"/attachments/{message['media']['attachmentId']}", token=world.agent.token())
    assert attachment.status == 200 and attachment.body["status"] == "ready", attachment.body
    assert attachment.body["uploadedBy"] is None and attachment.body["leadId"] == world.lead_id
    import httpx

    assert httpx.get(attachment.body["downloadUrl"]).content == PNG

    # the agent sends a ready attachment of the lead back as media, by a fresh signed link of its approved file
    stub.requests.clear()
    stub.reply(accepted_whatsapp("wamid.OUTIMG"))
    providers.install(whatsapp=cloud(stub))
    reply = {"leadId": world.lead_id, "attachmentId": message["media"]["attachmentId"]}
    sent = call("POST", "/comms/whatsapp/reply", token=world.agent.token(), json_body=reply)
    assert sent.status == 201 and sent.body["kind"] == "image", sent.body
    (request,) = stub.requests
    body = request.json()
    assert body["type"] == "image" and set(body["image"]) == {"link"}
    assert f"generation={_generation(message['media']['attachmentId'])}" in body["image"]["link"]
    other = make_lead("org1", assignee=world.agent.uid, phone="98765 00022", emails=(), name="Other Buyer")
    assert inbound("wamid.M0", now_ts(clock), sender="919876500022").status == 200  # its window is open too
    foreign = call("POST", "/comms/whatsapp/reply", token=world.agent.token(), json_body=reply | {"leadId": other})
    assert foreign.status == 400 and "attachmentId" in foreign.body["error"]["fields"]  # another lead's file
    assert len(stub.requests) == 1

    # The Graph API is down: the message is kept, Meta is told to deliver again, and the redelivery only
    # fetches the media (no second message, unread counted once).
    clock.at += timedelta(minutes=1)
    stub.reply(Scripted(500, {}), Scripted(500, {}))
    document: dict[str, Any] = {
        "type": "document",
        "document": {"id": "MEDIA2", "mime_type": "application/pdf", "filename": "a.pdf"},
    }
    assert inbound("wamid.M2", now_ts(clock, 1), **document).status == 503
    assert conversation(world.lead_id)["unreadCount"] == 2
    pdf = b"%PDF-1.4\n" + b"x" * 100 + b"\n%%EOF\n"
    described = {"url": f"{stub.base}/lookaside/m2", "mime_type": "application/pdf", "file_size": len(pdf)}
    stub.reply(Scripted(200, described), Scripted(200, pdf, content_type="application/pdf"))
    assert inbound("wamid.M2", now_ts(clock, 1), **document).status == 200
    assert conversation(world.lead_id)["unreadCount"] == 2
    thread = call("GET", f"/comms/conversations/whatsapp_{world.lead_id}/messages", token=world.agent.token())
    newest = thread.body["items"][0]
    assert [m["direction"] for m in thread.body["items"]].count("inbound") == 2 and newest["media"]["status"] == "ready"
    assert newest["media"]["fileName"] == "a.pdf" and newest["text"] == "a.pdf"

    # Media that can never be fetched: kept as failed, and 200 so Meta stops retrying.
    clock.at += timedelta(minutes=1)
    stub.reply(Scripted(404, {"error": {"message": "media not found", "code": 100}}))
    audio: dict[str, Any] = {"type": "audio", "audio": {"id": "MEDIA3", "mime_type": "audio/ogg; codecs=opus"}}
    assert inbound("wamid.M3", now_ts(clock, 2), **audio).status == 200
    newest = call("GET", f"/comms/messages?leadId={world.lead_id}", token=world.agent.token()).body["items"][0]
    assert newest["media"]["status"] == "failed" and "404" in newest["media"]["reason"]
    assert newest["media"]["contentType"] == "audio/ogg"


def _generation(attachment_id: str) -> str:
    """The Cloud Storage generation an attachment was approved at."""
    return str(tenancy.org_ref("org1").collection("attachments").document(attachment_id).get().get("objectGeneration"))


def test_stop_records_do_not_contact_confirms_once_and_start_lifts_it(world: World, stub: Stub, clock: Any) -> None:
    channels.ref("org1").update({"optOutText": "Done: no more WhatsApp from Demo Realty."})
    providers.install(whatsapp=cloud(stub))
    stub.reply(accepted_whatsapp("wamid.CONFIRM1"))
    for _ in range(2):  # Meta redelivers: one confirmation only
        assert inbound("wamid.S1", now_ts(clock), text={"body": "  Stop "}).status == 200
    lead = tenancy.org_ref("org1").collection("leads").document(world.lead_id).get().to_dict() or {}
    assert "whatsapp" in lead["doNotContact"] and lead["optOuts"]["whatsapp"] == clock.at
    (confirmation,) = stub.requests
    assert confirmation.json()["text"]["body"] == "Done: no more WhatsApp from Demo Realty."
    template = {"leadId": world.lead_id, "templateName": "site_visit_reminder", "language": "en", "params": ["11"]}
    assert call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=template).status == 409
    reply = {"leadId": world.lead_id, "text": "Sorry to see you go"}
    assert call("POST", "/comms/whatsapp/reply", token=world.agent.token(), json_body=reply).status == 409

    stub.reply(accepted_whatsapp("wamid.CONFIRM2"))
    assert inbound("wamid.S2", now_ts(clock, 1), type="button", button={"text": "START", "payload": "go"}).status == 200
    lead = tenancy.org_ref("org1").collection("leads").document(world.lead_id).get().to_dict() or {}
    assert "whatsapp" not in lead["doNotContact"]
    assert "STOP" in stub.requests[-1].json()["text"]["body"] and len(stub.requests) == 2
    assert call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=template).status == 201


def test_an_unknown_number_becomes_a_routed_lead_whose_assignee_is_pushed(world: World, clock: Any) -> None:
    location: dict[str, Any] = {
        "type": "location",
        "location": {"latitude": 18.52, "longitude": 73.85, "name": "Skyline site"},
    }
    assert inbound("wamid.U1", now_ts(clock), sender="919111122222", **location).status == 200
    (conv,) = [c for c in tenancy.org_ref("org1").collection("conversations").stream()]
    stored = conv.to_dict() or {}
    lead = tenancy.org_ref("org1").collection("leads").document(stored["leadId"]).get().to_dict() or {}
    assert lead["source"] == "whatsapp" and stored["assigneeId"] == lead["assigneeId"] is not None
    kinds = {p["data"]["kind"] for p in pushes_to(lead["assigneeId"])}
    assert "whatsapp-message" in kinds
    thread = call("GET", f"/comms/conversations/{conv.id}/messages", token=world.admin.token())
    assert thread.body["items"][0]["location"] == {
        "latitude": 18.52,
        "longitude": 73.85,
        "name": "Skyline site",
        "address": None,
    }


@pytest.mark.usefixtures("tasks_queue")
def test_a_conversation_follows_its_lead_through_reassignment_and_merge(world: World, clock: Any) -> None:
    from comms import conversations

    duplicate = make_lead("org1", assignee=world.agent.uid, phone="98765 00011", emails=(), name="Asha Again")
    assert inbound("wamid.F1", now_ts(clock, -2)).status == 200
    assert inbound("wamid.F2", now_ts(clock, -1), sender="919876500011").status == 200
    with Triggers().running():  # the deployed trigger, as Eventarc runs it after the assignment's write
        body = {"assigneeId": world.other_agent.uid}
        moved = call("POST", f"/leads/{world.lead_id}/assign", token=world.admin.token(), json_body=body)
        assert moved.status == 200, moved.body
    assert conversation(world.lead_id)["assigneeId"] == world.other_agent.uid
    assert call("GET", "/comms/conversations", token=world.agent.token()).body["items"][0]["leadId"] == duplicate

    before = tenancy.org_ref("org1").collection("leads").document(duplicate).get().to_dict()
    merged = call(
        "POST", f"/leads/{world.lead_id}/merge", token=world.admin.token(), json_body={"duplicateId": duplicate}
    )
    assert merged.status == 200, merged.body
    # The duplicate's events as production delivers them (archived and mergedInto, then deleted), twice each,
    # and as one event (the archive and the delete seen together): the thread is folded in once.
    archived = dict(before or {}, archived=True, mergedInto=world.lead_id)
    for event in ((before, archived), (before, archived), (archived, None), (before, None)):
        conversations.follow_lead("org1", duplicate, *event)
    assert conversation(duplicate) == {}
    kept = conversation(world.lead_id)
    assert kept["unreadCount"] == 2 and kept["assigneeId"] == world.other_agent.uid
    thread = call("GET", f"/comms/conversations/whatsapp_{world.lead_id}/messages", token=world.other_agent.token())
    assert len(thread.body["items"]) == 2
    assert call("GET", "/comms/conversations", token=world.agent.token()).body["items"] == []
