"""The scheduled retention job: a thin wrapper around privacy.retention (the cron lives in registry.SCHEDULES)."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from firebase_functions import scheduler_fn

from core import clock, secrets
from core.settings import REGION
from registry import SCHEDULES

log = logging.getLogger("justo")


@scheduler_fn.on_schedule(
    schedule=SCHEDULES["retentiondaily"][0],
    timezone=ZoneInfo(SCHEDULES["retentiondaily"][1]),
    region=REGION,
    timeout_sec=540,
    secrets=list(secrets.names(secrets.VOICE_AUTH_TOKEN, secrets.CHANNELS_KEY)),  # recordings erased at Plivo
)
def retentiondaily(event: scheduler_fn.ScheduledEvent) -> None:
    """Remove audit months past their period (everything else that expires goes by Firestore TTL)."""
    from privacy import retention

    log.info("retention daily: %s", retention.run_daily(clock.now()))
