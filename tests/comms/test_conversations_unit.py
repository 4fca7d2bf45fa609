"""The pure rules of WhatsApp conversations: what each inbound type says, STOP/START, the thread's counters and
window, a merge's fold, the media checks, and previews that never carry a number."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms import conversations, media
from comms.inbound import command_of, content_of
from comms.payloads import WhatsAppMessage
from core.provider_calls import ProviderError
from leads.store import LeadRecord

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
LEAD = LeadRecord(id="L1", stage="new", assignee_id="u1", team_id="north")


def message(**fields: Any) -> WhatsAppMessage:
    """An inbound message as the webhook reads it."""
    return WhatsAppMessage.model_validate({"from": "919876543210", "id": "wamid.1", **fields})


CONTENT = [
    # (the message's type-specific fields, kind, text, media id, location, choice)
    ({"type": "text", "text": {"body": "Hi"}}, "text", "Hi", None, None, None),
    ({"text": {"body": "no type"}}, "text", "no type", None, None, None),
    ({"type": "image", "image": {"id": "M1", "caption": "Plan"}}, "image", "Plan", "M1", None, None),
    ({"type": "image", "image": {"id": "M1"}}, "image", "[image]", "M1", None, None),
    ({"type": "document", "document": {"id": "M2", "filename": "a.pdf"}}, "document", "a.pdf", "M2", None, None),
    ({"type": "audio", "audio": {"id": "M3", "mime_type": "audio/ogg"}}, "audio", "[audio]", "M3", None, None),
    ({"type": "video", "video": {"id": "M4", "caption": "Tour"}}, "video", "Tour", "M4", None, None),
    ({"type": "sticker", "sticker": {"id": "M5"}}, "sticker", "[sticker]", "M5", None, None),
    ({"type": "image", "image": "not an object"}, "image", "[image]", None, None, None),
    ({"type": "video", "video": {"caption": "no id"}}, "video", "[video]", None, None, None),
    (
        {"type": "location", "location": {"latitude": 18.5, "longitude": "73.8", "name": "Site", "address": "Pune"}},
        "location",
        "Site",
        None,
        {"latitude": 18.5, "longitude": 73.8, "name": "Site", "address": "Pune"},
        None,
    ),
    (
        {"type": "location", "location": {"latitude": "north", "longitude": 1}},
        "location",
        "[location]",
        None,
        None,
        None,
    ),
    ({"type": "location", "location": {"latitude": 91, "longitude": 1}}, "location", "[location]", None, None, None),
    (
        {"type": "button", "button": {"text": "Yes", "payload": "visit-yes"}},
        "button",
        "Yes",
        None,
        None,
        {"id": "visit-yes", "title": "Yes"},
    ),
    (
        {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": "Call me"}},
        },
        "interactive",
        "Call me",
        None,
        None,
        {"id": "b1", "title": "Call me", "description": None},
    ),
    (
        {
            "type": "interactive",
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": "r2", "title": "3BHK", "description": "Tower B"},
            },
        },
        "interactive",
        "3BHK",
        None,
        None,
        {"id": "r2", "title": "3BHK", "description": "Tower B"},
    ),
    ({"type": "reaction", "reaction": {"emoji": "+1"}}, "reaction", "[reaction]", None, None, None),
    ({"type": ["odd"]}, "text", "", None, None, None),
]


@pytest.mark.parametrize(("fields", "kind", "text", "media_id", "location", "choice"), CONTENT)
def test_every_inbound_type_reads_as_its_content(
    fields: dict[str, Any], kind: str, text: str, media_id: str | None, location: Any, choice: Any
) -> None:
    content = content_of(message(**fields))
    assert (content.kind, content.text, content.location, content.choice) == (kind, text, location, choice)
    assert (content.media.id if content.media else None) == media_id


@pytest.mark.parametrize(
    ("fields", "command"),
    [
        ({"type": "text", "text": {"body": "STOP"}}, "stop"),
        ({"type": "text", "text": {"body": "  stop\n"}}, "stop"),
        ({"type": "text", "text": {"body": "Unsubscribe"}}, "stop"),
        ({"type": "text", "text": {"body": "UNSUBSCRIBE "}}, "stop"),
        ({"type": "text", "text": {"body": "Start"}}, "start"),
        ({"type": "button", "button": {"text": "Stop promotions", "payload": "STOP"}}, None),
        ({"type": "button", "button": {"text": "STOP"}}, "stop"),
        ({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"title": "start"}}}, "start"),
        ({"type": "text", "text": {"body": "please stop calling"}}, None),
        ({"type": "text", "text": {"body": "stopp"}}, None),
        ({"type": "image", "image": {"id": "M1", "caption": "STOP"}}, None),
    ],
)
def test_stop_and_start_are_whole_words_in_any_case(fields: dict[str, Any], command: str | None) -> None:
    assert command_of(content_of(message(**fields))) == command


def _message(direction: str, at: datetime, text: str = "x") -> dict[str, Any]:
    return {"channel": "whatsapp", "direction": direction, "text": text, "createdAt": at}


def test_inbound_counts_unread_and_opens_the_window_from_when_the_buyer_wrote() -> None:
    first = conversations.touched(None, "org1", LEAD, _message("inbound", AT, "Hi"), AT)
    assert first["id"] == "whatsapp_L1" and first["unreadCount"] == 1 and first["unread"] is True
    assert first["windowOpenUntil"] == AT + timedelta(hours=24) and first["lastDirection"] == "inbound"
    reply = conversations.touched(first, "org1", LEAD, _message("outbound", AT + timedelta(hours=1)), AT)
    assert reply["unreadCount"] == 1 and reply["windowOpenUntil"] == AT + timedelta(hours=24)
    assert reply["lastDirection"] == "outbound"
    late = conversations.touched(reply, "org1", LEAD, _message("inbound", AT - timedelta(hours=2), "old"), AT)
    assert late["lastDirection"] == "outbound" and late["unreadCount"] == 2  # an older message is not the last
    assert late["windowOpenUntil"] == AT + timedelta(hours=24)  # nor does it shorten the window
    moved = LeadRecord(id="L1", stage="booked", assignee_id="u2", team_id="south", archived=True)
    followed = conversations.touched(late, "org1", moved, _message("inbound", AT + timedelta(hours=3)), AT)
    assert (followed["assigneeId"], followed["teamId"], followed["stage"], followed["archived"]) == (
        "u2",
        "south",
        "booked",
        True,
    )
    assert followed["windowOpenUntil"] == AT + timedelta(hours=27)


def test_a_merge_adds_unread_counts_and_keeps_the_later_message_and_window() -> None:
    target = conversations.touched(None, "org1", LEAD, _message("inbound", AT, "older"), AT)
    duplicate_lead = LeadRecord(id="L2", stage="new", assignee_id="u9", team_id="south")
    duplicate = conversations.touched(None, "org1", duplicate_lead, _message("inbound", AT + timedelta(hours=1)), AT)
    merged = conversations.folded(target, duplicate, LEAD)
    assert merged["unreadCount"] == 2 and merged["windowOpenUntil"] == AT + timedelta(hours=25)
    assert merged["lastMessageAt"] == AT + timedelta(hours=1) and merged["assigneeId"] == "u1"
    alone = conversations.folded(None, duplicate, LEAD)
    assert alone["id"] == "whatsapp_L1" and alone["leadId"] == "L1" and alone["teamId"] == "north"


@given(
    prefix=st.text(alphabet=st.characters(blacklist_categories=["Nd", "Cs"]), max_size=30),
    number=st.from_regex(r"[6-9][0-9]{9}", fullmatch=True),
    spaced=st.booleans(),
)
def test_a_preview_never_carries_a_phone_number(prefix: str, number: str, spaced: bool) -> None:
    shown = f"+91 {number[:5]} {number[5:]}" if spaced else f"+91{number}"
    preview = conversations.preview(f"{prefix} call {shown} now")
    assert number[2:8] not in preview.replace(" ", "") and len(preview) <= conversations.PREVIEW_CHARS


@pytest.mark.parametrize(
    ("mime", "kept"),
    [
        ("image/jpeg", "image/jpeg"),
        ("audio/ogg; codecs=opus", "audio/ogg"),
        ("VIDEO/MP4", "video/mp4"),
        ("application/pdf", "application/pdf"),
        ("application/x-msdownload", None),
        ("text/html", None),
        ("", None),
    ],
)
def test_only_whatsapps_media_types_are_kept(mime: str, kept: str | None) -> None:
    assert media.kept_type(mime) == kept


def test_media_must_match_what_the_graph_api_described() -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"x" * 10
    good = media.MediaInfo("https://x", "image/png", hashlib.sha256(data).hexdigest(), len(data))
    media.checked(good, data)
    media.checked(media.MediaInfo("https://x", "image/png", "", 0), data)  # nothing declared: nothing to check
    for wrong in (
        media.MediaInfo("https://x", "image/png", hashlib.sha256(b"other").hexdigest(), len(data)),
        media.MediaInfo("https://x", "image/png", "", len(data) + 1),
    ):
        with pytest.raises(ProviderError) as refused:
            media.checked(wrong, data)
        assert not refused.value.retryable
