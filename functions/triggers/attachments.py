"""The hourly sweep of abandoned attachment uploads (thin: the rule lives in attachments.service)."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from firebase_functions import scheduler_fn

from core import clock
from core.settings import REGION
from registry import SCHEDULES

log = logging.getLogger("justo")


@scheduler_fn.on_schedule(
    schedule=SCHEDULES["attachmentsweep"][0],
    timezone=ZoneInfo(SCHEDULES["attachmentsweep"][1]),
    region=REGION,
    timeout_sec=540,
)
def attachmentsweep(event: scheduler_fn.ScheduledEvent) -> None:
    """Close pending uploads nobody can finish any more and delete what they stored."""
    from attachments.service import sweep_abandoned

    log.info("abandoned uploads closed: %d", sweep_abandoned(clock.now()))
