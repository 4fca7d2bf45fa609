"""Every transaction of the backend runs here: `run` tries a `@firestore.transactional` function again when
another writer made it lose, and tells the caller to retry only when that kept happening.

The client attempts a commit that aborted again at once, but it raises an `Aborted` from a read inside the
transaction as it is (a lock held by another transaction: production's contention, the emulator's
"Transaction lock timeout"), and when writers keep colliding its attempts only repeat the collision. So whole
rounds of attempts, after either, are separated by a jittered, growing pause (Firestore's advice for contended
documents), for up to BUDGET_SEC: a slow machine or a burst costs rounds, not refusals. A caller that still
loses gets a 503 with Retry-After, never a 500; one that reads a changed document on its next round gets what
that document now says (a 412 for a stale If-Match, for instance), as if it had come second.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from core import clients
from core.errors import ApiError

ATTEMPTS = 5  # the client's attempts in one round
BUDGET_SEC = 20.0  # how long a change keeps trying rounds before the caller is told to retry (functions: 60 s)
PAUSE_SEC = 0.05  # the pause after a lost round, doubling each round up to PAUSE_GROWTH x (0.8 s)
PAUSE_GROWTH = 16

T = TypeVar("T")


def lost(error: BaseException) -> bool:
    """A round lost to other writers: the client's "failed to commit in n attempts", or an `Aborted` raised by
    a read inside the transaction."""
    from google.api_core.exceptions import Aborted

    return isinstance(error, Aborted) or (
        isinstance(error, ValueError) and "Failed to commit transaction" in str(error)
    )


def busy() -> ApiError:
    """What a caller is told when its change kept losing to concurrent ones."""
    return ApiError("UNAVAILABLE", "Too many concurrent changes; retry", headers={"Retry-After": "1"})


def run(apply: Callable[[Any], T], db: Any = None) -> T:
    """Run a `@firestore.transactional` function in rounds of attempts; a 503 to retry when the rounds of
    BUDGET_SEC all lost."""
    db = db or clients.db()
    deadline = time.monotonic() + BUDGET_SEC
    round_ = 0
    while True:
        try:
            return apply(db.transaction(max_attempts=ATTEMPTS))
        except Exception as error:
            if not lost(error):
                raise
        pause = random.uniform(0.5, 1.0) * PAUSE_SEC * min(2**round_, PAUSE_GROWTH)
        if time.monotonic() + pause >= deadline:
            raise busy()
        time.sleep(pause)
        round_ += 1
