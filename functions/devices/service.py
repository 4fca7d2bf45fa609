"""Registering devices: one document per install; a token moves with the person signed in on it."""

from __future__ import annotations

from typing import Any

from core import clients, clock
from core.caller import Caller
from core.ids import sha256_hex
from devices.models import DeviceRegister

TOKENS = "fcmTokens"


def devices_of(uid: str) -> Any:
    """The collection of a user's devices."""
    return clients.db().collection("users").document(uid).collection("devices")


def register(*, caller: Caller, data: DeviceRegister) -> dict[str, Any]:
    """Create or refresh a device; a token last held by another user is taken from them."""
    from google.cloud import firestore

    db = clients.db()
    ref = devices_of(caller.uid).document(data.device_id)
    token_ref = db.collection(TOKENS).document(sha256_hex(data.fcm_token))
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        existing = ref.get(transaction=transaction)
        holder = token_ref.get(transaction=transaction)
        previous = existing.to_dict() if existing.exists else None
        held = holder.to_dict() if holder.exists else None
        if held and (held["uid"], held["deviceId"]) != (caller.uid, data.device_id):
            transaction.delete(devices_of(held["uid"]).document(held["deviceId"]))
        if previous and previous.get("fcmToken") != data.fcm_token:
            transaction.delete(db.collection(TOKENS).document(sha256_hex(previous["fcmToken"])))
        device = {
            **data.model_dump(by_alias=True),
            "uid": caller.uid,
            "orgId": caller.org_id,
            "createdAt": previous["createdAt"] if previous else now,
            "updatedAt": now,
        }
        transaction.set(ref, device)
        transaction.set(token_ref, {"uid": caller.uid, "deviceId": data.device_id, "updatedAt": now})
        return device

    result: dict[str, Any] = apply(db.transaction())
    return result


def unregister(*, caller: Caller, device_id: str) -> None:
    """Forget a device of the caller (idempotent: an unknown id is fine)."""
    ref = devices_of(caller.uid).document(device_id)
    snapshot = ref.get()
    batch = clients.db().batch()
    if snapshot.exists:
        token = (snapshot.to_dict() or {}).get("fcmToken")
        if token:
            batch.delete(clients.db().collection(TOKENS).document(sha256_hex(token)))
    batch.delete(ref)
    batch.commit()


def remove_token(uid: str, token: str) -> None:
    """Drop a token FCM reported dead, wherever it is registered for uid."""
    token_ref = clients.db().collection(TOKENS).document(sha256_hex(token))
    batch = clients.db().batch()
    for snapshot in devices_of(uid).where(filter=clients.where("fcmToken", "==", token)).stream():
        batch.delete(snapshot.reference)
    batch.delete(token_ref)
    batch.commit()


def tokens_of(uid: str) -> list[str]:
    """Every FCM token registered for a user."""
    return [str(s.get("fcmToken")) for s in devices_of(uid).stream() if s.get("fcmToken")]
