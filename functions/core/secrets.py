"""Secrets, read on first use: Cloud Functions hands a function only the secrets its decorator declares
(`secrets=`), so each function declares exactly the ones it reads and never needs another.

A production read of a secret that is missing (not declared, or not set in Secret Manager) or that still holds
its development value raises SettingsError naming it, so the request fails loudly instead of signing with a
known key. On the emulators the development values below apply (the Functions emulator reads them from
`functions/.secret.local`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from core import settings
from core.settings import SettingsError


@dataclass(frozen=True)
class Secret:
    """One Secret Manager secret: its name (also the environment variable), development value and purpose."""

    name: str
    dev_value: str
    purpose: str


OTP_PEPPER = Secret("OTP_PEPPER", "local-otp-pepper", "key of the HMAC that login codes are stored under")
SEARCH_KEY = Secret("SEARCH_KEY", "local-search-key", "key of the keyed hashes of lead search tokens")
SMTP_PASSWORD = Secret("SMTP_PASSWORD", "local-smtp-password", "password of SMTP_USER at SMTP_HOST")
WHATSAPP_APP_SECRET = Secret(
    "WHATSAPP_APP_SECRET", "local-whatsapp-secret", "Meta app secret: X-Hub-Signature-256 of the WhatsApp webhook"
)
WHATSAPP_VERIFY_TOKEN = Secret(
    "WHATSAPP_VERIFY_TOKEN", "local-verify-token", "token of the WhatsApp webhook's verification handshake"
)
SMS_WEBHOOK_SECRET = Secret(
    "SMS_WEBHOOK_SECRET", "local-sms-secret", "Plivo SMS subaccount auth token: sends SMS, signs its callbacks"
)
VOICE_AUTH_TOKEN = Secret(
    "VOICE_AUTH_TOKEN", "local-voice-token", "Plivo voice auth token: SDK access tokens, signs voice callbacks"
)
CAPTURE_KEY_PEPPER = Secret(
    "CAPTURE_KEY_PEPPER", "local-capture-pepper", "key of the HMAC that capture sources' webhook keys are stored under"
)
TURN_SECRET = Secret("TURN_SECRET", "local-turn-secret", "coturn use-auth-secret: TURN REST credentials for VoIP")
CHANNELS_KEY = Secret(
    "CHANNELS_KEY", "local-channels-key", "key that organizations' WhatsApp tokens are sealed under (comms.channels)"
)

ALL: tuple[Secret, ...] = (
    OTP_PEPPER,
    SEARCH_KEY,
    SMTP_PASSWORD,
    WHATSAPP_APP_SECRET,
    WHATSAPP_VERIFY_TOKEN,
    SMS_WEBHOOK_SECRET,
    VOICE_AUTH_TOKEN,
    TURN_SECRET,
    CAPTURE_KEY_PEPPER,
    CHANNELS_KEY,
)

# What a function that sends email (login codes, visit invitations, emails to leads) must declare.
MAIL: tuple[Secret, ...] = (SMTP_PASSWORD,)


def names(*groups: Secret | tuple[Secret, ...]) -> tuple[str, ...]:
    """The sorted, distinct names of secrets and groups of secrets, for a decorator's `secrets=`."""
    found: set[str] = set()
    for group in groups:
        found.update(item.name for item in (group if isinstance(group, tuple) else (group,)))
    return tuple(sorted(found))


def value(secret: Secret) -> str:
    """The secret's value; on the emulators its development value when unset; SettingsError in production
    when it is missing or still the development value."""
    raw = os.environ.get(secret.name, "").strip()
    if settings.get().emulator:
        return raw or secret.dev_value
    if not raw:
        raise SettingsError(
            f"Secret {secret.name} is not available to this function: declare it in the function's secrets= "
            f"and set it with `firebase functions:secrets:set {secret.name}`"
        )
    if raw == secret.dev_value:
        raise SettingsError(f"Secret {secret.name} holds its development value; set a real one")
    return raw
