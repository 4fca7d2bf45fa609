"""The report counters' triggers (leads, calls, messages, visits), the nightly check and the weekly email.

Thin: `reports.events` computes what a write changes and applies it once per event id (a marker created in the
increments' batch), so a redelivered event counts nothing twice; the lead trigger also keeps the stats tallies
(leads.tallies). They write only to `reportDays`, `reportEvents`, `leadTallies` and `leadTallyEvents`, which no
trigger listens to: no loops.
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from firebase_functions import firestore_fn, options, scheduler_fn

from core import clock
from core.deploy import DATA_EVENTS, document_trigger
from core.secrets import MAIL, names
from core.settings import REGION
from registry import SCHEDULES

log = logging.getLogger("justo")


def _data(snapshot: Any) -> dict[str, Any] | None:
    if snapshot is None or not getattr(snapshot, "exists", False):
        return None
    return dict(snapshot.to_dict() or {})


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/leads/{leadId}", max_age=DATA_EVENTS)
def reportleads(event: firestore_fn.Event[Any]) -> None:
    """Leads, first contact, enquiries, stage entries and assignments of a lead write; and the stats tallies
    (leads.tallies). Each applies once per event with its own marker: a retry after one of them failed
    redoes only the other."""
    from leads import tallies
    from reports import events

    org_id, before, after = event.params["orgId"], _data(event.data.before), _data(event.data.after)
    events.on_lead(org_id=org_id, event_id=event.id, before=before, after=after)
    tallies.apply(org_id, event.id, before, after)


def _record_trigger(kind: str, event: firestore_fn.Event[Any]) -> None:
    from reports import events

    events.on_record(
        kind,
        org_id=event.params["orgId"],
        event_id=event.id,
        before=_data(event.data.before),
        after=_data(event.data.after),
    )


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/calls/{callId}", max_age=DATA_EVENTS)
def reportcalls(event: firestore_fn.Event[Any]) -> None:
    """Calls, talk time and connected calls of a call log write."""
    _record_trigger("calls", event)


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/messages/{messageId}", max_age=DATA_EVENTS)
def reportmessages(event: firestore_fn.Event[Any]) -> None:
    """Messages sent by members, once the provider took them."""
    _record_trigger("messages", event)


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/visits/{visitId}", max_age=DATA_EVENTS)
def reportvisits(event: firestore_fn.Event[Any]) -> None:
    """Visits scheduled, completed, cancelled and checked in."""
    _record_trigger("visits", event)


@scheduler_fn.on_schedule(
    schedule=SCHEDULES["reportcheck"][0],
    timezone=ZoneInfo(SCHEDULES["reportcheck"][1]),
    region=REGION,
    timeout_sec=540,
)
def reportcheck(event: scheduler_fn.ScheduledEvent) -> None:
    """Recompute yesterday's counters of every organization from the records and fix any difference."""
    from reports import reconcile

    reconcile.run_all(event.schedule_time or clock.now())


@scheduler_fn.on_schedule(
    schedule=SCHEDULES["reportweekly"][0],
    timezone=ZoneInfo(SCHEDULES["reportweekly"][1]),
    region=REGION,
    timeout_sec=540,
    memory=options.MemoryOption.MB_512,
    secrets=list(names(MAIL)) or None,
)
def reportweekly(event: scheduler_fn.ScheduledEvent) -> None:
    """Each hour: the weekly report email of every organization where it is now Monday 09:xx."""
    from reports import weekly

    log.info("weekly reports: %s sent", weekly.run_all(event.schedule_time or clock.now()))
