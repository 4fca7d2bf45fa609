"""Fixed-window rate limits kept in Firestore, so every instance shares them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core import clients, clock, transactions
from core.errors import ApiError
from core.ids import sha256_hex

COLLECTION = "throttles"


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `window`, and at least `gap` between two."""

    name: str
    count: int
    window: timedelta
    gap: timedelta = timedelta(0)


def hit(limit: Limit, subject: str) -> None:
    """Count one event for subject, or raise 429 with Retry-After when over the limit."""
    hit_all([(limit, subject)])


def hit_all(hits: Sequence[tuple[Limit, str]]) -> None:
    """Count one event against each (limit, subject) in order, in one transaction (one read of them all, one
    commit), stopping at the first limit that refuses: 429 with Retry-After, the limits before it counted, as
    one `hit` after another would have left them."""
    from google.cloud import firestore

    db = clients.db()
    refs = [db.collection(COLLECTION).document(sha256_hex(limit.name, subject)) for limit, subject in hits]
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> float:
        stored = {snapshot.reference.path: snapshot for snapshot in transaction.get_all(refs)}
        for (limit, _subject), ref in zip(hits, refs, strict=True):
            snapshot = stored.get(ref.path)
            wait = _count(transaction, ref, limit, snapshot.to_dict() if snapshot and snapshot.exists else None, now)
            if wait > 0:
                return wait
        return 0.0

    wait = transactions.run(apply, db)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            "RESOURCE_EXHAUSTED", f"Too many requests; retry in {seconds} s", headers={"Retry-After": str(seconds)}
        )


def _count(transaction: Any, ref: Any, limit: Limit, state: dict[str, Any] | None, now: datetime) -> float:
    """The seconds to wait when `limit` refuses one more event; otherwise 0, the event counted in `transaction`."""
    if not state or state["windowStart"] + limit.window <= now:
        state = {"windowStart": now, "count": 0, "last": None}
    wait = 0.0
    if state["count"] >= limit.count:
        wait = (state["windowStart"] + limit.window - now).total_seconds()
    elif state["last"] is not None and state["last"] + limit.gap > now:
        wait = (state["last"] + limit.gap - now).total_seconds()
    if wait > 0:
        return wait
    transaction.set(
        ref,
        {
            "windowStart": state["windowStart"],
            "count": state["count"] + 1,
            "last": now,
            "expiresAt": state["windowStart"] + limit.window,
        },
    )
    return 0.0
