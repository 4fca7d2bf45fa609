"""Calls, messages, templates and VoIP sessions as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from core.models import ApiModel, ApiOut, ApiPatch, DocId, Instant
from core.pagination import PageQuery

# A value for a template variable: one line of text, bounded (a message document stays small).
Param = Annotated[str, StringConstraints(max_length=1000)]
MAX_PARAMS = 20

Direction = Literal["outbound", "inbound"]
CallKind = Literal["phone", "voip"]
Outcome = Literal[
    "connected", "no-answer", "busy", "failed", "wrong-number", "callback-requested", "not-interested", "interested"
]
Channel = Literal["sms", "whatsapp", "email"]
MessageStatus = Literal["queued", "sent", "delivered", "read", "failed"]
Category = Literal["utility", "marketing"]


class PhoneRef(ApiModel):
    """A phone number as the app's call log shows it."""

    country_code: str | None = Field(
        None,
        max_length=4,
        pattern=r"^\+[0-9]{1,3}$",
        description="Country calling code, e.g. +91; the organization's by default",
    )
    number: str = Field(min_length=3, max_length=30, description="The number")


class CallCreate(ApiModel):
    """A call to log against a lead (by id, or by the number that called)."""

    lead_id: DocId | None = Field(None, description="The lead called or calling")
    phone: PhoneRef | None = Field(None, description="Instead of leadId: the number, matched to the lead who has it")
    direction: Direction = Field(description="outbound or inbound")
    kind: CallKind = Field("phone", description="phone (the agent's own phone) or voip")
    started_at: Instant = Field(description="When the call started (RFC 3339)")
    duration_sec: int = Field(0, ge=0, le=86_400, description="Talk time in seconds")
    outcome: Outcome = Field(description="What came of the call")
    notes: str = Field("", max_length=4000, description="Free-text notes")

    @model_validator(mode="after")
    def _one_lead(self) -> CallCreate:
        if (self.lead_id is None) == (self.phone is None):
            raise ValueError("give exactly one of leadId and phone")
        return self


class Call(ApiOut):
    """A logged call."""

    id: str = Field(description="Call id")
    lead_id: str = Field(description="The lead")
    agent_id: str | None = Field(description="The member who made or took the call")
    team_id: str | None = Field(description="The lead's team")
    direction: Direction = Field(description="outbound or inbound")
    kind: CallKind = Field(description="phone or voip")
    started_at: datetime = Field(description="When the call started")
    duration_sec: int = Field(description="Talk time in seconds")
    outcome: Outcome | None = Field(description="Outcome; null while a VoIP call is in progress")
    notes: str = Field(description="Notes")
    status: Literal["logged", "dialing", "completed"] = Field(description="logged by hand, or a VoIP call's state")
    recording_url: str | None = Field(None, description="Recording link, where the organization records calls")
    version: int = Field(description="Version")
    created_at: datetime = Field(description="When logged")


class CallListQuery(PageQuery):
    """Filters of GET /comms/calls."""

    lead_id: DocId | None = Field(None, description="Only this lead's calls")


class VoipSessionCreate(ApiModel):
    """A VoIP call to start."""

    lead_id: DocId = Field(description="The lead to call")


class IceServer(ApiOut):
    """A STUN/TURN server for app-to-app calls."""

    urls: list[str] = Field(description="turn: / stun: URLs")
    username: str | None = Field(None, description="TURN username (expiry:uid)")
    credential: str | None = Field(None, description="TURN credential (base64 HMAC-SHA1)")


class VoipSession(ApiOut):
    """What the app needs to place the call through the provider's SDK."""

    call_id: str = Field(description="The call log this call completes; send it as the X-PH-CallId header")
    provider: str = Field(description="Telephony provider (plivo)")
    access_token: str = Field(description="Short-lived token for the provider's mobile SDK, scoped to this agent")
    expires_at: datetime = Field(description="When the token expires")
    ice_servers: list[IceServer] = Field(description="TURN credentials for app-to-app calls")


class VoipRegistration(ApiOut):
    """What the app registers its provider SDK endpoint with, to receive the calls rung to this member."""

    provider: str = Field(description="Telephony provider (plivo)")
    access_token: str = Field(
        description="Token for the provider's mobile SDK, scoped to this member's endpoint: incoming and outgoing"
    )
    expires_at: datetime = Field(description="When the token expires: register again before")
    endpoint: str = Field(description="The endpoint username the token logs in as (calls ring sip:<endpoint>)")
    ice_servers: list[IceServer] = Field(description="TURN credentials for app-to-app calls")


