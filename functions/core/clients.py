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

        return firestore.Client(project=config.project_id, credentials=AnonymousCredentials())
    return firestore.Client(project=config.project_id)


def reset() -> None:
    """Drop cached clients (tests that switch emulators)."""
    db.cache_clear()


def where(field: str, op: str, value: Any) -> Any:
    """A Firestore field filter (for `query.where(filter=...)`), imported lazily."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    return FieldFilter(field, op, value)
