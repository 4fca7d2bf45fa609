"""Purging archived leads 30 days after their archiving: the pure rule and the job the schedule runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core import clients
from core.caller import SYSTEM
from leads import store
from leads.store import LeadRecord
from privacy.leads import erase

RETENTION = timedelta(days=30)


def is_purgeable(lead: LeadRecord, now: datetime) -> bool:
    """True for an archived lead whose archiving is at least 30 days old."""
    return lead.archived and lead.archived_at is not None and lead.archived_at <= now - RETENTION


def purge_lead(reference: Any) -> None:
    """Erase a lead and every trace of it (records, feed, outbox, keys, objects) as a privacy erasure does."""
    erase(org_id=reference.parent.parent.id, lead_id=reference.id, actor=SYSTEM.uid, action="lead.purged")


def purge_archived(now: datetime, *, batch_size: int = 200) -> int:
    """Purge every organization's leads archived 30 days ago or more; the number purged."""
    query = (
        store.every_organization()
        .where(filter=clients.where("archived", "==", True))
        .where(filter=clients.where("archivedAt", "<=", now - RETENTION))
        .limit(batch_size)
    )
    purged = 0
    while True:
        snapshots = list(query.stream())
        for snapshot in snapshots:
            if is_purgeable(LeadRecord.from_document(snapshot.id, snapshot.to_dict() or {}), now):
                purge_lead(snapshot.reference)
                purged += 1
        if len(snapshots) < batch_size:
            return purged
