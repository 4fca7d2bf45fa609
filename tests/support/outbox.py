"""Reading what the app's users would have received."""

from __future__ import annotations

import re
from typing import Any


def messages_to(address: str) -> list[dict[str, Any]]:
    """Outbox entries to an address, newest first."""
    from core import outbox

    return outbox.recent(to=address.lower())


def latest_code(address: str) -> str:
    """The 6-digit code of the newest login email to address."""
    for item in messages_to(address):
        found = re.search(r"\b(\d{6})\b", item.get("subject", ""))
        if found:
            return found.group(1)
    raise AssertionError(f"no login code was emailed to {address}")
