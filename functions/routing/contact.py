"""First contact: the assignee's first call logged, message sent or stage moved past the first stage stamps the
lead with `firstContactAt` and `firstContactSeconds` and stops its first-response SLA (`slaDueAt` cleared).

The one home of that rule. Paths that write with a transaction of their own (a call log, a stage move) add
`changes(...)` to it; paths that have none (a message that went out) call `stamp`, a transaction that sets the
fields only while they are absent. Someone else's action (a manager calling the agent's lead) does not count,
and nothing counts twice: once `firstContactAt` is set the lead is never stamped again.

The lead is passed in as its stored document (camelCase) and its reference, built by `leads.store`: this
package sits below `leads`, which calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

FIELDS = ("firstContactAt", "firstContactSeconds", "slaDueAt")


def changes(lead: Mapping[str, Any], actor_uid: str | None, at: datetime) -> dict[str, Any]:
    """The fields to write when `actor_uid` contacts the lead at `at`; {} unless it is the assignee's first."""
    assignee = lead.get("assigneeId")
    if not assignee or actor_uid != assignee or lead.get("firstContactAt") is not None or lead.get("archived"):
        return {}
    since = lead.get("assignedAt") or lead.get("createdAt")
    seconds = max(0, int((at - since).total_seconds())) if isinstance(since, datetime) else 0
    return {"firstContactAt": at, "firstContactSeconds": seconds, "slaDueAt": None}


def is_stage_contact(before_stage: str | None, after_stage: str | None, stages: tuple[str, ...]) -> bool:
    """True for a stage move that counts as contact: to any stage other than the one new leads start in."""
    return after_stage is not None and after_stage != before_stage and bool(stages) and after_stage != stages[0]


def stamp(lead_ref: Any, actor_uid: str | None, at: datetime) -> bool:
    """Set first contact in a transaction of its own, only while absent; True when this call set it."""
    from google.cloud import firestore

    from core import transactions

    if not actor_uid:
        return False

    @firestore.transactional
    def apply(transaction: Any) -> bool:
        snapshot = lead_ref.get(transaction=transaction)
        wanted = changes(snapshot.to_dict() or {}, actor_uid, at) if snapshot.exists else {}
        if wanted:
            transaction.update(lead_ref, wanted)
        return bool(wanted)

    result: bool = transactions.run(apply)
    return result
