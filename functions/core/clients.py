"""Lazily created, reused clients: each is built on first use, once per process."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from core import settings

if TYPE_CHECKING:
    import firebase_admin
    from google.cloud import firestore


@lru_cache(maxsize=1)
def firebase_app() -> firebase_admin.App:
    """The firebase_admin app; on the emulators with anonymous credentials (LOCAL-STACK.md trap)."""
    import firebase_admin
    from firebase_admin import credentials

    config = settings.get()
    try:
        return firebase_admin.get_app()
    except ValueError:
        pass
    if config.emulator:

        class _Anonymous(credentials.Base):
            def get_credential(self) -> Any:
                from google.auth.credentials import AnonymousCredentials

                return AnonymousCredentials()

        return firebase_admin.initialize_app(
            _Anonymous(), {"projectId": config.project_id, "storageBucket": config.bucket}
        )
    return firebase_admin.initialize_app(options={"storageBucket": config.bucket})


@lru_cache(maxsize=1)
def db() -> firestore.Client:
    """The Firestore client (the emulator's when FIRESTORE_EMULATOR_HOST is set)."""
    from google.cloud import firestore

    config = settings.get()
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        client = firestore.Client(project=config.project_id, credentials=AnonymousCredentials())
    else:
        client = firestore.Client(project=config.project_id)
    bound_retries(client._firestore_api._transport, seconds=config.firestore_deadline_seconds)
    return client


def bound_retries(transport: Any, *, seconds: float) -> None:
    """Cap every Firestore RPC's retry deadline and timeout (the library's defaults are 60-300 s, longer
    than a function's timeout): when Firestore is down a request answers 503 in `seconds`, not minutes."""
    for wrapped in transport._wrapped_methods.values():
        retry = getattr(wrapped, "_retry", None)
        if retry is not None:
            bounded = retry.with_timeout(seconds) if hasattr(retry, "with_timeout") else retry.with_deadline(seconds)
            wrapped._retry = bounded
        timeout = getattr(wrapped, "_timeout", None)
        if isinstance(timeout, int | float):
            wrapped._timeout = min(float(timeout), seconds)


def reset() -> None:
    """Drop cached clients (tests that switch emulators)."""
    db.cache_clear()


def where(field: str, op: str, value: Any) -> Any:
    """A Firestore field filter (for `query.where(filter=...)`), imported lazily."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    return FieldFilter(field, op, value)
