"""Registering devices: one document per install; a token moves with the person signed in on it."""

from __future__ import annotations

from typing import Any

from core import clients, clock, transactions
from core.caller import Caller
from core.push_tokens import devices_of, token_ref
from devices.models import DeviceRegister


def register(*, caller: Caller, data: DeviceRegister) -> dict[str, Any]:
    """Create or refresh a device; a token last held by another user is taken from them."""
    from google.cloud import firestore

    db = clients.db()
    ref = devices_of(caller.uid).document(data.device_id)
    holder_ref = token_ref(data.fcm_token)
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        existing = ref.get(transaction=transaction)
        holder = holder_ref.get(transaction=transaction)
        previous = existing.to_dict() if existing.exists else None
        held = holder.to_dict() if holder.exists else None
        if held and (held["uid"], held["deviceId"]) != (caller.uid, data.device_id):
            transaction.delete(devices_of(held["uid"]).document(held["deviceId"]))
        if previous and previous.get("fcmToken") != data.fcm_token:
            transaction.delete(token_ref(previous["fcmToken"]))
        device = {
            **data.model_dump(by_alias=True),
            "uid": caller.uid,
            "orgId": caller.org_id,
            "createdAt": previous["createdAt"] if previous else now,
            "updatedAt": now,
        }
        transaction.set(ref, device)
        transaction.set(holder_ref, {"uid": caller.uid, "deviceId": data.device_id, "updatedAt": now})
        return device

    result: dict[str, Any] = transactions.run(apply, db)
    return result


def unregister(*, caller: Caller, device_id: str) -> None:
    """Forget a device of the caller (idempotent: an unknown id is fine)."""
    ref = devices_of(caller.uid).document(device_id)
    snapshot = ref.get()
    batch = clients.db().batch()
    if snapshot.exists:
        token = (snapshot.to_dict() or {}).get("fcmToken")
        if token:
            batch.delete(token_ref(token))
    batch.delete(ref)
    batch.commit()
