"""The FCM token store: a user's devices and the index of which device holds each token.

It lives in core because the Notifier (core.notify) reads and prunes it; the devices feature registers
into it, and erasure and session ends clear it.
"""

from __future__ import annotations

from typing import Any

from core import clients
from core.ids import sha256_hex

TOKENS = "fcmTokens"


def devices_of(uid: str) -> Any:
    """The collection of a user's devices."""
    return clients.db().collection("users").document(uid).collection("devices")


def token_ref(token: str) -> Any:
    """The index document that says which user and device hold a token."""
    return clients.db().collection(TOKENS).document(sha256_hex(token))


def remove_token(uid: str, token: str) -> None:
    """Drop a token FCM reported dead, wherever it is registered for uid."""
    batch = clients.db().batch()
    for snapshot in devices_of(uid).where(filter=clients.where("fcmToken", "==", token)).stream():
        batch.delete(snapshot.reference)
    batch.delete(token_ref(token))
    batch.commit()


def tokens_of(uid: str) -> list[str]:
    """Every FCM token registered for a user."""
    return [str(s.get("fcmToken")) for s in devices_of(uid).stream() if s.get("fcmToken")]
