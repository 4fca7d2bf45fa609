"""Scheduled: send the promotional messages queued outside 09:00-21:00 once their window opens."""

from __future__ import annotations

import logging
from typing import Any

from firebase_functions import scheduler_fn

from core import secrets
from core.settings import REGION, SCHEDULE_TIME_ZONE

log = logging.getLogger("justo.comms")

CRON = "*/15 * * * *"


@scheduler_fn.on_schedule(
    schedule=CRON,
    timezone=scheduler_fn.Timezone(SCHEDULE_TIME_ZONE),
    region=REGION,
    secrets=list(secrets.names(secrets.SMS_WEBHOOK_SECRET, secrets.CHANNELS_KEY)),
)
def sendqueuedmessages(event: Any) -> None:
    """Scheduled function: dispatch due queued messages."""
    from comms.service import send_due

    log.info("queued messages sent: %d", send_due())
