"""Typed plain settings, read once from the environment (a deploy sets them from `functions/.env.<project>`).

Secrets are not here: each is read on first use through `core.secrets`, since a function receives only the
secrets it declares. A production start refuses a demo- project id; a setting that only some features need
(SMTP_HOST, the providers' ids) is checked where it is used, so a function that never sends mail never needs it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache

PROJECT_DEFAULT = "demo-justo"
REGION = "asia-south1"
# The zone deploy-time cron schedules are written in: the platform's (the region's), never an organization's.
SCHEDULE_TIME_ZONE = "Asia/Kolkata"


class SettingsError(RuntimeError):
    """The environment cannot run this deployment safely."""


@dataclass(frozen=True)
class PlainSetting:
    """One environment setting a deploy sets (`functions/.env.<project>`), for docs and `make deploy-check`."""

    name: str
    default: str
    what: str
    needed_by: str = ""  # the feature that refuses to work without it in production; "" = optional


PLAIN: tuple[PlainSetting, ...] = (
    PlainSetting("SMTP_HOST", "", "SMTP server login codes and emails go through (STARTTLS)", "email"),
    PlainSetting("SMTP_PORT", "587", "SMTP port"),
    PlainSetting("SMTP_USER", "", "SMTP login (its password is the SMTP_PASSWORD secret)"),
    PlainSetting("MAIL_FROM", "Justo Lead <no-reply@justo.example.com>", "From address of system emails"),
    PlainSetting("APP_CHECK_REQUIRED", "false", "`true` verifies X-Firebase-AppCheck on the OTP endpoints"),
    PlainSetting("MEMBER_CACHE_SECONDS", "15", "how long an instance trusts a member record (at most 30)"),
    PlainSetting("FIRESTORE_DEADLINE_SECONDS", "15", "longest a Firestore call retries before answering 503"),
    PlainSetting("STORAGE_BUCKET", "", "attachments bucket (default: FIREBASE_CONFIG's storageBucket)"),
    PlainSetting("COMMS_PUBLIC_BASE", "", "base URL providers call back (default: the functions' URL)"),
    PlainSetting("PLIVO_AUTH_ID", "", "Plivo voice account id", "voip"),
    PlainSetting("PLIVO_SMS_AUTH_ID", "", "Plivo SMS subaccount id", "sms"),
    PlainSetting(
        "SENDGRID_WEBHOOK_PUBLIC_KEY",
        "",
        "SendGrid's Signed Event Webhook verification key (base64 ECDSA public key; not a secret)",
        "email events",
    ),
    PlainSetting(
        "META_GRAPH_API_BASE", "https://graph.facebook.com/v21.0", "Graph API that Lead Ads leads are read from"
    ),
    PlainSetting("ACRES99_API_URL", "", "99acres' lead pull URL (default: its public getmy99Response interface)"),
    PlainSetting("CAPTURE_RETRY_ATTEMPTS", "3", "tries of a Graph API lead read or a 99acres pull (5xx, timeouts)"),
    PlainSetting("CAPTURE_TIMEOUT_SEC", "10", "timeout of one capture provider call"),
    PlainSetting("CAPTURE_RETRY_BACKOFF_SEC", "0.5", "first pause between tries of a capture provider call (doubles)"),
    PlainSetting("RETENTION_OUTBOX_DAYS", "30", "days an outbox entry is kept (Firestore TTL)"),
    PlainSetting("RETENTION_NOTIFICATION_DAYS", "90", "days a notification feed entry is kept (Firestore TTL)"),
    PlainSetting("RETENTION_AUDIT_MONTHS", "12", "months of audit trail kept (whole months, the daily job)"),
    PlainSetting("RETENTION_REJECTED_CAPTURE_DAYS", "30", "days a rejected capture (the buyer's payload) is kept"),
    PlainSetting("RETENTION_CAPTURE_DAYS", "365", "days any other capture (the buyer's payload) is kept"),
    PlainSetting("TURN_URLS", "turn:turn.justo.example.com:3478", "TURN servers handed to the VoIP SDK"),
)


@dataclass(frozen=True)
class Settings:
    """The plain settings every function reads."""

    project_id: str
    region: str
    emulator: bool
    smtp_host: str
    smtp_port: int
    smtp_user: str
    mail_from: str
    app_check_required: bool
    member_cache_seconds: float
    firestore_deadline_seconds: float
    bucket: str

    @property
    def production(self) -> bool:
        """True when running on real Google infrastructure."""
        return not self.emulator


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _is_emulator() -> bool:
    return (
        _env("FUNCTIONS_EMULATOR") == "true"
        or bool(_env("FIRESTORE_EMULATOR_HOST"))
        or _env("JUSTO_ENV") in {"local", "test"}
    )


def _number(name: str, default: float) -> float:
    raw = _env(name)
    try:
        return float(raw) if raw else default
    except ValueError as error:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from error


def _firebase_config_bucket() -> str:
    """The storageBucket of FIREBASE_CONFIG, which firebase deploy sets on every function."""
    try:
        config = json.loads(_env("FIREBASE_CONFIG") or "{}")
    except ValueError:
        return ""
    return str(config.get("storageBucket") or "") if isinstance(config, dict) else ""


def load(environ_is_emulator: bool | None = None) -> Settings:
    """Build the settings from the environment; raise SettingsError when production would be unsafe."""
    emulator = _is_emulator() if environ_is_emulator is None else environ_is_emulator
    project = _env("GCLOUD_PROJECT") or _env("GOOGLE_CLOUD_PROJECT") or PROJECT_DEFAULT
    if not emulator and project.startswith("demo-"):
        raise SettingsError("A demo- project id cannot run in production")
    return Settings(
        project_id=project,
        region=_env("FUNCTION_REGION", REGION) or REGION,
        emulator=emulator,
        smtp_host=_env("SMTP_HOST"),
        smtp_port=int(_number("SMTP_PORT", 587)),
        smtp_user=_env("SMTP_USER"),
        mail_from=_env("MAIL_FROM", "Justo Lead <no-reply@justo.example.com>"),
        app_check_required=_env("APP_CHECK_REQUIRED", "false").lower() == "true",
        member_cache_seconds=min(_number("MEMBER_CACHE_SECONDS", 15), 30),
        firestore_deadline_seconds=_number("FIRESTORE_DEADLINE_SECONDS", 15),
        bucket=_env("STORAGE_BUCKET") or _firebase_config_bucket() or f"{project}.appspot.com",
    )


def require(name: str, value: str, feature: str) -> str:
    """A plain setting a feature cannot work without: its value, or SettingsError naming it in production."""
    if not value and not get().emulator:
        raise SettingsError(f"{name} is required for {feature}: set it in functions/.env.<project>")
    return value


@lru_cache(maxsize=1)
def get() -> Settings:
    """The process's settings, loaded once."""
    return load()


def reset() -> None:
    """Forget the cached settings (tests that change the environment)."""
    get.cache_clear()
