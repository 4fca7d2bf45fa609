"""The organization's append-only, hash-chained security audit trail (ids only, no personal data).

Entries live at `orgs/{orgId}/audit/{seq:012d}`; the head `orgs/{orgId}/auditHead/head` holds the last
`seq` and `hash`, and, once retention has removed the oldest months, the `anchorSeq` and `anchorHash`
of the last removed entry: the chain that remains starts from that anchor and still verifies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core import clients, clock, transactions
from core.jsonutil import to_json

GENESIS = "0" * 64
ENTRIES = "audit"
HEAD = ("auditHead", "head")


def entry_id(seq: int) -> str:
    """The document id of the entry with this sequence number."""
    return f"{seq:012d}"


def entry_hash(previous: str, entry: dict[str, Any]) -> str:
    """The chain hash of an entry: sha256 of the previous hash and the entry's canonical JSON."""
    canonical = json.dumps(
        to_json({k: v for k, v in entry.items() if k != "hash"}), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256((previous + canonical).encode()).hexdigest()


def entries_ref(org_id: str) -> Any:
    """The collection of an organization's audit entries."""
    return clients.db().collection("orgs").document(org_id).collection(ENTRIES)


def head_ref(org_id: str) -> Any:
    """The chain head document of an organization."""
    return clients.db().collection("orgs").document(org_id).collection(HEAD[0]).document(HEAD[1])


def read_head(transaction: Any, org_id: str) -> dict[str, Any]:
    """The chain head, read inside a transaction's read phase (before any of its writes)."""
    snapshot = head_ref(org_id).get(transaction=transaction)
    return (snapshot.to_dict() or {}) if snapshot.exists else {"seq": 0, "hash": GENESIS}


def append_in(
    transaction: Any,
    org_id: str,
    head: dict[str, Any],
    action: str,
    *,
    actor: str | None,
    target: str | None = None,
    **details: Any,
) -> str:
    """Append one entry in the caller's transaction (head from read_head): the change and its audit entry
    are stored together or not at all. `head` moves on to the new entry, so a second append chains to it."""
    seq = int(head["seq"]) + 1
    entry = {
        "seq": seq,
        "action": action,
        "actorId": actor,
        "targetId": target,
        "details": details,
        "createdAt": clock.now(),
        "prevHash": head["hash"],
    }
    entry["hash"] = entry_hash(head["hash"], entry)
    transaction.create(entries_ref(org_id).document(entry_id(seq)), entry)
    # merge: the retention anchor on the head stays
    transaction.set(head_ref(org_id), {"seq": seq, "hash": entry["hash"], "updatedAt": entry["createdAt"]}, merge=True)
    head.update(seq=seq, hash=entry["hash"])
    return entry_id(seq)


def record(org_id: str, action: str, *, actor: str | None, target: str | None = None, **details: Any) -> str:
    """Append one entry to org_id's chain in a transaction of its own with the chain head; returns its id."""
    from google.cloud import firestore

    @firestore.transactional
    def append(transaction: Any) -> str:
        head = read_head(transaction, org_id)
        return append_in(transaction, org_id, head, action, actor=actor, target=target, **details)

    return str(transactions.run(append))


@dataclass(frozen=True)
class Verdict:
    """The outcome of a chain check: ok, or the first entry that is altered or missing."""

    ok: bool
    checked: int
    problem: str = ""  # altered, missing, out-of-place
    entry_id: str = ""
    message: str = ""


def verify_entries(
    entries: Iterable[tuple[str, dict[str, Any]]],
    *,
    anchor_seq: int = 0,
    anchor_hash: str = GENESIS,
    head_seq: int | None = None,
    head_hash: str | None = None,
) -> Verdict:
    """Check (document id, entry) pairs in ascending order against the anchor and the head (pure).

    The first entry whose content no longer matches its hash is named as altered; a gap in the
    sequence (or entries missing at the end, measured against the head) names the missing entry.
    """
    expected_seq, previous = anchor_seq + 1, anchor_hash
    checked = 0
    for doc_id, entry in entries:
        if doc_id <= entry_id(anchor_seq):
            continue  # older than the anchor: retention removes these
        if doc_id != entry_id(expected_seq):
            if doc_id > entry_id(expected_seq):
                missing = entry_id(expected_seq)
                return Verdict(False, checked, "missing", missing, f"audit entry {missing} is missing")
            return Verdict(False, checked, "out-of-place", doc_id, f"audit entry {doc_id} is not where it belongs")
        if entry.get("prevHash") != previous and expected_seq > anchor_seq + 1:
            # the entry before was rewritten with a fresh hash: this one still names the original
            before = entry_id(expected_seq - 1)
            return Verdict(False, checked - 1, "altered", before, f"audit entry {before} was altered")
        if entry.get("seq") != expected_seq or entry_hash(previous, entry) != entry.get("hash"):
            return Verdict(False, checked, "altered", doc_id, f"audit entry {doc_id} was altered")
        previous = str(entry["hash"])
        expected_seq += 1
        checked += 1
    last_seq = expected_seq - 1
    if head_seq is not None and head_seq > last_seq:
        missing = entry_id(last_seq + 1)
        return Verdict(False, checked, "missing", missing, f"audit entry {missing} is missing")
    if head_hash is not None and head_seq == last_seq and head_hash != previous:
        last = entry_id(last_seq)
        return Verdict(False, checked, "altered", last, f"audit entry {last} does not match the chain head")
    return Verdict(True, checked, message=f"{checked} entries verified")


def verify(org_id: str) -> Verdict:
    """Verify an organization's stored chain from its anchor to its head."""
    from google.cloud.firestore_v1.field_path import FieldPath

    head = head_ref(org_id).get()
    state = (head.to_dict() or {}) if head.exists else {}
    anchor_seq = int(state.get("anchorSeq", 0))
    query = entries_ref(org_id).order_by(FieldPath.document_id())
    if anchor_seq:
        query = query.start_after({FieldPath.document_id(): entries_ref(org_id).document(entry_id(anchor_seq))})
    stream = ((snapshot.id, snapshot.to_dict() or {}) for snapshot in query.stream())
    return verify_entries(
        stream,
        anchor_seq=anchor_seq,
        anchor_hash=str(state.get("anchorHash", GENESIS)),
        head_seq=int(state["seq"]) if "seq" in state else None,
        head_hash=state.get("hash"),
    )
