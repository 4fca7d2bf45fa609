"""Organization settings and teams."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, EmailStr, Field, StringConstraints, field_validator

from core.models import ApiModel, ApiOut, ApiPatch, DocId, Label, TimeZone
from core.permissions import PERMISSIONS, ROLES

# Names are checked by core.permissions.validate_overrides (each failing one named); here only their size.
RoleName = Annotated[str, StringConstraints(max_length=max(len(r) for r in ROLES) + 10)]
PermissionName = Annotated[str, StringConstraints(max_length=max(len(p) for p in PERMISSIONS) + 10)]
Overrides = dict[RoleName, Annotated[dict[PermissionName, bool], Field(max_length=len(PERMISSIONS))]]
MAX_CHOICES = 100  # stages, sources, configurations
MAX_MANAGERS = 50


def _unique_nonempty(values: list[str]) -> list[str]:
    cleaned = [value.strip() for value in values]
    if any(not value for value in cleaned):
        raise ValueError("entries must not be empty")
    if len(set(cleaned)) != len(cleaned):
        raise ValueError("entries must be unique")
    return cleaned


class OrgSettings(ApiOut):
    """The organization's settings."""

    stages: list[str] = Field(description="Pipeline stages, in order")
    sources: list[str] = Field(description="Lead sources")
    configurations: list[str] = Field(description="Unit configurations, e.g. 2BHK")
    role_permissions: dict[str, dict[str, bool]] = Field(description="Overrides of the default permissions per role")
    phone_masking: bool = Field(description="Agents see masked lead phone numbers")
    call_recording: bool = Field(description="Record VoIP calls")
    time_zone: str = Field(description="IANA time zone, e.g. Asia/Kolkata")
    default_country_code: str = Field(description="Country calling code for phones given without one")
    visit_stage_moves: bool = Field(description="Visits move the lead to site-visit-scheduled / site-visit-done")
    version: int = Field(description="Settings version, for If-Match")


