"""What the report triggers do with one event: the delta of the document's contributions, applied once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from core import tenancy
from core.org_settings import OrgSettings
from reports import counters, counting
from reports.counting import Cells, LeadContext

RecordCounter = Callable[[Mapping[str, Any] | None, LeadContext, ZoneInfo], Cells]

KINDS: dict[str, RecordCounter] = {
    "calls": counting.call,
    "messages": counting.message,
    "visits": counting.visit,
}


def zone_of(org_id: str) -> ZoneInfo:
    """The organization's time zone (its document cached per instance, like a caller's)."""
    return OrgSettings.of(tenancy.load_org(org_id)).zone


def lead_context(org_id: str, lead_id: Any) -> LeadContext:
    """The source, capture source and project of a record's lead, as the lead is now (one read)."""
    from leads import store

    if not isinstance(lead_id, str) or not lead_id:
        return LeadContext()
    record = store.get(org_id, lead_id)
    return LeadContext() if record is None else LeadContext(record.source, record.source_id, record.project_id)


def on_lead(*, org_id: str, event_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
    """Apply a lead write's change of contributions; True when counters moved."""
    zone = zone_of(org_id)
    change = counting.delta(counting.lead(before, zone), counting.lead(after, zone))
    return counters.apply(org_id, event_id, change)


def on_record(
    kind: str,
    *,
    org_id: str,
    event_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> bool:
    """Apply a call's, message's or visit's change of contributions; reads the lead only when something moved."""
    count = KINDS[kind]
    zone = zone_of(org_id)
    blank = LeadContext()
    if not counting.delta(count(before, blank, zone), count(after, blank, zone)):
        return False  # e.g. a delivery receipt after "sent": nothing counted changes, no read, no write
    context = lead_context(org_id, (after or before or {}).get("leadId"))
    change = counting.delta(count(before, context, zone), count(after, context, zone))
    return counters.apply(org_id, event_id, change)
