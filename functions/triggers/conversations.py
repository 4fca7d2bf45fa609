"""The WhatsApp conversations follow their lead: its assignee, team, stage and archive flag (the listener rules
read them), a merge (folded into the surviving lead's) and an erasure or purge (deleted)."""

from __future__ import annotations

from typing import Any

from firebase_functions import firestore_fn

from comms import conversations
from core.deploy import DATA_EVENTS, document_trigger


def _data(snapshot: Any) -> dict[str, Any] | None:
    return snapshot.to_dict() if snapshot is not None and snapshot.exists else None


@document_trigger(firestore_fn.on_document_written, document="orgs/{orgId}/leads/{leadId}", max_age=DATA_EVENTS)
def conversationfollow(event: firestore_fn.Event[firestore_fn.Change[Any]]) -> None:
    """Lead written: its conversations follow it."""
    conversations.follow_lead(
        event.params["orgId"], event.params["leadId"], _data(event.data.before), _data(event.data.after)
    )
