"""The lead's automatic history: one entry per event, its id derived from the event, so replays write nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.ids import sha256_hex
from leads import store


def entry_id(event_id: str, suffix: str = "") -> str:
    """The activity document id of an event (and an optional sub-entry)."""
    return sha256_hex("activity", event_id, suffix)[:32]


def record(
    *,
    org_id: str,
    lead_id: str,
    event_id: str,
    type: str,
    actor_id: str | None,
    at: datetime,
    summary: str,
    changes: dict[str, dict[str, Any]] | None = None,
    ref: dict[str, str] | None = None,
    suffix: str = "",
) -> bool:
    """Write one entry with create(): a replayed event finds it there and writes nothing. True if written."""
    from google.api_core.exceptions import AlreadyExists

    document = {
        "type": type,
        "actorId": actor_id,
        "at": at,
        "createdAt": at,
        "summary": summary,
        "changes": changes or {},
        "ref": ref or {},
        "leadId": lead_id,
    }
    doc = store.child(org_id, lead_id, "activity").document(entry_id(event_id, suffix))
    try:
        doc.create(document)
    except AlreadyExists:
        return False
    return True
