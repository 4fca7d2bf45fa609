"""Inbound WhatsApp media through the Cloud API: `GET {graph}/{media-id}` with the organization's token answers
`{url, mime_type, sha256, file_size}`; a GET of that url with the same token answers the bytes.

Limits are checked before the bytes are read (the declared size) and while they are (never more than the limit
is held); the bytes must hash to the declared sha256. Failures are `ProviderError`s: retryable ones (5xx, a
timeout) end the webhook in 503 so Meta delivers again; final ones (4xx, too large, a type we do not keep) leave
the message with its media `failed` and the reason.

On the emulators the client points at the `dev` function's Graph stub (`/dev/meta/graph/v21.0/{media-id}`,
media registered with `POST /dev/meta/media`); tests install one pointed at their stub server.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Protocol

from comms import config as comms_config
from comms.channels import WhatsAppChannel
from core import settings
from core.provider_calls import USER_AGENT, ProviderError, call_json, with_retries

MAX_BYTES = 20 * 1024 * 1024  # as an uploaded attachment
# What a buyer's media may be kept as (WhatsApp's own media types; stickers are WebP images).
KEPT_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/aac": ".aac",
    "audio/mp4": ".m4a",
    "audio/amr": ".amr",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
}


@dataclass(frozen=True)
class MediaInfo:
    """What the Graph API says of a media id."""

    url: str
    mime_type: str
    sha256: str
    file_size: int


def kept_type(mime_type: str) -> str | None:
    """The media type as we keep it (parameters dropped: `audio/ogg; codecs=opus` is audio/ogg), or None."""
    base = mime_type.split(";")[0].strip().lower()
    return base if base in KEPT_TYPES else None


class MediaFetcher(Protocol):
    """Reads a buyer's media from the provider with the organization's token."""

    def info(self, channel: WhatsAppChannel, media_id: str) -> MediaInfo:
        """The media's metadata."""
        ...

    def download(self, channel: WhatsAppChannel, info: MediaInfo) -> bytes:
        """The media's bytes, checked against its size limit and sha256."""
        ...


class CloudMediaFetcher:
    """The Cloud API's media endpoints (the token as a bearer header, never in a URL)."""

    def __init__(self, *, api_base: str, attempts: int = 3, backoff_sec: float = 0.5, timeout_sec: float = 20) -> None:
        self.api_base = api_base.rstrip("/")
        self.attempts, self.backoff_sec, self.timeout_sec = attempts, backoff_sec, timeout_sec

    def _headers(self, channel: WhatsAppChannel) -> dict[str, str]:
        return {"Authorization": f"Bearer {channel.access_token}", "User-Agent": USER_AGENT}

    def info(self, channel: WhatsAppChannel, media_id: str) -> MediaInfo:
        """`GET {graph}/{media-id}`: url, mime_type, sha256, file_size."""
        from urllib.parse import quote

        url = f"{self.api_base}/{quote(media_id, safe='')}"
        payload = with_retries(
            lambda: call_json("GET", url, headers=self._headers(channel), timeout=self.timeout_sec, empty={}),
            attempts=self.attempts,
            backoff_sec=self.backoff_sec,
        )
        if not isinstance(payload, dict) or not str(payload.get("url") or "").startswith(("https://", "http://")):
            raise ProviderError("the Graph API answered no media url")
        try:
            size = int(payload.get("file_size") or 0)
        except (TypeError, ValueError):
            size = 0
        mime, sha = str(payload.get("mime_type") or ""), str(payload.get("sha256") or "")
        return MediaInfo(str(payload["url"]), mime, sha, size)

    def download(self, channel: WhatsAppChannel, info: MediaInfo) -> bytes:
        """GET the media url with the token; at most MAX_BYTES are read."""
        return bytes(
            with_retries(
                lambda: _download(info.url, self._headers(channel), self.timeout_sec),
                attempts=self.attempts,
                backoff_sec=self.backoff_sec,
            )
        )


def _download(url: str, headers: dict[str, str], timeout: float) -> bytes:
    import httpx

    try:
        with httpx.stream("GET", url, headers=headers, timeout=timeout) as response:
            if response.status_code >= 500:
                raise ProviderError(f"provider error {response.status_code}", retryable=True)
            if response.status_code >= 300:
                raise ProviderError(f"provider refused ({response.status_code}) the media download")
            data = bytearray()
            for chunk in response.iter_bytes():
                data.extend(chunk)
                if len(data) > MAX_BYTES:
                    raise ProviderError("larger than 20 MB")
            return bytes(data)
    except httpx.TimeoutException as error:
        raise ProviderError("provider timed out", retryable=True) from error
    except httpx.TransportError as error:
        raise ProviderError("provider unreachable", retryable=True) from error


def checked(info: MediaInfo, data: bytes) -> None:
    """Refuse bytes that are not what the Graph API described (its sha256, when given, and its size)."""
    if info.sha256 and hashlib.sha256(data).hexdigest() != info.sha256.lower():
        raise ProviderError("the media does not match its sha256")
    if info.file_size and len(data) != info.file_size:
        raise ProviderError("the media is not of its declared size")


_fetcher: MediaFetcher | None = None


def fetcher() -> MediaFetcher:
    """The configured fetcher: the Cloud API (live), else the dev Graph stub on the emulators."""
    global _fetcher
    if _fetcher is None:
        config = comms_config.get()
        base = settings.get()
        api = config.whatsapp_api
        if not config.live and base.emulator and not os.environ.get("WHATSAPP_API_BASE"):
            api = f"http://127.0.0.1:5001/{base.project_id}/{base.region}/dev/meta/graph/v21.0"
        _fetcher = CloudMediaFetcher(
            api_base=api,
            attempts=config.retry_attempts,
            backoff_sec=config.retry_backoff_sec,
            timeout_sec=max(config.timeout_sec, 20),
        )
    return _fetcher


def install(replacement: MediaFetcher | None) -> None:
    """Replace the fetcher (tests); None restores the configured one on next use."""
    global _fetcher
    _fetcher = replacement
