"""The organization's append-only, hash-chained security audit trail (ids only, no personal data)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from core import clients, clock
from core.jsonutil import to_json

GENESIS = "0" * 64


def entry_hash(previous: str, entry: dict[str, Any]) -> str:
    """The chain hash of an entry: sha256 of the previous hash and the entry's canonical JSON."""
    canonical = json.dumps(
        to_json({k: v for k, v in entry.items() if k != "hash"}), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256((previous + canonical).encode()).hexdigest()


def record(org_id: str, action: str, *, actor: str | None, target: str | None = None, **details: Any) -> str:
    """Append one entry to org_id's chain in a transaction with the chain head; returns its id."""
    from google.cloud import firestore

    db = clients.db()
    org = db.collection("orgs").document(org_id)
    head_ref = org.collection("auditHead").document("head")
    entries = org.collection("audit")

    @firestore.transactional
    def append(transaction: Any) -> str:
        head = head_ref.get(transaction=transaction)
        state: dict[str, Any] = (head.to_dict() or {}) if head.exists else {"seq": 0, "hash": GENESIS}
        seq = int(state["seq"]) + 1
        entry = {
            "seq": seq,
            "action": action,
            "actorId": actor,
            "targetId": target,
            "details": details,
            "createdAt": clock.now(),
            "prevHash": state["hash"],
        }
        entry["hash"] = entry_hash(state["hash"], entry)
        entry_id = f"{seq:012d}"
        transaction.create(entries.document(entry_id), entry)
        transaction.set(head_ref, {"seq": seq, "hash": entry["hash"], "updatedAt": entry["createdAt"]})
        return entry_id

    return str(append(db.transaction()))
