"""Ending a member's sessions everywhere the app reads: the API, the Firestore listeners and Firebase Auth.

A session is the login that minted its custom token: the token carries `loginAt` (epoch milliseconds), the
ID tokens signed in with it carry it on, and a session is alive while the member record is active and
`sessionsValidAfter` is not later than `loginAt`. The API (core/caller.py) and firestore.rules check the
same two fields of the same record, so one write ends a session for both. Firebase Auth is told too: the
refresh tokens are revoked (no new ID token from an old session) and a deactivated member's Auth user is
disabled, so the custom token handed out at login no longer signs in. The member's device registrations
go too, so no push reaches a device whose session ended; the app registers again after it signs in.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from core import clients, clock, tenancy
from core.caller import EPOCH, epoch_ms, epoch_us
from core.ids import sha256_hex


def cutoff(now: datetime | None = None) -> datetime:
    """The `sessionsValidAfter` that ends every session started until now: now rounded up to the millisecond.

    Rounding up keeps a login minted in the same millisecond on the ended side; the rules compare milliseconds.
    """
    return EPOCH + timedelta(milliseconds=-(-epoch_us(now or clock.now()) // 1000))


def login_at(now: datetime | None = None) -> int:
    """The `loginAt` claim of a session starting now (epoch milliseconds, rounded down)."""
    return epoch_ms(now or clock.now())


def end_sessions(*, org_id: str, uid: str) -> None:
    """End every session of a member now (logout, erasure): the record's cutoff, Auth's refresh tokens, devices."""
    ref = tenancy.member_ref(org_id, uid)
    ref.update({"sessionsValidAfter": cutoff()})
    tenancy.cache.forget(ref.path)
    revoke_refresh_tokens(uid)
    forget_devices(uid)


def forget_devices(uid: str) -> int:
    """Drop every device registration of a user and its token index entries (those still pointing here)."""
    from core.push_tokens import TOKENS, devices_of

    db = clients.db()
    batch, count = db.batch(), 0
    for device in devices_of(uid).stream():
        token = (device.to_dict() or {}).get("fcmToken")
        if token:
            index = db.collection(TOKENS).document(sha256_hex(str(token)))
            held = index.get()
            if held.exists and (held.to_dict() or {}).get("uid") == uid:
                batch.delete(index)
        batch.delete(device.reference)
        count += 1
        if count % 200 == 0:  # two writes a device: stay under a batch's 500
            batch.commit()
            batch = db.batch()
    batch.commit()
    return count


def revoke_refresh_tokens(uid: str) -> None:
    """Revoke the Auth user's refresh tokens (a member who never logged in has no Auth user)."""
    from firebase_admin import auth

    with contextlib.suppress(auth.UserNotFoundError):
        auth.revoke_refresh_tokens(uid, app=clients.firebase_app())


def sync_auth_user(member: dict[str, Any], *, revoke: bool) -> None:
    """Make the Auth user match the member record: its claims, disabled unless active; when the change ended
    its sessions, revoke the refresh tokens and drop the devices.

    Idempotent, so a retried change (after Auth was unreachable) finishes the job.
    """
    from firebase_admin import auth

    claims = {"orgId": member["orgId"], "role": member["role"], "teamId": member.get("teamId")}
    uid = str(member["uid"])
    with contextlib.suppress(auth.UserNotFoundError):  # never logged in: the user is made at first login
        auth.update_user(uid, custom_claims=claims, disabled=not member.get("active"), app=clients.firebase_app())
    if revoke:
        revoke_refresh_tokens(uid)
        forget_devices(uid)