class OrgSettingsUpdate(ApiPatch):
    """A partial change of the settings (admin)."""

    stages: list[Label] | None = Field(None, min_length=1, max_length=MAX_CHOICES, description="Pipeline stages")
    sources: list[Label] | None = Field(None, min_length=1, max_length=MAX_CHOICES, description="Lead sources")
    configurations: list[Label] | None = Field(
        None, min_length=1, max_length=MAX_CHOICES, description="Unit configurations"
    )
    role_permissions: Overrides | None = Field(
        None, max_length=len(ROLES), description="Permission overrides per role: {role: {permission: bool}}"
    )
    phone_masking: bool | None = Field(None, description="Mask lead phone numbers from agents")
    call_recording: bool | None = Field(None, description="Record VoIP calls")
    time_zone: TimeZone | None = Field(None, description="IANA time zone, e.g. Asia/Kolkata")
    default_country_code: str | None = Field(None, max_length=4, pattern=r"^\+[0-9]{1,3}$", description="e.g. +91")
    visit_stage_moves: bool | None = Field(None, description="Visits move the lead's stage")

    @field_validator("stages", "sources", "configurations")
    @classmethod
    def _lists(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _unique_nonempty(value)


class TeamCreate(ApiModel):
    """A new team."""

    id: DocId | None = Field(None, pattern=r"^[a-z0-9][a-z0-9-]{1,39}$", description="Optional slug id, e.g. north")
    name: str = Field(min_length=1, max_length=80, description="Team name")
    manager_ids: list[DocId] = Field(
        default_factory=list, max_length=MAX_MANAGERS, description="Uids of the team's managers"
    )


class TeamUpdate(ApiPatch):
    """A partial change of a team (neither may be null: a team always has a name and a list of managers)."""

    name: str | None = Field(None, min_length=1, max_length=80, description="Team name")
    manager_ids: list[DocId] | None = Field(None, max_length=MAX_MANAGERS, description="Uids of the team's managers")


class Team(ApiOut):
    """A team of the organization."""

    id: str = Field(description="Team id")
    name: str = Field(description="Team name")
    manager_ids: list[DocId] = Field(description="Uids of its managers")
    version: int = Field(description="Version, for If-Match")
    created_at: datetime = Field(description="When it was created")
    updated_at: datetime = Field(description="Last change")


# ---- the organization's own channels (PATCH /org/channels) -----------------------------------------

MAX_SENDER_IDS = 20
MAX_CALLER_IDS = 10
MetaId = Annotated[str, StringConstraints(max_length=20, pattern=r"^[0-9]{5,20}$")]  # Meta's numeric object ids
OneLine = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


def _dlt_header(value: str) -> str:
    """A DLT header: 6 letters (transactional and service messages) or 6 digits (promotional ones)."""
    header = value.strip().upper()
    if not (len(header) == 6 and (header.isascii() and (header.isalpha() or header.isdigit()))):
        raise ValueError("a DLT header is 6 letters (transactional, service) or 6 digits (promotional)")
    return header


DltHeader = Annotated[str, StringConstraints(max_length=6), AfterValidator(_dlt_header)]


class WhatsAppChannelIn(ApiPatch):
    """The organization's WhatsApp Business number on the Cloud API; fields left out keep their value."""

    clearable = frozenset({"display_phone_number"})

    phone_number_id: MetaId | None = Field(None, description="The Cloud API's phone number id")
    waba_id: MetaId | None = Field(None, description="The WhatsApp Business Account id (templates live there)")
    access_token: str | None = Field(
        None,
        min_length=20,
        max_length=1024,
        pattern=r"^[A-Za-z0-9_\-.|]+$",
        description="A system user's access token for the number (write-only: reads show set and last4)",
    )
    display_phone_number: str | None = Field(
        None, max_length=30, pattern=r"^\+?[0-9 ()-]{6,29}$", description="The number as buyers see it"
    )


class SmsChannelIn(ApiPatch):
    """The organization's DLT principal entity and its registered headers; fields left out keep their value."""

    dlt_entity_id: str | None = Field(
        None, max_length=19, pattern=r"^[0-9]{19}$", description="The DLT principal entity id (19 digits)"
    )
    sender_ids: list[DltHeader] | None = Field(
        None,
        min_length=1,
        max_length=MAX_SENDER_IDS,
        description="Registered headers: 6 letters (transactional, service) or 6 digits (promotional)",
    )

    @field_validator("sender_ids")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("headers must be unique")
        return value


class EmailChannelIn(ApiPatch):
    """The address the organization's emails come from; fields left out keep their value."""

    clearable = frozenset({"from_name", "reply_to"})

    from_address: EmailStr | None = Field(None, description="Sender address (its domain authenticated at the relay)")
    from_name: OneLine | None = Field(None, description="Sender name, e.g. the organization's brand")
    reply_to: EmailStr | None = Field(None, description="Where replies go")


class VoiceChannelIn(ApiPatch):
    """The organization's numbers on the platform's telephony account; the first is the VoIP caller id."""

    caller_ids: list[Annotated[str, StringConstraints(min_length=3, max_length=30)]] | None = Field(
        None,
        min_length=1,
        max_length=MAX_CALLER_IDS,
        description="Phone numbers (normalized to E.164, the organization's country code by default)",
    )


class ChannelsUpdate(ApiPatch):
    """A change of the organization's channels (admin): each section given merges, null removes it."""

    clearable = frozenset({"whatsapp", "sms", "email", "voice"})

    whatsapp: WhatsAppChannelIn | None = Field(None, description="WhatsApp Business number; null removes it")
    sms: SmsChannelIn | None = Field(None, description="DLT entity and headers; null removes them")
    email: EmailChannelIn | None = Field(None, description="Email sender; null removes it")
    voice: VoiceChannelIn | None = Field(None, description="Voice numbers; null removes them")
    opt_out_text: str | None = Field(
        None, min_length=1, max_length=500, description="The STOP confirmation the WhatsApp opt-out answers with"
    )


class SecretState(ApiOut):
    """A write-only credential as reads show it."""

    set: bool = Field(description="Whether one is stored")
    last4: str | None = Field(None, description="Its last 4 characters")


class WhatsAppChannelOut(ApiOut):
    """The organization's WhatsApp Business number."""

    phone_number_id: str = Field(description="The Cloud API's phone number id")
    waba_id: str | None = Field(None, description="The WhatsApp Business Account id")
    access_token: SecretState = Field(description="Whether a token is stored, and its last 4 characters")
    display_phone_number: str | None = Field(None, description="The number as buyers see it")


class SmsChannelOut(ApiOut):
    """The organization's DLT entity and headers."""

    dlt_entity_id: str = Field(description="DLT principal entity id")
    sender_ids: list[str] = Field(description="Registered headers; the first is the default")


class EmailChannelOut(ApiOut):
    """The organization's email sender."""

    from_address: str = Field(description="Sender address")
    from_name: str | None = Field(None, description="Sender name")
    reply_to: str | None = Field(None, description="Where replies go")


class VoiceChannelOut(ApiOut):
    """The organization's voice numbers."""

    caller_ids: list[str] = Field(description="E.164 numbers; the first is the VoIP caller id")


class ChannelsConfig(ApiOut):
    """The organization's own channels (credentials shown only as set and last 4)."""

    whatsapp: WhatsAppChannelOut | None = Field(description="WhatsApp Business number, or null")
    sms: SmsChannelOut | None = Field(description="DLT entity and headers, or null")
    email: EmailChannelOut | None = Field(description="Email sender, or null")
    voice: VoiceChannelOut | None = Field(description="Voice numbers, or null")
    opt_out_text: str = Field(description="The STOP confirmation sent on WhatsApp")
    version: int = Field(description="Version, for If-Match")
    updated_at: datetime | None = Field(None, description="Last change")


class ChannelTest(ApiModel):
    """A test message on one of the organization's channels (admin)."""

    channel: Literal["whatsapp", "sms", "email", "voice"] = Field(description="whatsapp, sms or email")
    to: str = Field(min_length=3, max_length=254, description="A phone number (WhatsApp, SMS) or an email address")
    template_id: DocId | None = Field(
        None, description="SMS: the DLT template id to send (default: the organization's first utility one)"
    )


class ChannelTestResult(ApiOut):
    """What the provider said to the test message."""

    channel: str = Field(description="The channel tested")
    status: Literal["sent", "failed"] = Field(description="sent (the provider accepted it) or failed")
    provider_message_id: str | None = Field(None, description="The provider's id of the message")
    reason: str | None = Field(None, description="Why it failed")
    sender: str | None = Field(None, description="What it went out from: number id, header or address")
