"""Where each deployed function lives: main.py loads only the started one (cold start), or all for deploys."""

from __future__ import annotations

# function name -> module that defines it (the attribute has the same name)
FUNCTIONS: dict[str, str] = {
    "auth": "auth.api",
    "members": "members.api",
    "org": "org.api",
    "devices": "devices.api",
}

# Emulator-only functions: never part of a deploy.
EMULATOR_ONLY: dict[str, str] = {
    "dev": "dev.api",
}

# Scheduled functions: name -> (cron, time zone). The local runner fires them (the emulator does not).
SCHEDULES: dict[str, tuple[str, str]] = {}
