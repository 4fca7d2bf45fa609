"""The reminder task-queue function, the daily sweep into Cloud Tasks' 30-day window, and the daily digest."""

from __future__ import annotations

import logging
from typing import Any

from firebase_functions import options, scheduler_fn, tasks_fn

from core.settings import REGION

log = logging.getLogger("justo")


@tasks_fn.on_task_dispatched(
    region=REGION,
    retry_config=options.RetryConfig(max_attempts=5, min_backoff_seconds=30),
    rate_limits=options.RateLimits(max_concurrent_dispatches=20),
)
def remind(req: tasks_fn.CallableRequest[Any]) -> None:
    """Task queue `remind`: re-read the reminder and its subject, push if they still stand."""
    from reminders import service

    outcome = service.deliver(dict(req.data or {}))
    log.info("reminder task: %s", outcome)


@scheduler_fn.on_schedule(schedule="5 0 * * *", timezone=scheduler_fn.Timezone("UTC"), region=REGION)
def remindersweep(event: scheduler_fn.ScheduledEvent) -> None:
    """Daily: enqueue reminders that entered Cloud Tasks' 30-day window."""
    from reminders import service

    log.info("reminder sweep: %d enqueued", service.sweep())


@scheduler_fn.on_schedule(schedule="*/15 * * * *", timezone=scheduler_fn.Timezone("UTC"), region=REGION)
def dailydigest(event: scheduler_fn.ScheduledEvent) -> None:
    """Every 15 minutes: the digest of each organization whose local 08:00 falls in this run."""
    from reminders import digest

    log.info("daily digest: %d sent", digest.run(event.schedule_time))


@scheduler_fn.on_schedule(schedule="* * * * *", timezone=scheduler_fn.Timezone("UTC"), region=REGION)
def devreminders(event: scheduler_fn.ScheduledEvent) -> None:
    """Emulator only: the tasks emulator runs tasks at once, so due reminders are enqueued minute by minute."""
    from reminders import service

    service.sweep()
