"""Counter increments applied once per event.

Firestore triggers are delivered at least once. A trigger that adds to counters commits its increments and a
marker of the event in one batch whose marker is *created* (`create` fails when the document exists), so a
redelivered event commits nothing. Markers expire by TTL after MARKER_DAYS, far past the triggers' DATA_EVENTS
bound on retries (core.deploy).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from core import clients, clock, ttl

MARKER_DAYS = 7


def commit(marker: Any, writes: Iterable[tuple[Any, dict[str, Any]]]) -> bool:
    """Create `marker` and merge-set each (document, fields) in one batch; False when the marker existed (the
    event was applied before) and nothing was written."""
    from google.api_core.exceptions import AlreadyExists

    now = clock.now()
    batch = clients.db().batch()
    batch.create(marker, {"at": now, ttl.FIELD: now + timedelta(days=MARKER_DAYS)})
    for document, fields in writes:
        batch.set(document, fields, merge=True)
    try:
        batch.commit()
    except AlreadyExists:
        return False
    return True
