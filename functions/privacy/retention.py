"""Keeping data no longer than needed, where expiry takes more than a delete.

OTP challenges, idempotency records, throttles, the outbox and the notification feed carry `expiresAt` and a
Firestore TTL policy deletes them (core/ttl.py). What stays here is the audit trail: entries after a year, by
whole calendar months from the oldest end, with the hash they ended on kept as the chain's anchor first; and
lead capture's payloads (`orgs/{orgId}/captures`, whose `raw` holds the buyer's data): rejected ones after
RETENTION_REJECTED_CAPTURE_DAYS (time for an admin to fix the field map and retry), every other one after
RETENTION_CAPTURE_DAYS (the lead keeps what it needs: its fields, `enquiries`, attribution). A sweep rather
than TTL because a retried capture changes outcome and so its period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from core import audit, clients, transactions
from core.ttl import RetentionSettingsError, days_setting
from privacy import purge

__all__ = ["Periods", "RetentionSettingsError", "periods", "prune_audit", "purge_captures", "run_daily"]


@dataclass(frozen=True)
class Periods:
    """How long the audit trail and captured payloads are kept."""

    audit_months: int = 12
    rejected_capture_days: int = 30
    capture_days: int = 365


@lru_cache(maxsize=1)
def periods() -> Periods:
    """The periods, read once: RETENTION_AUDIT_MONTHS, RETENTION_REJECTED_CAPTURE_DAYS, RETENTION_CAPTURE_DAYS."""
    return Periods(
        audit_months=days_setting("RETENTION_AUDIT_MONTHS", 12),
        rejected_capture_days=days_setting("RETENTION_REJECTED_CAPTURE_DAYS", 30),
        capture_days=days_setting("RETENTION_CAPTURE_DAYS", 365),
    )


def month_start(moment: datetime, months_back: int = 0) -> datetime:
    """The first instant (UTC) of the calendar month months_back months before moment's month."""
    moment = moment.astimezone(UTC)
    index = moment.year * 12 + (moment.month - 1) - months_back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def audit_cutoff(now: datetime, keep_months: int) -> datetime:
    """Audit entries before this instant are removable: whole months that ended over keep_months ago."""
    return month_start(now, keep_months)


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

    anchor = transactions.run(move_anchor)
    up_to = entries.document(audit.entry_id(anchor))
    removed = purge.delete_matching(entries.order_by(FieldPath.document_id()).end_at({FieldPath.document_id(): up_to}))
    return Pruned(removed, anchor)


def purge_captures(org_id: str, now: datetime, config: Periods) -> dict[str, int]:
    """Delete the organization's rejected captures past their period, then every capture past the longer one."""
    from google.cloud.firestore import Query

    captures = clients.db().collection("orgs").document(org_id).collection("captures")
    rejected = (
        captures.where(filter=clients.where("outcome", "==", "rejected"))
        .where(filter=clients.where("receivedAt", "<", now - timedelta(days=config.rejected_capture_days)))
        .order_by("receivedAt", direction=Query.DESCENDING)
    )
    old = captures.where(filter=clients.where("receivedAt", "<", now - timedelta(days=config.capture_days)))
    return {"rejectedCaptures": purge.delete_matching(rejected), "oldCaptures": purge.delete_matching(old)}


def run_daily(now: datetime, config: Periods | None = None) -> dict[str, int]:
    """The daily job, in every org: audit months past their period, captured payloads past theirs, and what the
    organization keeps only for a purpose (privacy.purpose)."""
    from privacy import purpose

    config = config or periods()
    totals = {"audit": 0, "rejectedCaptures": 0, "oldCaptures": 0}
    for org in clients.db().collection("orgs").select([]).stream():
        totals["audit"] += prune_audit(org.id, now, config.audit_months).removed
        for name, count in purge_captures(org.id, now, config).items():
            totals[name] += count
        for name, count in purpose.sweep(org.id, now).items():  # each organization's own periods
            totals[name] = totals.get(name, 0) + count
    return totals
