"""Local seed (emulator only; devtools.seed calls it): each organization routes round-robin, SLA off,
working hours all day every day (API.md, "Local seed")."""

from __future__ import annotations

from typing import Any

from core import clock
from routing import config


def seed(org_id: str, members: dict[str, Any]) -> None:
    """Store the organization's routing configuration."""
    config.ref(org_id).set(
        {
            "rules": [],
            "firstContactMinutes": 0,
            "maxReassignments": config.DEFAULT_MAX_REASSIGNMENTS,
            "workingHours": {
                "start": "00:00",
                "end": "24:00",
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            },
            "version": 1,
            "updatedAt": clock.now(),
            "updatedBy": None,
        }
    )
