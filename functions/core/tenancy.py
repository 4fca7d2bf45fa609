"""Reading organizations and members, with a short per-instance cache for the per-request checks."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core import clients, logs, settings

# How old a read made earlier in the same request may be and still stand for "read now" (`org_now`).
SAME_REQUEST_SECONDS = 2.0


def org_ref(org_id: str) -> Any:
    """The organization's document reference."""
    return clients.db().collection("orgs").document(org_id)


def member_ref(org_id: str, uid: str) -> Any:
    """A member's document reference."""
    return org_ref(org_id).collection("members").document(uid)


@dataclass
class _Entry:
    expires: float
    value: dict[str, Any] | None
    read_at: float = 0.0
    request: logs.RequestContext | None = None  # the request (or event) whose handling made the read


@dataclass
class TtlCache:
    """Documents read at most once per `ttl` seconds per instance."""

    entries: dict[str, _Entry] = field(default_factory=dict)

    def get(self, path: str, *, fresh: bool, reader: Any) -> dict[str, Any] | None:
        """The document at path, from cache unless fresh or expired."""
        entry = self.entries.get(path)
        now = time.monotonic()
        if not fresh and entry and entry.expires > now:
            return entry.value
        snapshot = reader()
        value = snapshot.to_dict() if snapshot.exists else None
        self.entries[path] = _Entry(now + settings.get().member_cache_seconds, value, now, logs.current())
        return value

    def read_in_this_request(self, path: str) -> tuple[bool, dict[str, Any] | None]:
        """(True, the document) when the request being handled read it itself moments ago, else (False, None).
        The request is compared by identity: a redelivered event that reuses an id is another handling."""
        entry, context = self.entries.get(path), logs.current()
        if entry is None or context is None or entry.request is not context:
            return False, None
        if time.monotonic() - entry.read_at > SAME_REQUEST_SECONDS:
            return False, None
        return True, entry.value

    def forget(self, path: str) -> None:
        """Drop one entry (after this instance changed the document)."""
        self.entries.pop(path, None)

    def clear(self) -> None:
        """Drop everything (tests)."""
        self.entries.clear()


cache = TtlCache()


def load_org(org_id: str, *, fresh: bool = False) -> dict[str, Any] | None:
    """The organization document, cached for a few seconds unless fresh."""
    ref = org_ref(org_id)
    return cache.get(ref.path, fresh=fresh, reader=ref.get)


def org_now(org_id: str) -> dict[str, Any] | None:
    """The organization as it is now: the read this same request made moments ago (authenticating a caller on
    an instance whose cache had expired), else a fresh read. Never an earlier request's cached copy."""
    found, value = cache.read_in_this_request(org_ref(org_id).path)
    return value if found else load_org(org_id, fresh=True)


def load_member(org_id: str, uid: str, *, fresh: bool = False) -> dict[str, Any] | None:
    """The member document, cached for a few seconds unless fresh."""
    ref = member_ref(org_id, uid)
    return cache.get(ref.path, fresh=fresh, reader=ref.get)


def subscription_current(org: dict[str, Any], now: datetime) -> bool:
    """True while the organization's subscription has not ended."""
    ends = org.get("subscriptionEndsAt")
    return bool(org.get("active", True)) and ends is not None and ends > now
