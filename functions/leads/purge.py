"""Purging archived leads 30 days after their archiving: the pure rule and the job the schedule runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core import clients

RETENTION = timedelta(days=30)
RELATED = ("tasks", "visits", "calls", "messages")


def is_purgeable(lead: dict[str, Any], now: datetime) -> bool:
    """True for an archived lead whose archiving is at least 30 days old."""
    archived_at = lead.get("archivedAt")
    return bool(lead.get("archived")) and archived_at is not None and archived_at <= now - RETENTION


def purge_lead(reference: Any) -> None:
    """Delete a lead with its subcollections (private contact, notes, activity) and records carrying its id."""
    db = clients.db()
    org = reference.parent.parent
    for name in RELATED:
        for snapshot in (
            org.collection(name).where(filter=clients.where("leadId", "==", reference.id)).select([]).stream()
        ):
            snapshot.reference.delete()
    db.recursive_delete(reference)


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
