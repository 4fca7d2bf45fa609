"""Keeping data no longer than needed: the periods (settings), the pure rules, and the purge jobs.

Expiring records (OTP challenges, idempotency records, throttles) go once `expiresAt` has passed;
the outbox after 30 days; notification feed entries after 90 days; audit entries after a year, by
whole calendar months from the oldest end, with the hash they ended on kept as the chain's anchor.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from core import audit, clients
from privacy import purge

EXPIRING = ("otpChallenges", "idempotency", "throttles")


class RetentionSettingsError(RuntimeError):
    """A retention period in the environment is not a positive whole number."""


@dataclass(frozen=True)
class Periods:
    """How long each kind of data is kept."""

    outbox_days: int = 30
    notification_days: int = 90
    audit_months: int = 12


def _positive(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise RetentionSettingsError(f"{name} must be a positive whole number, not {raw!r}")
    return int(raw)


@lru_cache(maxsize=1)
def periods() -> Periods:
    """The periods, read once: RETENTION_OUTBOX_DAYS, RETENTION_NOTIFICATION_DAYS, RETENTION_AUDIT_MONTHS."""
    return Periods(
        outbox_days=_positive("RETENTION_OUTBOX_DAYS", 30),
        notification_days=_positive("RETENTION_NOTIFICATION_DAYS", 90),
        audit_months=_positive("RETENTION_AUDIT_MONTHS", 12),
    )


def month_start(moment: datetime, months_back: int = 0) -> datetime:
    """The first instant (UTC) of the calendar month months_back months before moment's month."""
    moment = moment.astimezone(UTC)
    index = moment.year * 12 + (moment.month - 1) - months_back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def audit_cutoff(now: datetime, keep_months: int) -> datetime:
    """Audit entries before this instant are removable: whole months that ended over keep_months ago."""
    return month_start(now, keep_months)


def older_than(now: datetime, days: int) -> datetime:
    """The instant `days` days before now."""
    return now - timedelta(days=days)


def purge_expired(now: datetime) -> dict[str, int]:
    """Delete OTP challenges, idempotency records and throttles whose `expiresAt` has passed."""
    db = clients.db()
    return {
        name: purge.delete_matching(db.collection(name).where(filter=clients.where("expiresAt", "<", now)))
        for name in EXPIRING
    }


def purge_outbox(now: datetime, days: int) -> int:
    """Delete outbox entries older than days."""
    query = clients.db().collection("outbox").where(filter=clients.where("createdAt", "<", older_than(now, days)))
    return purge.delete_matching(query)


def purge_notifications(now: datetime, days: int) -> int:
    """Delete feed entries (every user's `notifications`) older than days."""
    query = clients.db().collection_group("notifications")
    return purge.delete_matching(query.where(filter=clients.where("createdAt", "<", older_than(now, days))))


@dataclass(frozen=True)
class Pruned:
    """What pruning one organization's trail did."""

    removed: int
    anchor_seq: int


def prune_audit(org_id: str, now: datetime, keep_months: int) -> Pruned:
    """Remove whole months older than keep_months from the oldest end; the last removed entry's
    seq and hash become the head's anchor first, so the remaining chain verifies from there."""
    from google.cloud import firestore
    from google.cloud.firestore import Query
    from google.cloud.firestore_v1.field_path import FieldPath

    entries = audit.entries_ref(org_id)
    cutoff = audit_cutoff(now, keep_months)
    last = list(
        entries.where(filter=clients.where("createdAt", "<", cutoff))
        .order_by("createdAt", direction=Query.DESCENDING)
        .limit(1)
        .stream()
    )
    head = audit.head_ref(org_id)
    if not last:
        state = head.get().to_dict() or {}
        return Pruned(0, int(state.get("anchorSeq", 0)))
    boundary = last[0].to_dict() or {}
    boundary_seq = int(boundary["seq"])

    @firestore.transactional
    def move_anchor(transaction: Any) -> int:
        state = head.get(transaction=transaction).to_dict() or {}
        anchor = int(state.get("anchorSeq", 0))
        if boundary_seq > anchor:
            transaction.set(
                head,
                {
                    "anchorSeq": boundary_seq,
                    "anchorHash": boundary["hash"],
                    "anchorAt": boundary["createdAt"],
                    "prunedAt": now,
                },
                merge=True,
            )
            anchor = boundary_seq
        return anchor

    anchor = move_anchor(clients.db().transaction())
    up_to = entries.document(audit.entry_id(anchor))
    removed = purge.delete_matching(entries.order_by(FieldPath.document_id()).end_at({FieldPath.document_id(): up_to}))
    return Pruned(removed, anchor)


def run_expiry(now: datetime) -> dict[str, int]:
    """The frequent job: expired challenges, idempotency records and throttles."""
    return purge_expired(now)


def run_daily(now: datetime, config: Periods | None = None) -> dict[str, int]:
    """The daily job: old outbox and feed entries, and audit months past their year, in every org."""
    config = config or periods()
    counts = {
        "outbox": purge_outbox(now, config.outbox_days),
        "notifications": purge_notifications(now, config.notification_days),
        "audit": 0,
    }
    for org in clients.db().collection("orgs").select([]).stream():
        counts["audit"] += prune_audit(org.id, now, config.audit_months).removed
    return counts
