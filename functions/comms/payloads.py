"""The shapes of the JSON providers POST, read tolerantly: a provider's delivery is signed and must never fail
on a part we do not use or do not understand (a retried delivery that can never succeed is lost data), so a
value of the wrong shape reads as absent (an `entry` that is not an object is skipped) instead of raising."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

T = TypeVar("T")


def _text(value: Any) -> str | None:
    """A string, or a number as its text; anything else (objects, lists, booleans) reads as absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _objects(value: Any) -> list[Any]:
    """The objects of a list; a non-list reads as empty and non-object items are skipped."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    """A finite number (or its text); anything else reads as absent."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, int | float | str) else None
    except (ValueError, OverflowError):
        return None
    return number if number is not None and abs(number) != float("inf") and number == number else None


Text = Annotated[str | None, BeforeValidator(_text)]
Number = Annotated[float | None, BeforeValidator(_number)]
Objects = Annotated[list[T], BeforeValidator(_objects)]


class Payload(BaseModel):
    """A provider's JSON object: unknown keys are ignored, every field may be absent."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class WhatsAppError(Payload):
    """Why a message failed."""

    title: Text = None
    message: Text = None


class WhatsAppStatus(Payload):
    """A delivery status of a message we sent."""

    id: Text = None
    status: Text = None
    timestamp: Text = None
    errors: Objects[WhatsAppError] = Field(default_factory=list)


class WhatsAppText(Payload):
    """The text of an inbound message."""

    body: Text = None


class WhatsAppMedia(Payload):
    """The media of an inbound image, document, audio, video or sticker: fetched by its id from the Graph API."""

    id: Text = None
    mime_type: Text = None
    sha256: Text = None
    caption: Text = None
    filename: Text = None


class WhatsAppLocation(Payload):
    """A shared location."""

    latitude: Number = None
    longitude: Number = None
    name: Text = None
    address: Text = None


class WhatsAppButton(Payload):
    """The reply a buyer gave with a template's quick-reply button."""

    text: Text = None
    payload: Text = None


class WhatsAppReplyChoice(Payload):
    """The button or list row a buyer chose in an interactive message."""

    id: Text = None
    title: Text = None
    description: Text = None


class WhatsAppInteractive(Payload):
    """An interactive reply: button_reply or list_reply."""

    type: Text = None
    button_reply: Annotated[WhatsAppReplyChoice, BeforeValidator(_object)] = Field(default_factory=WhatsAppReplyChoice)
    list_reply: Annotated[WhatsAppReplyChoice, BeforeValidator(_object)] = Field(default_factory=WhatsAppReplyChoice)


def _media(value: Any) -> WhatsAppMedia | None:
    return WhatsAppMedia.model_validate(value) if isinstance(value, dict) else None


Media = Annotated[WhatsAppMedia | None, BeforeValidator(_media)]


class WhatsAppMessage(Payload):
    """An inbound message."""

    id: Text = None
    sender: Text = Field(None, alias="from")
    type: Text = None
    timestamp: Text = None
    text: Annotated[WhatsAppText, BeforeValidator(_object)] = Field(default_factory=WhatsAppText)
    image: Media = None
    document: Media = None
    audio: Media = None
    video: Media = None
    sticker: Media = None
    location: Annotated[WhatsAppLocation, BeforeValidator(_object)] = Field(default_factory=WhatsAppLocation)
    button: Annotated[WhatsAppButton, BeforeValidator(_object)] = Field(default_factory=WhatsAppButton)
    interactive: Annotated[WhatsAppInteractive, BeforeValidator(_object)] = Field(default_factory=WhatsAppInteractive)


class WhatsAppProfile(Payload):
    """The sender's WhatsApp profile."""

    name: Text = None


class WhatsAppContact(Payload):
    """A sender of the messages of a change."""

    wa_id: Text = None
    profile: Annotated[WhatsAppProfile, BeforeValidator(_object)] = Field(default_factory=WhatsAppProfile)


class WhatsAppMetadata(Payload):
    """Which of our numbers the change is about."""

    phone_number_id: Text = None


class WhatsAppValue(Payload):
    """The content of a change: statuses and inbound messages of one phone number."""

    metadata: Annotated[WhatsAppMetadata, BeforeValidator(_object)] = Field(default_factory=WhatsAppMetadata)
    statuses: Objects[WhatsAppStatus] = Field(default_factory=list)
    messages: Objects[WhatsAppMessage] = Field(default_factory=list)
    contacts: Objects[WhatsAppContact] = Field(default_factory=list)


class WhatsAppChange(Payload):
    """One change of an entry."""

    value: Annotated[WhatsAppValue, BeforeValidator(_object)] = Field(default_factory=WhatsAppValue)


class WhatsAppEntry(Payload):
    """One business account's changes."""

    changes: Objects[WhatsAppChange] = Field(default_factory=list)


class WhatsAppDelivery(Payload):
    """One WhatsApp Cloud API webhook delivery."""

    object: Text = None
    entry: Objects[WhatsAppEntry] = Field(default_factory=list)


class SendGridEvent(Payload):
    """One event of a SendGrid Event Webhook batch; our custom args (unique_args) arrive at the top level."""

    event: Text = None
    sg_event_id: Text = None
    sg_message_id: Text = None
    timestamp: Text = None
    reason: Text = None
    type: Text = None  # a bounce's kind: bounce or blocked
    justo_message_id: Text = Field(None, alias="justoMessageId")
