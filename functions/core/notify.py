"""The Notifier port: every push lands in the user's feed `users/{uid}/notifications`, then goes out
through FCM in production (dead tokens removed) or to the outbox on the emulators."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from core import clients, clock, outbox, settings, ttl
from core.ids import sha256_hex
from core.push_tokens import remove_token, tokens_of


@dataclass(frozen=True)
class Push:
    """One notification to one user."""

    uid: str
    kind: str  # lead-assigned, task-assigned, visit-reminder, call-alert, lead-updated, ...
    title: str
    body: str
    data: dict[str, str] = field(default_factory=dict)
    refs: tuple[str, ...] = ()


class Notifier(Protocol):
    """Delivers a push to a user's devices."""

    def deliver(self, push: Push, tokens: list[str]) -> list[str]:
        """Send to every token; return the tokens the provider reported dead."""
        ...


class OutboxNotifier:
    """Emulator: the push lands in the outbox (channel push, to = uid)."""

    def deliver(self, push: Push, tokens: list[str]) -> list[str]:
        """Record the push."""
        outbox.record(
            channel="push",
            to=push.uid,
            subject=push.title,
            text=push.body,
            refs=list(push.refs),
            data=dict(push.data) | {"kind": push.kind},
            tokens=len(tokens),
        )
        return []


DEAD_TOKEN_CODES = {"UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH"}


class FcmNotifier:
    """Production: FCM `send_each`, one message per device token."""

    def deliver(self, push: Push, tokens: list[str]) -> list[str]:
        """Send; collect tokens FCM says are unregistered or invalid."""
        if not tokens:
            return []
        from firebase_admin import messaging

        messages = [
            messaging.Message(
                token=token,
                notification=messaging.Notification(title=push.title, body=push.body),
                data=dict(push.data) | {"kind": push.kind},
                android=messaging.AndroidConfig(priority="high"),
            )
            for token in tokens
        ]
        result = messaging.send_each(messages, app=clients.firebase_app())
        dead = []
        for token, response in zip(tokens, result.responses, strict=True):
            if response.success or response.exception is None:
                continue
            code = getattr(response.exception, "code", "") or ""
            cause = str(getattr(response.exception, "cause", "") or "")
            if (
                isinstance(response.exception, messaging.UnregisteredError)
                or str(code).upper() in DEAD_TOKEN_CODES
                or ("registration-token-not-registered" in cause)
            ):
                dead.append(token)
        return dead


_notifier: Notifier | None = None


def notifier() -> Notifier:
    """The configured Notifier: the outbox on the emulators, FCM in production."""
    global _notifier
    if _notifier is None:
        _notifier = OutboxNotifier() if settings.get().emulator else FcmNotifier()
    return _notifier


def install(replacement: Notifier | None) -> None:
    """Replace the notifier (tests)."""
    global _notifier
    _notifier = replacement


DELIVERY_LEASE = timedelta(seconds=30)


def send(push: Push, *, dedupe_key: str) -> bool:
    """Add the push to the user's feed and deliver it, once per dedupe_key.

    A retry after a failed delivery (the feed entry still `pending` and its lease over) delivers again;
    a retry after a delivery sends nothing. True when this call delivered."""
    from google.api_core.exceptions import AlreadyExists, FailedPrecondition

    ref = clients.db().collection("users").document(push.uid).collection("notifications")
    doc = ref.document(sha256_hex("push", dedupe_key)[:32])
    now = clock.now()
    try:
        doc.create(
            {
                "kind": push.kind,
                "title": push.title,
                "body": push.body,
                "data": dict(push.data),
                "refs": list(push.refs),
                "read": False,
                "createdAt": now,
                ttl.FIELD: ttl.notification_expiry(now),
                "delivery": "pending",
                "deliveryLeaseUntil": now + DELIVERY_LEASE,
            }
        )
    except AlreadyExists:
        snapshot = doc.get()
        entry = snapshot.to_dict() or {}
        lease = entry.get("deliveryLeaseUntil")
        if entry.get("delivery") != "pending" or (lease is not None and lease > now):
            return False
        try:  # take the lease over, unless another retry just did
            doc.update(
                {"deliveryLeaseUntil": now + DELIVERY_LEASE},
                option=clients.db().write_option(last_update_time=snapshot.update_time),
            )
        except FailedPrecondition:
            return False
    _deliver(push)
    doc.update({"delivery": "sent", "deliveryLeaseUntil": None, "deliveredAt": clock.now()})
    return True


def _deliver(push: Push) -> None:
    """Hand the push to the notifier; forget the tokens it reports dead."""
    tokens = tokens_of(push.uid)
    for dead in notifier().deliver(push, tokens):
        remove_token(push.uid, dead)


def feed_entry(uid: str, data: dict[str, Any]) -> dict[str, Any]:
    """A feed entry as the API shows it."""
    return {"uid": uid, **data}
