"""The daily reminder of privacy requests near their due date: a thin wrapper around privacy.requests (the cron
lives in registry.SCHEDULES)."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from firebase_functions import scheduler_fn

from core import clock, secrets
from core.settings import REGION
from registry import SCHEDULES

log = logging.getLogger("justo")


@scheduler_fn.on_schedule(
    schedule=SCHEDULES["privacydue"][0],
    timezone=ZoneInfo(SCHEDULES["privacydue"][1]),
    region=REGION,
    secrets=list(secrets.names(secrets.MAIL)),
    timeout_sec=300,
)
def privacydue(event: scheduler_fn.ScheduledEvent) -> None:
    """Remind each organization's admins of the privacy requests due within 3 days or overdue."""
    from privacy import requests

    log.info("privacy requests reminders sent: %d", requests.remind_due(clock.now()))
