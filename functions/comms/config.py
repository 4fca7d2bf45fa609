"""Provider configuration of the comms features, read once; each provider refuses to work in production
without the settings it needs (checked when it is first used, so other functions never need them)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from core import settings


@dataclass(frozen=True)
class CommsConfig:
    """Where and as whom the providers are called, and where they call back."""

    live: bool  # real providers (production, or COMMS_PROVIDERS=live locally)
    public_base: str  # base URL of the functions, as providers call them
    plivo_api: str
    plivo_auth_id: str  # voice account (its auth token is VOICE_AUTH_TOKEN)
    plivo_sms_auth_id: str  # SMS subaccount (its auth token is SMS_WEBHOOK_SECRET)
    whatsapp_api: str
    # each organization's number, DLT entity, headers and token are its own: comms.channels
    sendgrid_webhook_key: str  # base64 SPKI key SendGrid's signed event webhook verifies under (plain: public)
    turn_urls: tuple[str, ...]
    retry_attempts: int
    retry_backoff_sec: float
    timeout_sec: float


# The emulators' verification key; its private half is in devtools/sendgrid_events.py (never in functions/), so
# local senders and tests can sign event batches. A production deploy refuses it (webhooks.api).
DEV_SENDGRID_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEb6sNaR9gZnTYsXBGVsS8qPVoDO4k/NcNAB8YJEX9Pq6"
    "qowSXperK3Gzgkb8ePy1qeQ0WbhGjgX4qoAEILQHKg=="
)


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def load() -> CommsConfig:
    """Build the configuration from the environment."""
    base = settings.get()
    live = base.production or _env("COMMS_PROVIDERS") == "live"
    default_public = (
        f"http://127.0.0.1:5001/{base.project_id}/{base.region}"
        if base.emulator
        else f"https://{base.region}-{base.project_id}.cloudfunctions.net"
    )
    config = CommsConfig(
        live=live,
        public_base=_env("COMMS_PUBLIC_BASE", default_public).rstrip("/"),
        plivo_api=_env("PLIVO_API_BASE", "https://api.plivo.com").rstrip("/"),
        plivo_auth_id=_env("PLIVO_AUTH_ID"),
        plivo_sms_auth_id=_env("PLIVO_SMS_AUTH_ID"),
        whatsapp_api=_env("WHATSAPP_API_BASE", "https://graph.facebook.com/v21.0").rstrip("/"),
        sendgrid_webhook_key=_env("SENDGRID_WEBHOOK_PUBLIC_KEY") or (DEV_SENDGRID_PUBLIC_KEY if base.emulator else ""),
        turn_urls=tuple(u for u in _env("TURN_URLS", "turn:turn.justo.example.com:3478").split(",") if u),
        retry_attempts=int(_env("COMMS_RETRY_ATTEMPTS", "3")),
        retry_backoff_sec=float(_env("COMMS_RETRY_BACKOFF_SEC", "0.5")),
        timeout_sec=float(_env("COMMS_TIMEOUT_SEC", "10")),
    )
    return config


_FIELDS = {
    "PLIVO_AUTH_ID": "plivo_auth_id",
    "PLIVO_SMS_AUTH_ID": "plivo_sms_auth_id",
}


def required(config: CommsConfig, name: str, feature: str) -> str:
    """A provider setting `feature` cannot work without: its value, or SettingsError naming it in production."""
    return settings.require(name, str(getattr(config, _FIELDS[name])), feature)


@lru_cache(maxsize=1)
def get() -> CommsConfig:
    """The process's comms configuration, loaded once."""
    return load()


def reset() -> None:
    """Forget the cached configuration (tests)."""
    get.cache_clear()
