"""Erasure at the providers that keep copies of a lead's data: call recordings at the telephony provider
(Plivo `DELETE /v1/Account/{auth_id}/Recording/{id}/`) and WhatsApp media (Cloud API `DELETE /{media-id}` with
the organization's token). Each deletion is retried on 5xx and timeouts; what is already gone (404) counts as
erased; what still fails is named in the erasure's report. On the emulators the requests land in the outbox."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from core import outbox
from core.provider_calls import USER_AGENT, ProviderError, call_json, with_retries

# Plivo's recording URL: https://media.plivo.com/v1/Account/{auth_id}/Recording/{recording_id}.mp3
RECORDING = re.compile(r"/Recording/([0-9A-Za-z-]{8,64})(?:\.[a-z0-9]{2,4})?/?$")
MEDIA_FIELDS = ("mediaId", "providerMediaId", "whatsappMediaId")


@dataclass(frozen=True)
class Copy:
    """One copy of the lead's data at a provider."""

    provider: str  # plivo, whatsapp
    kind: str  # recording, media
    id: str


def copies(records: Iterable[Mapping[str, Any]]) -> list[Copy]:
    """The provider copies a lead's records point to: recordings of its calls, WhatsApp media of its messages
    and attachments (deduplicated, in a stable order)."""
    found: dict[tuple[str, str], Copy] = {}
    for record in records:
        url = record.get("recordingUrl")
        match = RECORDING.search(str(url)) if isinstance(url, str) else None
        if match:
            found[("plivo", match.group(1))] = Copy("plivo", "recording", match.group(1))
        media = record.get("media")  # an inbound WhatsApp message's media (comms.inbound)
        nested = media if isinstance(media, Mapping) else {}
        for value in [record.get(field) for field in MEDIA_FIELDS] + [nested.get("mediaId")]:
            if isinstance(value, str) and value.isdigit():
                found[("whatsapp", value)] = Copy("whatsapp", "media", value)
    return [found[key] for key in sorted(found)]


class Eraser(Protocol):
    """Deletes one copy at its provider: "deleted", "gone" (it was not there), or raises ProviderError."""

    def erase(self, org_id: str, copy: Copy) -> str:
        """Delete one copy."""
        ...


class LiveEraser:
    """The providers' real deletion APIs."""

    def __init__(
        self, *, plivo_api: str, plivo_auth_id: str, plivo_auth_token: str, graph_api: str, attempts: int = 3
    ) -> None:
        self.plivo_api, self.plivo_auth_id = plivo_api.rstrip("/"), plivo_auth_id
        self.plivo_auth_token = plivo_auth_token
        self.graph_api, self.attempts = graph_api.rstrip("/"), attempts

    def request(self, org_id: str, copy: Copy) -> tuple[str, dict[str, str]]:
        """The exact URL and headers of the deletion."""
        if copy.provider == "plivo":
            basic = base64.b64encode(f"{self.plivo_auth_id}:{self.plivo_auth_token}".encode()).decode()
            url = f"{self.plivo_api}/v1/Account/{self.plivo_auth_id}/Recording/{copy.id}/"
            return url, {"Authorization": f"Basic {basic}", "User-Agent": USER_AGENT}
        from comms import channels

        token = channels.whatsapp(org_id).access_token
        return f"{self.graph_api}/{copy.id}", {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}

    def erase(self, org_id: str, copy: Copy) -> str:
        """Delete with retries; a 404 is already gone."""
        url, headers = self.request(org_id, copy)
        try:
            with_retries(
                lambda: call_json("DELETE", url, headers=headers, timeout=10, empty={}),
                attempts=self.attempts,
                backoff_sec=0.5,
            )
        except ProviderError as error:
            if error.status == 404:
                return "gone"
            raise
        return "deleted"


class OutboxEraser:
    """Emulator: the deletion lands in the outbox (channel provider-erasure)."""

    def erase(self, org_id: str, copy: Copy) -> str:
        """Record the deletion that would have been asked for."""
        outbox.record(channel="provider-erasure", to=copy.provider, subject=copy.kind, text=copy.id, refs=[])
        return "deleted"


_eraser: Eraser | None = None


def eraser() -> Eraser:
    """The configured eraser: the providers when live, the outbox otherwise."""
    global _eraser
    if _eraser is None:
        from comms import config as comms_config
        from core import secrets

        config = comms_config.get()
        if config.live:
            _eraser = LiveEraser(
                plivo_api=config.plivo_api,
                plivo_auth_id=comms_config.required(config, "PLIVO_AUTH_ID", "erasure of call recordings"),
                plivo_auth_token=secrets.value(secrets.VOICE_AUTH_TOKEN),
                graph_api=config.whatsapp_api,
                attempts=config.retry_attempts,
            )
        else:
            _eraser = OutboxEraser()
    return _eraser


def install(replacement: Eraser | None) -> None:
    """Replace the eraser (tests); None restores the configured one."""
    global _eraser
    _eraser = replacement


def _safe(error: Exception) -> str:
    """A reason safe to keep: an API error's message (the organization has no WhatsApp token), else the type."""
    from core.errors import ApiError

    return str(error)[:200] if isinstance(error, ApiError) else type(error).__name__


def erase_all(org_id: str, found: Iterable[Copy]) -> list[dict[str, Any]]:
    """Delete every copy; one line per copy: provider, kind, id, outcome (deleted, gone, failed) and reason."""
    lines = []
    for copy in found:
        line: dict[str, Any] = {"provider": copy.provider, "kind": copy.kind, "id": copy.id}
        try:
            line |= {"outcome": eraser().erase(org_id, copy), "reason": None}
        except Exception as error:  # noqa: BLE001 - one copy's failure must not stop the others
            reason = error.reason if isinstance(error, ProviderError) else _safe(error)
            line |= {"outcome": "failed", "reason": reason}
        lines.append(line)
    return lines
