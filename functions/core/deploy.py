"""Deployment options shared by every function: region, memory, secrets, and retried event triggers.

Event triggers deploy with retries on (the SDK's default is `retry: false`, which silently loses an activity
entry or a push on one transient error) because every handler is idempotent (ids derived from the event).
Eventarc redelivers a failing event with exponential backoff (10 s up to 10 min between attempts) for up to
24 hours; each trigger acknowledges and drops an event older than its bound (python-docs-samples'
avoid-infinite-retries pattern), so a poisoned event stops costing invocations:
- PUSH_EVENTS (1 h): a push about something older than an hour is noise, not news.
- DATA_EVENTS (12 h): history entries and re-masking are data, worth about 70 attempts across a long outage;
  past that the event is logged (its id, never its data) for a person to look at.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from core import clock, logs
from core.settings import REGION

log = logging.getLogger("justo")

_MEMORY_NAMES = {256: "MB_256", 512: "MB_512", 1024: "GB_1", 2048: "GB_2"}
PUSH_EVENTS = timedelta(hours=1)
DATA_EVENTS = timedelta(hours=12)

F = TypeVar("F", bound=Callable[..., Any])


def https_options(*, secrets: tuple[str, ...] = (), memory_mb: int = 256, timeout_sec: int = 60) -> dict[str, Any]:
    """Keyword arguments for `https_fn.on_request`; `secrets` are exactly the secrets the function reads."""
    from firebase_functions import options

    return {
        "region": REGION,
        "memory": getattr(options.MemoryOption, _MEMORY_NAMES[memory_mb]),
        "timeout_sec": timeout_sec,
        "secrets": list(secrets) or None,
        "invoker": "public",
    }


def event_age(event_time: datetime, now: datetime) -> timedelta:
    """How long ago an event happened (a naive time is UTC)."""
    if event_time.tzinfo is None:
        event_time = event_time.replace(tzinfo=UTC)
    return now - event_time


def is_stale(event_time: datetime, max_age: timedelta, now: datetime) -> bool:
    """True for an event older than max_age: a retry that should be acknowledged and dropped."""
    return event_age(event_time, now) > max_age


def document_trigger(
    sdk_decorator: Callable[..., Callable[[F], F]],
    *,
    document: str,
    max_age: timedelta,
    secrets: tuple[str, ...] = (),
) -> Callable[[F], F]:
    """A Firestore trigger (e.g. `firestore_fn.on_document_written`) deployed with retries on, whose handler
    is skipped (the event acknowledged) once the event is older than max_age."""

    def wrap(handler: F) -> F:
        @functools.wraps(handler)
        def guarded(event: Any) -> Any:
            if is_stale(event.time, max_age, clock.now()):
                log.error(
                    "dropping stale event %s of %s: older than %s",
                    getattr(event, "id", "?"),
                    handler.__name__,
                    max_age,
                )
                return None
            with logs.request(request_id=str(getattr(event, "id", "") or "") or None):
                return handler(event)

        options: dict[str, Any] = {"document": document, "region": REGION}
        if secrets:
            options["secrets"] = list(secrets)
        function = sdk_decorator(**options)(guarded)  # type: ignore[arg-type]
        # firebase-functions 0.6.0 hard-codes `retry: False` into Firestore triggers and takes no retry option;
        # the manifest's eventTrigger is a plain dict, and `firebase deploy` turns `retry: true` into Eventarc's
        # retry policy.
        function.__firebase_endpoint__.eventTrigger["retry"] = True  # type: ignore[attr-defined]
        return function

    return wrap
