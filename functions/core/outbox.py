"""The emulator's outbox: what would have been emailed, texted or pushed, kept in Firestore."""

from __future__ import annotations

from typing import Any

from core import clients, clock, ttl
from core.ids import new_id

COLLECTION = "outbox"


def record(
    *, channel: str, to: str, subject: str = "", text: str = "", refs: list[str] | None = None, **extra: Any
) -> str:
    """Store one outgoing message; returns its id."""
    doc_id = new_id("ob_")
    now = clock.now()
    clients.db().collection(COLLECTION).document(doc_id).set(
        {
            "channel": channel,
            "to": to,
            "subject": subject,
            "text": text,
            "refs": refs or [],
            "createdAt": now,
            ttl.FIELD: ttl.outbox_expiry(now),
            **extra,
        }
    )
    return doc_id


def recent(*, to: str | None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest outbox entries, optionally only those to one address."""
    from google.cloud.firestore import Query

    query: Any = clients.db().collection(COLLECTION)
    if to:
        query = query.where(filter=clients.where("to", "==", to))
    query = query.order_by("createdAt", direction=Query.DESCENDING).limit(limit)
    return [{"id": snap.id, **(snap.to_dict() or {})} for snap in query.stream()]
