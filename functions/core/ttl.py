"""Documents that simply expire carry `expiresAt`, and a Firestore TTL policy on that field (declared in
firestore.indexes.json's fieldOverrides, deployed with the indexes) deletes them, typically within 24 hours
after the time passes. Readers never trust an expired document that still exists (an OTP challenge, a
throttle window and an idempotency lease each compare `expiresAt` or their own window with now); a sweep
remains only where expiry needs more than a delete (the audit trail moves its anchor first).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

FIELD = "expiresAt"
# Collection groups with a TTL policy on FIELD; every document written to them sets it.
COLLECTION_GROUPS = (
    "otpChallenges",
    "idempotency",
    "throttles",
    "outbox",
    "notifications",
    "emailEvents",
    "reportEvents",
    "leadTallyEvents",
)


class RetentionSettingsError(RuntimeError):
    """A retention period in the environment is not a positive whole number."""


def days_setting(name: str, default: int) -> int:
    """A retention period in whole days (or months) from the environment; refuses anything else."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise RetentionSettingsError(f"{name} must be a positive whole number, not {raw!r}")
    return int(raw)


def outbox_expiry(now: datetime) -> datetime:
    """When an outbox entry written now expires (RETENTION_OUTBOX_DAYS, 30 by default)."""
    return now + timedelta(days=days_setting("RETENTION_OUTBOX_DAYS", 30))


def notification_expiry(now: datetime) -> datetime:
    """When a feed entry written now expires (RETENTION_NOTIFICATION_DAYS, 90 by default)."""
    return now + timedelta(days=days_setting("RETENTION_NOTIFICATION_DAYS", 90))
