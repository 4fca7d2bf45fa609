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


def feed(uid: str) -> list[dict[str, Any]]:
    """A user's in-app feed, newest first."""
    from google.cloud.firestore import Query

    from core import clients

    query = (
        clients.db()
        .collection("users")
        .document(uid)
        .collection("notifications")
        .order_by("createdAt", direction=Query.DESCENDING)
    )
    return [s.to_dict() or {} for s in query.stream()]


def pushes_to(uid: str) -> list[dict[str, Any]]:
    """Pushes the outbox holds for a user, newest first (sorted here: the outbox is emulator-only, unindexed)."""
    from core import clients

    query = clients.db().collection("outbox").where(filter=clients.where("to", "==", uid))
    found = [s.to_dict() or {} for s in query.stream()]
    return sorted((m for m in found if m.get("channel") == "push"), key=lambda m: m["createdAt"], reverse=True)
