"""The first-response SLA's two functions: the trigger that keeps a Cloud Task per `slaDueAt`, and the
task-queue function `leadsla` that runs at the deadline (routing.sla_tasks has the rules; this wires them to
the lead store, the lead's history and the task queue)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from firebase_functions import firestore_fn, options, tasks_fn

from core.deploy import DATA_EVENTS, document_trigger
from core.settings import REGION

log = logging.getLogger("justo")


class StoredLeads:
    """routing.sla_tasks.LeadAccess over leads.store and leads.history."""

    def read(self, org_id: str, lead_id: str) -> dict[str, Any] | None:
        """The stored lead document, None when it does not exist."""
        from leads import store

        snapshot = store.ref(org_id, lead_id).get()
        return dict(snapshot.to_dict() or {}) if snapshot.exists else None

    def record(self, org_id: str, lead_id: str, event_id: str, entry: dict[str, Any]) -> bool:
        """One history entry, its id from the event id and its type (a replay writes nothing)."""
        from leads import history

        at: datetime = entry["at"]
        return history.record(
            org_id=org_id,
            lead_id=lead_id,
            event_id=event_id,
            type=entry["type"],
            actor_id=entry.get("actor_id"),
            at=at,
            summary=entry["summary"],
            changes=entry.get("changes"),
            ref=entry.get("ref"),
            suffix=entry["type"],
        )


def sla_queue() -> Any:
    """The `leadsla` function's task queue (the reminders' port)."""
    from reminders import queue
    from routing.sla_tasks import QUEUE_FUNCTION

    return queue.queue(QUEUE_FUNCTION)


def on_lead_written(org_id: str, lead_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """Delete the task of a replaced deadline and enqueue the new one's; what was done."""
    from routing import sla_tasks

    return sla_tasks.reschedule(sla_queue(), org_id, lead_id, before, after)


def run_task(data: dict[str, Any]) -> str:
    """One `leadsla` task, wired to the stored leads and the queue; logged with its ids (never lead data)."""
    from routing import sla_tasks

    outcome = sla_tasks.run(data, leads=StoredLeads(), queue=sla_queue())
    task = sla_tasks.read_task(data)
    where = f"org={task.org_id} lead={task.lead_id} due={task.key} hop={task.hop}" if task else "unreadable payload"
    log.info("sla task %s: %s", where, outcome)
    return outcome


def _data(snapshot: Any) -> dict[str, Any] | None:
    return snapshot.to_dict() if snapshot is not None and snapshot.exists else None


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/leads/{leadId}", max_age=DATA_EVENTS)
def leadslaschedule(event: firestore_fn.Event[firestore_fn.Change[firestore_fn.DocumentSnapshot | None]]) -> None:
    """Lead written: its SLA deadline's Cloud Task follows `slaDueAt`."""
    org_id, lead_id = event.params["orgId"], event.params["leadId"]
    outcome = on_lead_written(org_id, lead_id, _data(event.data.before), _data(event.data.after))
    if outcome != "unchanged":
        log.info("sla deadline org=%s lead=%s: %s", org_id, lead_id, outcome)


@tasks_fn.on_task_dispatched(
    region=REGION,
    # a failure at the deadline is retried within seconds (the SLA is "at the exact minute"), for about 5 min
    retry_config=options.RetryConfig(max_attempts=10, min_backoff_seconds=1, max_backoff_seconds=60, max_doublings=4),
    rate_limits=options.RateLimits(max_concurrent_dispatches=50),
    timeout_sec=90,
)
def leadsla(req: tasks_fn.CallableRequest[Any]) -> None:
    """Task queue `leadsla`: at a lead's first-response deadline, re-route it unless it was contacted."""
    run_task(dict(req.data or {}))
