"""Counters that stay cool under bursts: one document per member, never one per team (docs/routing.md).

- Rotation: `orgs/{orgId}/rotation/{scope}/counts/{uid}` `{n}`: how many leads the scope's routing gave
  the member. Monotonic. A member without a document counts as the scope's current minimum.
- Open leads: `orgs/{orgId}/openLeads/{uid}` `{n}`: the member's open leads (eligibility.is_open), +1/-1
  in the transactions that assign, reassign, close, reopen, archive, restore and merge, and after an erasure.
Every create writes one document of each, the chosen member's: each one sees (lead rate / members) writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core import clients, tenancy


def rotation_ref(org_id: str, scope: str, uid: str) -> Any:
    """A member's assignment count in one rotation scope."""
    return tenancy.org_ref(org_id).collection("rotation").document(scope).collection("counts").document(uid)


def open_ref(org_id: str, uid: str) -> Any:
    """A member's open-lead count."""
    return tenancy.org_ref(org_id).collection("openLeads").document(uid)


def value(snapshot: Any) -> int | None:
    """A counter snapshot's count; None when the document does not exist."""
    if not snapshot.exists:
        return None
    count = (snapshot.to_dict() or {}).get("n")
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def read(refs: Iterable[Any], *, transaction: Any = None) -> dict[str, int | None]:
    """Counts by document path (None: no document), in one batched read."""
    return {path: count for path, (count, _) in stamped(refs, transaction=transaction).items()}


def stamped(refs: Iterable[Any], *, transaction: Any = None) -> dict[str, tuple[int | None, Any]]:
    """(count, update time) by document path (None, None: no document), in one batched read."""
    refs = list(refs)
    if not refs:
        return {}
    reader = transaction if transaction is not None else clients.db()
    return {
        snapshot.reference.path: (value(snapshot), snapshot.update_time if snapshot.exists else None)
        for snapshot in reader.get_all(refs)
    }


def start(ref: Any, count: int, uid: str) -> tuple[int, Any]:
    """Make a missing counter exist at count (outside any transaction; another writer may win the race) and
    return what it holds and its update time: a transaction can then write it under an update-time
    precondition instead of reading it, so concurrent creates never hold locks on it."""
    from google.api_core.exceptions import AlreadyExists

    try:
        return count, ref.create({"n": count, "uid": uid}).update_time  # the write's own time: no read back
    except AlreadyExists:  # another writer started it first: use what it holds
        snapshot = ref.get()
        return value(snapshot) or 0, snapshot.update_time


def shift_open(writer: Any, org_id: str, uid: str | None, delta: int) -> None:
    """Add delta to a member's open-lead count as a blind increment (no read, so no lock to contend on)."""
    from google.cloud import firestore

    if uid and delta:
        writer.set(open_ref(org_id, uid), {"n": firestore.Increment(delta)}, merge=True)
