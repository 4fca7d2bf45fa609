"""Settings every new organization starts with."""

from __future__ import annotations

from typing import Any

STAGES = [
    "new",
    "contacted",
    "qualified",
    "site-visit-scheduled",
    "site-visit-done",
    "negotiation",
    "booked",
    "lost",
]
SOURCES = [
    "walk-in",
    "website",
    "referral",
    "channel-partner",
    "99acres",
    "magicbricks",
    "housing",
    "facebook",
    "google",
    "whatsapp",
    "import",
    "other",
]
CONFIGURATIONS = ["1RK", "1BHK", "2BHK", "2.5BHK", "3BHK", "3.5BHK", "4BHK", "5BHK", "villa", "plot", "commercial"]


def settings() -> dict[str, Any]:
    """A fresh copy of the default organization settings."""
    return {
        "stages": list(STAGES),
        "sources": list(SOURCES),
        "configurations": list(CONFIGURATIONS),
        "rolePermissions": {},
        "phoneMasking": False,
        "callRecording": False,
        "timeZone": "Asia/Kolkata",
        "defaultCountryCode": "+91",
        "visitStageMoves": True,
        "callerId": None,
    }
