"""Scheduled: pull each active 99acres source's new enquiries into the capture pipeline (leads.capture.pull)."""

from __future__ import annotations

import logging
from typing import Any

from firebase_functions import scheduler_fn

from core import secrets
from core.settings import REGION, SCHEDULE_TIME_ZONE

log = logging.getLogger("justo.capture")

CRON = "*/5 * * * *"


# SEARCH_KEY: a pulled enquiry may create a lead, whose search tokens are keyed hashes.
@scheduler_fn.on_schedule(
    schedule=CRON,
    timezone=scheduler_fn.Timezone(SCHEDULE_TIME_ZONE),
    region=REGION,
    secrets=list(secrets.names(secrets.SEARCH_KEY)),
)
def capturepull(event: Any) -> None:
    """Scheduled function: pull the 99acres sources."""
    from leads.capture.pull import pull_all

    counts = pull_all()
    log.info(
        "99acres pull sources=%d skipped=%d captured=%d failed=%d",
        counts["sources"],
        counts["skipped"],
        counts["captured"],
        counts["failed"],
    )