class EmailCreate(ApiModel):
    """An email to a lead."""

    lead_id: DocId = Field(description="The lead")
    subject: str = Field(min_length=1, max_length=200, description="Subject line")
    body: str = Field(min_length=1, max_length=50_000, description="Plain-text body")
    attachment_ids: list[DocId] = Field(default_factory=list, max_length=10, description="Ready attachments to send")

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("must be one line without control characters")
        return value


class SmsCreate(ApiModel):
    """An SMS on a registered DLT template."""

    lead_id: DocId = Field(description="The lead")
    template_id: DocId = Field(max_length=100, description="The DLT template id")
    params: list[Param] = Field(
        default_factory=list, max_length=MAX_PARAMS, description="Values for the template's variables, in order"
    )


HeaderType = Literal["image", "document", "video", "text"]


class TemplateHeader(ApiModel):
    """What fills a WhatsApp template's header: a lead's ready attachment (image, document, video) or text."""

    type: HeaderType = Field(description="image, document, video or text: the template's header type")
    attachment_id: DocId | None = Field(
        None, description="A ready attachment of the lead (image, document or video headers)"
    )
    text: str | None = Field(None, min_length=1, max_length=60, description="The header's variable (text headers)")

    @model_validator(mode="after")
    def _filled(self) -> TemplateHeader:
        if self.type == "text" and (self.text is None or self.attachment_id is not None):
            raise ValueError("a text header takes text, not attachmentId")
        if self.type != "text" and (self.attachment_id is None or self.text is not None):
            raise ValueError(f"a {self.type} header takes attachmentId, not text")
        return self


class WhatsAppCreate(ApiModel):
    """A WhatsApp template message."""

    lead_id: DocId = Field(description="The lead")
    template_name: str = Field(min_length=1, max_length=512, description="Approved template name")
    language: str = Field("en", min_length=2, max_length=10, description="Template language code, e.g. en")
    params: list[Param] = Field(default_factory=list, max_length=MAX_PARAMS, description="Body parameters, in order")
    header: TemplateHeader | None = Field(None, description="Fills the template's header, e.g. the brochure PDF")
    button_params: list[Annotated[str, StringConstraints(min_length=1, max_length=2000)]] = Field(
        default_factory=list, max_length=10, description="The variable parts of the template's URL buttons, in order"
    )


