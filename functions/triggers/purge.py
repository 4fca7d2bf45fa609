"""The daily job purging leads archived more than 30 days ago (thin: the rule lives in privacy.archived)."""

from __future__ import annotations

import logging

from firebase_functions import scheduler_fn

from core import clock, secrets
from core.settings import REGION, SCHEDULE_TIME_ZONE

log = logging.getLogger("justo")


@scheduler_fn.on_schedule(
    schedule="45 3 * * *",
    timezone=scheduler_fn.Timezone(SCHEDULE_TIME_ZONE),
    region=REGION,
    secrets=list(secrets.names(secrets.VOICE_AUTH_TOKEN, secrets.CHANNELS_KEY)),  # provider-side erasure
)
def purgeleads(event: scheduler_fn.ScheduledEvent) -> None:
    """Purge archived leads older than 30 days."""
    from privacy.archived import purge_archived

    purged = purge_archived(clock.now())
    log.info("purged %d archived leads", purged)
