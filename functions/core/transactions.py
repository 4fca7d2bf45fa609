"""Transactions that may meet contention: several writers of one document, or locks held long under load.

The client retries an aborted commit at once; when writers keep colliding that only repeats the collision, so
whole rounds of attempts are separated by a jittered, growing pause (Firestore's advice for contended
documents), for up to BUDGET_SEC: a slow machine or a burst costs rounds, not refusals (the routing engine's
picks work the same way). A caller that still loses is told to retry (503 with Retry-After), never a 500.
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


def exhausted(error: BaseException) -> bool:
    """The client's "failed to commit in n attempts": every attempt of one round lost to other writers."""
    return isinstance(error, ValueError) and "Failed to commit transaction" in str(error)


def busy() -> ApiError:
    """What a caller is told when its change kept losing to concurrent ones."""
    return ApiError("UNAVAILABLE", "Too many concurrent changes; retry", headers={"Retry-After": "1"})


def contended(apply: Callable[[Any], T], db: Any = None) -> T:
    """Run a `@firestore.transactional` function in rounds of attempts; a 503 to retry when the rounds of
    BUDGET_SEC all failed."""
    db = db or clients.db()
    deadline = time.monotonic() + BUDGET_SEC
    round_ = 0
    while True:
        try:
            return apply(db.transaction(max_attempts=ATTEMPTS))
        except ValueError as error:
            if not exhausted(error):
                raise
        pause = random.uniform(0.5, 1.0) * PAUSE_SEC * min(2**round_, PAUSE_GROWTH)
        if time.monotonic() + pause >= deadline:
            raise busy()
        time.sleep(pause)
        round_ += 1