class WhatsAppReply(ApiModel):
    """A free-form WhatsApp reply inside the customer-service window: text, or a ready attachment of the lead."""

    lead_id: DocId = Field(description="The lead")
    text: str | None = Field(None, min_length=1, max_length=4096, description="The reply's text (or attachmentId)")
    attachment_id: DocId | None = Field(
        None, description="A ready attachment of the lead: JPEG/PNG image, PDF, audio or MP4 video (or text)"
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("attachment_id")
    @classmethod
    def _exactly_one(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "text" not in info.data:  # text itself was refused: that is the error to name
            return value
        if value is not None and info.data["text"] is not None:
            raise ValueError("give text or attachmentId, not both")
        return value  # neither: the service names `text` (a default is not validated)


class StatusChange(ApiOut):
    """One step of a message's delivery."""

    status: MessageStatus = Field(description="The status reached")
    at: datetime = Field(description="When")
    reason: str | None = Field(None, description="Why it failed, when it did")


class MessageHeader(ApiOut):
    """A WhatsApp template's header as sent."""

    type: HeaderType = Field(description="image, document, video or text")
    attachment_id: str | None = Field(None, description="The attachment shown in it")
    text: str | None = Field(None, description="Its text")


class MessageMedia(ApiOut):
    """A buyer's media kept as a lead attachment (GET /attachments/{id} gives its download link)."""

    attachment_id: str | None = Field(None, description="The lead's attachment holding the file")
    status: Literal["pending", "ready", "failed"] = Field(description="pending while fetched, ready, or failed")
    content_type: str = Field("", description="MIME type")
    file_name: str = Field("", description="File name")
    size_bytes: int | None = Field(None, description="Size in bytes, once ready")
    reason: str | None = Field(None, description="Why it could not be kept")


class MessageLocation(ApiOut):
    """A location the buyer shared."""

    latitude: float = Field(description="Latitude")
    longitude: float = Field(description="Longitude")
    name: str | None = Field(None, description="The place's name")
    address: str | None = Field(None, description="Its address")


class MessageChoice(ApiOut):
    """The quick-reply button or list row the buyer chose."""

    id: str = Field("", description="The button's payload or the row's id")
    title: str = Field("", description="What the buyer saw and tapped")
    description: str | None = Field(None, description="A list row's description")


class Message(ApiOut):
    """A message to or from a lead."""

    id: str = Field(description="Message id")
    lead_id: str = Field(description="The lead")
    agent_id: str | None = Field(description="The member who sent it (or the lead's owner for inbound)")
    team_id: str | None = Field(description="The lead's team")
    channel: Channel = Field(description="sms, whatsapp or email")
    direction: Direction = Field(description="outbound or inbound")
    to: str = Field(description="Recipient (masked where the organization masks numbers)")
    sender: str | None = Field(None, description="Sender of an inbound message (masked likewise)")
    template: str | None = Field(None, description="Template name or DLT id")
    category: Category | None = Field(None, description="utility or marketing")
    subject: str | None = Field(None, description="Email subject")
    text: str = Field("", description="The text sent or received")
    status: MessageStatus = Field(description="queued, sent, delivered, read or failed")
    status_history: list[StatusChange] = Field(description="Every status change, oldest first")
    provider_message_id: str | None = Field(None, description="The provider's id")
    failure_reason: str | None = Field(None, description="Why it failed")
    send_after: datetime | None = Field(None, description="Queued promotional messages go out from this time")
    attachment_ids: list[str] = Field(default_factory=list, description="Attachments sent")
    header: MessageHeader | None = Field(None, description="A WhatsApp template's header as sent")
    button_params: list[str] = Field(default_factory=list, description="A WhatsApp template's URL button variables")
    kind: str | None = Field(
        None, description="WhatsApp: template, text, image, document, audio, video, sticker, location, button, ..."
    )
    media: MessageMedia | None = Field(None, description="An inbound WhatsApp media file, kept as a lead attachment")
    location: MessageLocation | None = Field(None, description="An inbound WhatsApp location")
    choice: MessageChoice | None = Field(None, description="An inbound WhatsApp button or list reply")
    created_at: datetime = Field(description="When stored")


class MessageListQuery(PageQuery):
    """Filters of GET /comms/messages."""

    lead_id: DocId | None = Field(None, description="Only this lead's messages")


TemplateStatus = Literal["APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED"]
WhatsAppCategory = Literal["utility", "marketing", "authentication"]
DltCategory = Literal["transactional", "service_implicit", "service_explicit", "promotional"]


class Template(ApiOut):
    """A registered message template."""

    id: str = Field(description="Template document id")
    channel: Literal["sms", "whatsapp"] = Field(description="sms or whatsapp")
    name: str | None = Field(None, description="WhatsApp template name")
    template_id: str | None = Field(None, description="DLT template id (SMS)")
    category: Category | Literal["authentication"] = Field(description="utility, marketing (or authentication)")
    dlt_category: DltCategory | None = Field(None, description="SMS: the DLT content category")
    language: str = Field(description="Language code")
    params: list[str] = Field(description="Names of the variables, in order")
    text: str = Field("", description="The registered text, {#var#} or {{n}} for variables")
    status: TemplateStatus = Field("APPROVED", description="APPROVED (sendable), PENDING, REJECTED, PAUSED, DISABLED")
    components: list[dict[str, Any]] = Field(
        default_factory=list, description="WhatsApp: the Cloud API's components (HEADER, BODY, FOOTER, BUTTONS)"
    )
    gone: bool = Field(False, description="WhatsApp: no longer at the provider (seen by the last sync)")
    version: int = Field(1, description="Version, for If-Match")
    synced_at: datetime | None = Field(None, description="When the last sync read it from the provider")
    updated_at: datetime | None = Field(None, description="Last change")


# ---- registering templates (POST /comms/templates): the Cloud API's component format, Meta's limits ----


class WaModel(BaseModel):
    """A part of a WhatsApp template as the Cloud API spells it (snake_case, upper-case types)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


WaText = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Example = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class ComponentExample(WaModel):
    """Sample values for Meta's review: a text header's variable, a media header's handle, the body's variables."""

    header_text: list[Example] | None = Field(None, max_length=1, description="HEADER TEXT: its sample value")
    header_handle: list[Example] | None = Field(None, max_length=1, description="HEADER media: a sample handle")
    body_text: list[Annotated[list[Example], Field(max_length=MAX_PARAMS)]] | None = Field(
        None, max_length=1, description="BODY: one list of sample values, {{1}} first"
    )


class Button(WaModel):
    """One button: QUICK_REPLY, URL (at most one variable, at the end) or PHONE_NUMBER."""

    type: Literal["QUICK_REPLY", "URL", "PHONE_NUMBER"] = Field(description="QUICK_REPLY, URL or PHONE_NUMBER")
    text: str = Field(min_length=1, max_length=25, description="The button's label")
    url: str | None = Field(None, min_length=8, max_length=2000, description="URL: https://..., {{1}} at the end")
    phone_number: str | None = Field(None, max_length=20, pattern=r"^\+[0-9]{6,19}$", description="PHONE_NUMBER: E.164")
    example: list[Example] | None = Field(None, max_length=1, description="URL: a sample full URL")


class Component(WaModel):
    """One component as the Cloud API spells it. HEADER: `format` (TEXT with `text` of 60 characters and at most
    {{1}}, IMAGE, DOCUMENT, VIDEO); BODY: `text` (1024 characters, {{1}}..{{n}}); FOOTER: `text` (60, no
    variables); BUTTONS: `buttons` (up to 10: 2 URL, 1 PHONE_NUMBER, quick replies together). Which fields a
    type takes is checked with the whole template (comms.templates.check_components), naming the field."""

    type: Literal["HEADER", "BODY", "FOOTER", "BUTTONS"] = Field(description="HEADER, BODY, FOOTER or BUTTONS")
    format: Literal["TEXT", "IMAGE", "DOCUMENT", "VIDEO"] | None = Field(None, description="HEADER: its format")
    text: WaText | None = Field(None, description="HEADER TEXT, BODY or FOOTER: the text")
    example: ComponentExample | None = Field(None, description="Sample values for review")
    buttons: list[Button] | None = Field(None, min_length=1, max_length=10, description="BUTTONS: in order")


class TemplateCreate(ApiModel):
    """A template to register (admin): SMS (its DLT registration) or WhatsApp (its Cloud API components)."""

    channel: Literal["sms", "whatsapp"] = Field(description="sms or whatsapp")
    dlt_template_id: str | None = Field(
        None, max_length=19, pattern=r"^[0-9]{19}$", description="SMS: the DLT template id (19 digits)"
    )
    name: str | None = Field(
        None, min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$", description="WhatsApp: name, [a-z0-9_]"
    )
    language: str = Field(
        "en", max_length=6, pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$", description="Language code, e.g. en, en_US"
    )
    category: Category | Literal["authentication"] = Field(
        description="utility or marketing (WhatsApp also authentication)"
    )
    dlt_category: DltCategory | None = Field(
        None, description="SMS: DLT content category (default: service_implicit for utility, promotional for marketing)"
    )
    text: str | None = Field(
        None, min_length=1, max_length=2000, description="SMS: the registered text, {#var#} for each variable"
    )
    components: list[Component] | None = Field(
        None, min_length=1, max_length=4, description="WhatsApp: HEADER?, BODY, FOOTER?, BUTTONS? (Cloud API format)"
    )
    status: TemplateStatus | None = Field(
        None, description="Approval status (default: APPROVED for SMS, registered at DLT; PENDING for WhatsApp)"
    )


class TemplateUpdate(ApiPatch):
    """A change of a registered template (admin): its text or components, category or status."""

    category: Category | Literal["authentication"] | None = Field(None, description="utility, marketing, ...")
    dlt_category: DltCategory | None = Field(None, description="SMS: DLT content category")
    text: str | None = Field(None, min_length=1, max_length=2000, description="SMS: the registered text")
    components: list[Component] | None = Field(None, min_length=1, max_length=4, description="WhatsApp components")
    status: TemplateStatus | None = Field(None, description="Approval status")


class TemplateSync(ApiOut):
    """What a sync with the provider changed."""

    created: int = Field(description="Templates new from the provider")
    updated: int = Field(description="Templates whose status or content changed")
    unchanged: int = Field(description="Templates as they were")
    gone: int = Field(description="Registered templates the provider no longer has (now DISABLED)")


class Conversation(ApiOut):
    """A WhatsApp thread with a lead (its listener document is `orgs/{orgId}/conversations/{id}`)."""

    id: str = Field(description="Conversation id (one per lead and channel)")
    lead_id: str = Field(description="The lead")
    channel: Literal["whatsapp"] = Field(description="whatsapp")
    assignee_id: str | None = Field(None, description="The lead's assignee")
    team_id: str | None = Field(None, description="The lead's team")
    last_message_at: datetime = Field(description="When the newest message was sent or received")
    last_direction: Direction = Field(description="inbound or outbound: who wrote last")
    last_text: str = Field("", description="A short preview of the newest message (phone numbers scrubbed)")
    unread_count: int = Field(0, description="Inbound messages since the thread was last marked read")
    window_open_until: datetime | None = Field(
        None, description="WhatsApp's customer-service window: free-form replies until then (24 h after the buyer)"
    )
    created_at: datetime = Field(description="When the first message came or went")
    updated_at: datetime = Field(description="Last change")


class ConversationListQuery(PageQuery):
    """Filters of GET /comms/conversations."""

    lead_id: DocId | None = Field(None, description="Only this lead's")
    assignee_id: DocId | None = Field(None, description="Only those of this assignee's leads")
    unread: bool = Field(False, description="true: only threads with unread inbound messages")
