"""Where each deployed function lives: main.py loads only the started one (cold start), or all for deploys."""

from __future__ import annotations

from core.settings import SCHEDULE_TIME_ZONE

# function name -> module that defines it (the attribute has the same name)
FUNCTIONS: dict[str, str] = {
    "auth": "auth.api",
    "members": "members.api",
    "org": "org.api",
    "devices": "devices.api",
    "leads": "leads.api",
    "projects": "projects.api",
    "tasks": "tasks.api",
    "leadactivity": "triggers.activity",
    "noteactivity": "triggers.activity",
    "taskactivity": "triggers.activity",
    "purgeleads": "triggers.purge",
    "leadmasking": "triggers.masking",
    "leadmaskguard": "triggers.masking",
    "comms": "comms.api",
    "webhooks": "webhooks.api",
    "attachments": "attachments.api",
    "attachmentsweep": "triggers.attachments",
    "commscallactivity": "triggers.comms_activity",
    "commsmessageactivity": "triggers.comms_activity",
    "sendqueuedmessages": "triggers.comms_queue",
    "visits": "visits.api",
    "remind": "triggers.reminders",
    "leadimport": "triggers.imports",
    "remindersweep": "triggers.reminders",
    "dailydigest": "triggers.reminders",
    "notifyonlead": "triggers.notifications",
    "notifyontask": "triggers.notifications",
    "remindonvisit": "triggers.notifications",
    "privacy": "privacy.api",
    "audit": "audit.api",
    "retentiondaily": "triggers.retention",
    "privacydue": "triggers.privacy_due",
    "capturepull": "triggers.capture_pull",
    "routingsweep": "triggers.routing",
    "leadslaschedule": "triggers.sla",
    "leadsla": "triggers.sla",
    "conversationfollow": "triggers.conversations",
    "reports": "reports.api",
    "reportleads": "triggers.reports",
    "reportcalls": "triggers.reports",
    "reportmessages": "triggers.reports",
    "reportvisits": "triggers.reports",
    "reportcheck": "triggers.reports",
    "reportweekly": "triggers.reports",
}

# Emulator-only functions: never part of a deploy.
EMULATOR_ONLY: dict[str, str] = {
    "dev": "dev.api",
    "devreminders": "triggers.reminders",
}

# Scheduled functions: name -> (cron, time zone). The local runner fires them (the emulator does not).
SCHEDULES: dict[str, tuple[str, str]] = {
    "sendqueuedmessages": ("*/15 * * * *", SCHEDULE_TIME_ZONE),
    "remindersweep": ("5 0 * * *", "UTC"),
    "dailydigest": ("*/15 * * * *", "UTC"),
    "devreminders": ("* * * * *", "UTC"),
    "retentiondaily": ("30 3 * * *", SCHEDULE_TIME_ZONE),
    "privacydue": ("0 9 * * *", SCHEDULE_TIME_ZONE),
    "purgeleads": ("45 3 * * *", SCHEDULE_TIME_ZONE),
    "attachmentsweep": ("20 * * * *", "UTC"),
    "capturepull": ("*/5 * * * *", SCHEDULE_TIME_ZONE),
    "routingsweep": ("*/5 * * * *", "UTC"),
    "reportcheck": ("15 1 * * *", "UTC"),  # checks yesterday in each organization's zone: always a day that is over
    "reportweekly": ("5 * * * *", "UTC"),  # hourly: each organization's Monday 09:xx falls in one run
}
