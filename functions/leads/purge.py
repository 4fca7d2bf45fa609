"""Purging archived leads 30 days after their archiving: the pure rule and the job the schedule runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core import clients

RETENTION = timedelta(days=30)


def is_purgeable(lead: dict[str, Any], now: datetime) -> bool:
    """True for an archived lead whose archiving is at least 30 days old."""
    archived_at = lead.get("archivedAt")
    return bool(lead.get("archived")) and archived_at is not None and archived_at <= now - RETENTION


def purge_lead(reference: Any) -> None:
    """Erase a lead and every trace of it (records, feed, outbox, keys, objects) as a privacy erasure does."""
    from privacy.leads import erase

    erase(org_id=reference.parent.parent.id, lead_id=reference.id, actor=None, action="lead.purged")


def purge_archived(now: datetime, *, batch_size: int = 200) -> int:
    """Purge every organization's leads archived 30 days ago or more; the number purged."""
    query = (
        clients.db()
        .collection_group("leads")
        .where(filter=clients.where("archived", "==", True))
        .where(filter=clients.where("archivedAt", "<=", now - RETENTION))
        .limit(batch_size)
    )
    purged = 0
    while True:
        snapshots = list(query.stream())
        for snapshot in snapshots:
            if is_purgeable(snapshot.to_dict() or {}, now):
                purge_lead(snapshot.reference)
                purged += 1
        if len(snapshots) < batch_size:
            return purged
