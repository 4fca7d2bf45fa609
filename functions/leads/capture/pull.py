"""The 99acres pull: every 5 minutes, each active `99acres` source's enquiries since its cursor, each one capture
(provider key: 99acres' QueryId, so a window pulled twice captures nothing twice).

The source document carries the pull's state, `pull {cursor, leaseUntil, leaseId, lastPulledAt, lastError,
lastErrorAt}`. A run first takes the source's lease in a transaction (a second run, concurrent or overlapping,
finds it held and skips the source), pulls the window, captures, and only then moves the cursor, in a
transaction that checks it still holds the lease. A provider error keeps the cursor (the window is pulled
again next time) and records `lastError` for the admin. Windows overlap by OVERLAP, since 99acres may list an
enquiry a little after its RcvdOn; the capture ids make the overlap free."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core import clients, clock, transactions
from core.ids import new_id
from core.provider_calls import ProviderError
from leads.capture import providers

log = logging.getLogger("justo.capture.pull")

KIND = "99acres"
LEASE = timedelta(minutes=4)  # under the 5-minute schedule: a crashed run's lease lapses before the next run
OVERLAP = timedelta(minutes=2)
FIRST_WINDOW = timedelta(days=1)  # how far back a new source's first pull reaches


@dataclass(frozen=True)
class PullResult:
    """What one source's pull did: skipped (the lease is held elsewhere, or it is switched off), the number of
    enquiries captured, the cursor after it, and the provider's reason when it failed."""

    skipped: bool = False
    captured: int = 0
    cursor: datetime | None = None
    error: str | None = None


def window(cursor: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The window a pull asks for: from the cursor (less OVERLAP; a new source: FIRST_WINDOW back) to now,
    at most the two days 99acres allows (the next run continues from its end)."""
    start = (cursor - OVERLAP) if cursor is not None else now - FIRST_WINDOW
    start = max(start, now - timedelta(days=30))  # a source idle for months resumes with the last month
    return start, min(now, start + providers.ACRES99_MAX_WINDOW)


def payload_of(lead: providers.PortalLead) -> dict[str, Any]:
    """What the capture stores and the field map reads: the enquiry's fields, and every element as received."""
    return {**lead.fields, "receivedOn": lead.received_at.isoformat() if lead.received_at else None, "raw": lead.raw}


def _source_ref(org_id: str, source_id: str) -> Any:
    from leads.capture import sources

    return sources.ref(org_id, source_id)


def _lease(org_id: str, source_id: str, now: datetime) -> tuple[str, dict[str, Any]] | None:
    """Take the source's pull lease: (lease id, source document), or None when it is held, off or gone."""
    from google.cloud import firestore

    lease_id = new_id("pull_")

    @firestore.transactional
    def take(transaction: Any) -> dict[str, Any] | None:
        snapshot = _source_ref(org_id, source_id).get(transaction=transaction)
        source = snapshot.to_dict() if snapshot.exists else None
        if not source or source.get("kind") != KIND or source.get("active") is False:
            return None
        held = (source.get("pull") or {}).get("leaseUntil")
        if isinstance(held, datetime) and held > now:
            return None
        transaction.update(_source_ref(org_id, source_id), {"pull.leaseUntil": now + LEASE, "pull.leaseId": lease_id})
        return source

    source = transactions.run(take)
    return (lease_id, source) if source is not None else None


def _release(org_id: str, source_id: str, lease_id: str, updates: Mapping[str, Any]) -> bool:
    """Write the pull's outcome and free the lease, if this run still holds it (True when it did)."""
    from google.cloud import firestore

    @firestore.transactional
    def release(transaction: Any) -> bool:
        snapshot = _source_ref(org_id, source_id).get(transaction=transaction)
        if not snapshot.exists or ((snapshot.to_dict() or {}).get("pull") or {}).get("leaseId") != lease_id:
            return False
        transaction.update(_source_ref(org_id, source_id), {**updates, "pull.leaseUntil": None, "pull.leaseId": None})
        return True

    return bool(transactions.run(release))


def pull_source(org_id: str, source_id: str) -> PullResult:
    """Pull one 99acres source's window, capture each enquiry, then move its cursor (see the module)."""
    from leads.capture import pipeline

    now = clock.now()
    leased = _lease(org_id, source_id, now)
    if leased is None:
        return PullResult(skipped=True)
    lease_id, source = leased
    pull = source.get("pull") or {}
    cursor = pull.get("cursor") if isinstance(pull.get("cursor"), datetime) else None
    start, end = window(cursor, now)
    config = source.get("config") or {}
    try:
        username, password = config.get("username"), config.get("password")
        if not isinstance(username, str) or not username or not isinstance(password, str) or not password:
            raise ProviderError("the 99acres source has no username and password")
        leads = providers.acres99().pull(username=username, password=password, start=start, end=end)
    except ProviderError as error:
        log.warning("99acres pull failed source=%s reason=%s", source_id, error.reason)
        _release(org_id, source_id, lease_id, {"pull.lastError": error.reason, "pull.lastErrorAt": now})
        return PullResult(cursor=cursor, error=error.reason)
    shown = {**source, "id": source_id}
    for lead in leads:
        pipeline.receive(org_id, shown, provider_key=lead.id, payload=payload_of(lead))
    moved = _release(
        org_id,
        source_id,
        lease_id,
        {"pull.cursor": end, "pull.lastPulledAt": now, "pull.lastError": None, "pull.lastErrorAt": None},
    )
    if not moved:  # the lease lapsed mid-run and another run took it: it moves the cursor; the captures stand
        log.warning("99acres pull outlived its lease source=%s", source_id)
    return PullResult(captured=len(leads), cursor=end if moved else cursor)


def due_sources() -> list[tuple[str, str]]:
    """(orgId, sourceId) of every active 99acres source (one collection-group query on `kind`)."""
    query = clients.db().collection_group("captureSources").where(filter=clients.where("kind", "==", KIND))
    found = []
    for snapshot in query.stream():
        data = snapshot.to_dict() or {}
        org_id = data.get("orgId") or snapshot.reference.parent.parent.id
        if data.get("active") is not False:
            found.append((str(org_id), snapshot.id))
    return found


def pull_all() -> dict[str, int]:
    """Pull every due source; one source's failure never stops the others. Counts for the log."""
    counts = {"sources": 0, "skipped": 0, "captured": 0, "failed": 0}
    for org_id, source_id in due_sources():
        counts["sources"] += 1
        try:
            result = pull_source(org_id, source_id)
        except Exception:  # a capture that failed mid-window: the cursor stays, the next run pulls it again
            log.exception("99acres pull crashed source=%s", source_id)
            counts["failed"] += 1
            continue
        counts["skipped"] += int(result.skipped)
        counts["captured"] += result.captured
        counts["failed"] += int(result.error is not None)
    return counts
