"""Typed settings, read once from the environment, that refuse a production start with development values."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

PROJECT_DEFAULT = "demo-justo"
REGION = "asia-south1"

# Development values: fine on the emulators, refused by a production start.
DEV_SECRETS = {
    "OTP_PEPPER": "local-otp-pepper",
    "WHATSAPP_APP_SECRET": "local-whatsapp-secret",
    "WHATSAPP_VERIFY_TOKEN": "local-verify-token",
    "SMS_WEBHOOK_SECRET": "local-sms-secret",
    "VOICE_AUTH_TOKEN": "local-voice-token",
    "TURN_SECRET": "local-turn-secret",
    "EMAIL_WEBHOOK_SECRET": "local-email-secret",
}


class SettingsError(RuntimeError):
    """The environment cannot run this deployment safely."""


@dataclass(frozen=True)
class Settings:
    """Everything the functions read from their environment."""

    project_id: str
    region: str
    emulator: bool
    otp_pepper: str
    whatsapp_app_secret: str
    whatsapp_verify_token: str
    sms_webhook_secret: str
    voice_auth_token: str
    turn_secret: str
    email_webhook_secret: str
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
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


def load(environ_is_emulator: bool | None = None) -> Settings:
    """Build the settings from the environment; raise SettingsError when production would be unsafe."""
    emulator = _is_emulator() if environ_is_emulator is None else environ_is_emulator
    project = _env("GCLOUD_PROJECT") or _env("GOOGLE_CLOUD_PROJECT") or PROJECT_DEFAULT
    secrets = {name: _env(name) or (dev if emulator else "") for name, dev in DEV_SECRETS.items()}
    if not emulator:
        problems = [name for name, value in secrets.items() if not value or value == DEV_SECRETS[name]]
        if problems:
            raise SettingsError(
                "Refusing to start in production with missing or development secrets: " + ", ".join(sorted(problems))
            )
        if not _env("SMTP_HOST"):
            raise SettingsError("SMTP_HOST is required in production (login codes are emailed)")
        if project.startswith("demo-"):
            raise SettingsError("A demo- project id cannot run in production")
    return Settings(
        project_id=project,
        region=_env("FUNCTION_REGION", REGION) or REGION,
        emulator=emulator,
        otp_pepper=secrets["OTP_PEPPER"],
        whatsapp_app_secret=secrets["WHATSAPP_APP_SECRET"],
        whatsapp_verify_token=secrets["WHATSAPP_VERIFY_TOKEN"],
        sms_webhook_secret=secrets["SMS_WEBHOOK_SECRET"],
        voice_auth_token=secrets["VOICE_AUTH_TOKEN"],
        turn_secret=secrets["TURN_SECRET"],
        email_webhook_secret=secrets["EMAIL_WEBHOOK_SECRET"],
        smtp_host=_env("SMTP_HOST"),
        smtp_port=int(_env("SMTP_PORT", "587") or 587),
        smtp_user=_env("SMTP_USER"),
        smtp_password=_env("SMTP_PASSWORD"),
        mail_from=_env("MAIL_FROM", "Justo Lead <no-reply@justo.example.com>"),
        app_check_required=_env("APP_CHECK_REQUIRED", "false").lower() == "true",
        member_cache_seconds=float(_env("MEMBER_CACHE_SECONDS", "15") or 15),
        firestore_deadline_seconds=float(_env("FIRESTORE_DEADLINE_SECONDS", "15") or 15),
        bucket=_env("STORAGE_BUCKET") or f"{project}.appspot.com",
    )


@lru_cache(maxsize=1)
def get() -> Settings:
    """The process's settings, loaded once."""
    return load()


def reset() -> None:
    """Forget the cached settings (tests that change the environment)."""
    get.cache_clear()
