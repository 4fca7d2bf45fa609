"""Round-robin assignment to active agents, consistent under concurrency.

The rotation's state is one document per scope (`orgs/{orgId}/rotation/{org | team-<id>}`) read and
written in the caller's transaction, so two concurrent creates cannot pick the same "next" agent: the
second one's transaction retries and sees the first one's choice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core import clients, clock, tenancy


def _scope(team_id: str | None) -> str:
    return f"team-{team_id}" if team_id else "org"


def active_agents(org_id: str, team_id: str | None, *, transaction: Any = None) -> list[dict[str, Any]]:
    """The active agents of the organization (or of one team), by uid."""
    query: Any = tenancy.org_ref(org_id).collection("members")
    query = query.where(filter=clients.where("role", "==", "agent")).where(filter=clients.where("active", "==", True))
    if team_id:
        query = query.where(filter=clients.where("teamId", "==", team_id))
    members = [s.to_dict() or {} for s in query.stream(transaction=transaction)]
    return sorted(members, key=lambda member: str(member.get("uid")))


def pick(
    transaction: Any, org_id: str, team_id: str | None, count: int
) -> tuple[list[dict[str, Any]], Callable[[], None]]:
    """The next `count` agents in rotation (reads only) and a writer that moves the rotation once (call it
    after every other read of the transaction). No agents: an empty list and a writer that does nothing."""
    ref = tenancy.org_ref(org_id).collection("rotation").document(_scope(team_id))
    state = ref.get(transaction=transaction)
    last = str((state.to_dict() or {}).get("lastUid", "")) if state.exists else ""
    agents = active_agents(org_id, team_id, transaction=transaction)
    if not agents or count <= 0:
        return [], lambda: None
    uids = [str(agent["uid"]) for agent in agents]
    start = next((index for index, uid in enumerate(uids) if uid > last), 0)
    chosen = [agents[(start + offset) % len(agents)] for offset in range(count)]

    def write() -> None:
        transaction.set(ref, {"lastUid": chosen[-1]["uid"], "updatedAt": clock.now()})

    return chosen, write
