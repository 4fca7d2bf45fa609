"""The nightly check: recompute one organization day of counters from the records and fix any difference.

The records a day's cells depend on are found by time, never by scanning: leads created that day or changed,
assigned or enquiring since it began (every dated entry a lead contributes is at or before its `updatedAt`,
`assignedAt` or `lastEnquiredAt`), calls started or logged that day, messages created that day, visits
booked, completed, cancelled or checked in that day. Their contributions on that day (reports.counting, the
triggers' own code) are the truth; the difference from the stored shards is added to shard 0 once (a marker
from the run), recorded in `orgs/{orgId}/reportChecks/{day}` and logged as counts only.

Known window: an event whose trigger has not yet run when the check reads (seconds, or a trigger retrying
after an error) is in the records but not in the counters; the check adds it and the trigger then adds it
again. The check runs after the day is over, when late events on it are rare, and the next day's check does
not revisit it; docs/reports.md says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core import clients, clock, tenancy
from core.org_settings import OrgSettings
from reports import counters, counting
from reports.counting import Cells, LeadContext

log = logging.getLogger("justo")


def bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day [midnight, next midnight) as aware datetimes."""
    return datetime.combine(day, time(0), tzinfo=zone), datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def _where(collection: Any, field: str, start: datetime, end: datetime | None = None) -> Iterable[Any]:
    query = collection.where(filter=clients.where(field, ">=", start))
    if end is not None:
        query = query.where(filter=clients.where(field, "<", end))
    return query.stream()


def _docs(snapshots: Iterable[Any], into: dict[str, dict[str, Any]]) -> None:
    for snapshot in snapshots:
        into[snapshot.id] = snapshot.to_dict() or {}


def truth(org_id: str, day: date, zone: ZoneInfo) -> Cells:
    """The cells of one day as the records say."""
    from leads import store

    start, end = bounds(day, zone)
    org = tenancy.org_ref(org_id)
    leads: dict[str, dict[str, Any]] = {}
    _docs(_where(store.collection(org_id), "createdAt", start, end), leads)
    for field in ("updatedAt", "assignedAt", "lastEnquiredAt"):
        _docs(_where(store.collection(org_id), field, start), leads)
    records: dict[str, dict[str, dict[str, Any]]] = {"calls": {}, "messages": {}, "visits": {}}
    for field in ("startedAt", "createdAt"):
        _docs(_where(org.collection("calls"), field, start, end), records["calls"])
    _docs(_where(org.collection("messages"), "createdAt", start, end), records["messages"])
    for field in ("createdAt", "completedAt", "cancelledAt", "checkin.at"):
        _docs(_where(org.collection("visits"), field, start, end), records["visits"])
    wanted = {str(r.get("leadId")) for kind in records.values() for r in kind.values() if r.get("leadId")}
    missing = sorted(wanted - set(leads))
    contexts = {lead_id: LeadContext.of(lead) for lead_id, lead in leads.items()}
    for snapshot in store.read_all(clients.db(), [store.ref(org_id, i) for i in missing]):
        contexts[snapshot.id] = LeadContext.of(snapshot.to_dict() if snapshot.exists else None)
    cells: Cells = {}
    for document in leads.values():
        counting.merge(cells, counting.lead(document, zone))
    for kind, records_of_kind in records.items():
        count = {"calls": counting.call, "messages": counting.message, "visits": counting.visit}[kind]
        for record in records_of_kind.values():
            context = contexts.get(str(record.get("leadId")), LeadContext())
            counting.merge(cells, count(record, context, zone))
    wanted_day = day.isoformat()
    return {key: counts for key, counts in cells.items() if key[0] == wanted_day}


def check_day(org_id: str, day: date, *, now: datetime | None = None) -> int:
    """Recompute one day, fix the stored counters, record the check, fold the shards; the figures that differed."""
    now = now or clock.now()
    zone = OrgSettings.of(tenancy.load_org(org_id, fresh=True)).zone
    expected = truth(org_id, day, zone)
    stored = counters.read(org_id, day.isoformat(), day.isoformat())
    fix = counting.delta(stored, expected)
    differences = sum(len(counts) for counts in fix.values())
    if fix:
        counters.apply(org_id, f"reportcheck:{day.isoformat()}:{now.isoformat()}", fix, shard=0)
    tenancy.org_ref(org_id).collection("reportChecks").document(day.isoformat()).set(
        {"day": day.isoformat(), "checkedAt": now, "differences": differences, "cells": len(expected)}
    )
    folded = counters.compact(org_id, day.isoformat())  # the day is over: past-day reads cost one document
    log.info("report check %s %s: %d differences fixed, %d shards folded", org_id, day.isoformat(), differences, folded)
    return differences


def run_all(now: datetime) -> int:
    """Check yesterday (each organization's own time zone) of every organization; the differences fixed in all."""
    fixed = 0
    for snapshot in clients.db().collection("orgs").select(["settings"]).stream():
        zone = OrgSettings.of(snapshot.to_dict() or {}).zone
        yesterday = now.astimezone(zone).date() - timedelta(days=1)
        try:
            fixed += check_day(snapshot.id, yesterday, now=now)
        except Exception as error:  # noqa: BLE001 - one organization's failure must not skip the others
            log.error("report check of %s failed: %s", snapshot.id, type(error).__name__)
    return fixed
