"""The team queue: leads nobody could take wait here (`queue` "team") and go out oldest first as soon as someone
is eligible; the managers are told when a lead joins it. Each queued lead moves in its own transaction that
re-reads it, so two drains at once never assign one lead twice (docs/routing.md)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from core import clients, clock, tenancy, transactions
from core.caller import SYSTEM
from routing import config, eligibility
from routing.engine import Candidate, Plan, claim, plan, routed, zone_of

log = logging.getLogger("justo")


def announce_queued(org_id: str, lead_id: str, *, team_id: str | None, queue: str, at: datetime) -> int:
    """Push the team's managers (the admins for a lead without a team) that a lead waits in a queue; how many."""
    from core import notify

    members: Any = tenancy.org_ref(org_id).collection("members")
    if team_id:
        query = members.where(filter=clients.where("teamId", "==", team_id))
        query = query.where(filter=clients.where("role", "==", "manager"))
        uids = {s.id for s in query.stream() if (s.to_dict() or {}).get("active")}
        team = tenancy.org_ref(org_id).collection("teams").document(team_id).get()
        uids |= {str(uid) for uid in ((team.to_dict() or {}).get("managerIds") or ()) if team.exists}
    else:
        query = members.where(filter=clients.where("role", "==", "admin"))
        uids = {s.id for s in query.stream() if (s.to_dict() or {}).get("active")}
    text = "Nobody in the team can take it now" if queue == "team" else "Its first-contact deadline passed again"
    for uid in sorted(uids):
        push = notify.Push(
            uid=uid,
            kind="lead-queued",
            title="A lead is waiting for an assignee",
            body=text,
            data={"leadId": lead_id, "queue": queue},
            refs=(lead_id,),
        )
        notify.send(push, dedupe_key=f"queued:{org_id}:{lead_id}:{at.isoformat()}")
    return len(uids)


DRAIN_PAGE = 100


def drain(org_id: str, team_id: str | None, *, limit: int = DRAIN_PAGE) -> list[str]:
    """Assign the team's queued leads (`queue` "team"; team None: the organization's) in arrival order while
    someone is eligible; the ids assigned. Each lead moves in its own transaction that re-reads it, so two
    drains running at once never assign one lead twice."""
    query: Any = tenancy.org_ref(org_id).collection("leads")
    query = query.where(filter=clients.where("queue", "==", "team"))
    query = query.where(filter=clients.where("teamId", "==", team_id))
    query = query.order_by("queuedAt").limit(limit)
    queued = [(s.reference, s.to_dict() or {}) for s in query.stream()]
    if not queued:
        return []
    settings, zone = config.load(org_id), zone_of(org_id)
    plans: dict[str, Plan] = {}
    full: set[str] = set()  # scopes where nobody was eligible: later leads of the scope wait too (arrival order)
    assigned: list[str] = []
    for ref, lead in queued:
        rule = settings.rule_for(lead)
        key = rule.name if rule is not None else ""
        if key in full:
            continue
        if key not in plans:
            plans[key] = plan(org_id, lead, default_team=team_id, settings=settings, zone=zone)
        routing = plans[key]
        now = clock.now()

        def attempt(candidate: Candidate | None, ref: Any = ref, routing: Plan = routing, now: datetime = now) -> bool:
            if candidate is None:
                return False
            if _take_from_queue(ref, routing, candidate, now):
                assigned.append(ref.id)
            return True

        if not routed(routing, attempt, now=now):
            full.add(key)
    return assigned


def _take_from_queue(ref: Any, routing: Plan, candidate: Candidate, now: datetime) -> bool:
    """One queued lead to the candidate, in a transaction that re-reads it; False when it was no longer queued."""
    from google.cloud import firestore

    @firestore.transactional
    def apply(transaction: Any) -> bool:
        fresh = ref.get(transaction=transaction)
        stored = fresh.to_dict() if fresh.exists else None
        if stored is None or stored.get("queue") != "team" or stored.get("assigneeId") is not None:
            return False  # another drain took it
        if stored.get("archived"):
            transaction.update(ref, {"queue": None})
            return False
        taken = claim(
            transaction,
            routing,
            candidate,
            now=now,
            previous_history=stored.get("assignmentHistory") or (),
            reason="queue",
            contacted=stored.get("firstContactAt") is not None,
        )
        taken.write(transaction)
        version = int(stored.get("version") or 1) + 1
        transaction.update(ref, {**taken.fields, "version": version, "updatedAt": now, "updatedBy": SYSTEM.uid})
        return True

    result: bool = transactions.run(apply)
    return result


def drain_for(org_id: str, uid: str) -> list[str]:
    """A member may have become eligible (back available, leave over, below its cap, reactivated): drain the
    queues it can take from, its team's and the organization's. Never fails the caller's request: what a failed
    drain leaves is taken by the next one or the sweep."""
    try:
        snapshot = tenancy.member_ref(org_id, uid).get()
        member = (snapshot.to_dict() or {}) | {"uid": uid} if snapshot.exists else None
        if member is None or not eligibility.on_duty(member, clock.now()):
            return []
        team = member.get("teamId")
        return [*(drain(org_id, team) if team else []), *drain(org_id, None)]
    except Exception as error:  # noqa: BLE001 - the write that called this has committed; the sweep retries
        log.warning("routing drain failed org=%s: %s", org_id, type(error).__name__)
        return []


SWEEP_LEADS = 500


def sweep(*, limit: int = SWEEP_LEADS) -> int:
    """The periodic catch-up: drain every team queue that holds a lead (an `until` or a leave that ended by
    itself, a drain that failed after its write); how many leads it assigned. Reads only the queued leads."""
    query: Any = clients.db().collection_group("leads").where(filter=clients.where("queue", "==", "team"))
    scopes: dict[tuple[str, str | None], None] = {}
    for snapshot in query.order_by("queuedAt").limit(limit).select(["teamId"]).stream():
        org_id = snapshot.reference.parent.parent.id
        scopes.setdefault((org_id, (snapshot.to_dict() or {}).get("teamId")), None)
    assigned = 0
    for org_id, team_id in scopes:
        try:
            assigned += len(drain(org_id, team_id))
        except Exception as error:  # noqa: BLE001 - one organization's failure must not stop the others
            log.warning("routing sweep failed org=%s: %s", org_id, type(error).__name__)
    return assigned
