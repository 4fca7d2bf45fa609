"""The routing sweep: every five minutes, queued leads go to whoever became eligible by the clock alone (an
away state's `until` or a leave that ended). Thin: the rule lives in routing.engine."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from firebase_functions import scheduler_fn

from core.settings import REGION
from registry import SCHEDULES

log = logging.getLogger("justo")


@scheduler_fn.on_schedule(
    schedule=SCHEDULES["routingsweep"][0],
    timezone=ZoneInfo(SCHEDULES["routingsweep"][1]),
    region=REGION,
    timeout_sec=300,
)
def routingsweep(event: scheduler_fn.ScheduledEvent) -> None:
    """Drain every team queue that holds a lead."""
    from routing.engine import sweep

    log.info("queued leads assigned: %d", sweep())
