"""The routing engine: who gets a lead, written with the lead in one transaction.

`plan` (outside any transaction) finds the scope (the first matching rule, else the team's or the
organization's rotation), lists its members and reads their counters; `Plan.pick` chooses the member at
the minimum (random among ties, so concurrent creates rarely choose the same one); `claim` (inside the
lead's transaction) reads only that member, its rotation counter and its open-lead counter, and raises
`Stale` when the counter moved since the pick or the member stopped being eligible: `routed` then picks
again from fresh counts. Counts only grow, so a member at the minimum when picked and unchanged at commit
is at the minimum at commit: the spread stays within one lead per member (weighted: within one lead of its
share). Nobody eligible: the lead is queued for its team (`queue` "team") and assigned by `drain`.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from core import clients, clock, tenancy, transactions
from core.caller import SYSTEM, epoch_ms
from core.errors import ApiError
from core.ids import sha256_hex
from core.org_settings import OrgSettings
from routing import config, counters, eligibility, hours
from routing.config import RoutingSettings, Rule

log = logging.getLogger("justo")
T = TypeVar("T")
PICK_BUDGET_SEC = 20.0  # how long a create keeps re-picking under contention before telling the caller to retry
PICK_PAUSE_SEC = 0.02  # after a lost race: racers spread out instead of colliding again at once
PICK_PAUSE_GROWTH = 32  # the pause grows to at most 32 x PICK_PAUSE_SEC (0.64 s)
HISTORY_KEPT = 50  # entries of assignmentHistory kept on the lead (oldest dropped): the document stays small


class Stale(Exception):
    """The picked member's counter moved, or the member stopped being eligible, since the pick."""


def _stale_errors() -> tuple[type[Exception], ...]:
    """What a commit raises when a counter moved since the pick: its update-time precondition failed."""
    from google.api_core.exceptions import FailedPrecondition

    return (Stale, FailedPrecondition)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A member chosen outside the transaction, with the counters its choice was based on and their update
    times (the commit's preconditions)."""

    member: Mapping[str, Any]
    count: int  # its rotation count at the pick
    count_time: Any
    open_leads: int
    open_time: Any

    @property
    def uid(self) -> str:
        """The member's uid."""
        return str(self.member["uid"])


@dataclass
class Plan:
    """Where a lead routes: its scope, members and method; `pick` chooses from fresh counts."""

    org_id: str
    scope: str
    queue_team: str | None
    rule: Rule | None
    method: str
    weights: Mapping[str, int]
    settings: RoutingSettings
    zone: ZoneInfo
    members: list[dict[str, Any]] = field(default_factory=list)
    exclude: frozenset[str] = frozenset()

    @property
    def reason(self) -> str:
        """The assignmentHistory reason of a lead this plan assigns."""
        return "rule" if self.rule is not None else "round-robin"

    def pick(self, now: datetime) -> Candidate | None:
        """The member to try (fresh counts; random among ties), None when nobody is eligible."""
        members = [m for m in self.members if m.get("uid") not in self.exclude and eligibility.on_duty(m, now)]
        if not members:
            return None
        rotation = counters.stamped(counters.rotation_ref(self.org_id, self.scope, m["uid"]) for m in members)
        # Open counts matter only to a cap or to least-open: otherwise they are not read at all.
        counted = [m for m in members if self.method == "least-open" or eligibility.cap(m) is not None]
        opens = counters.stamped(counters.open_ref(self.org_id, m["uid"]) for m in counted)
        candidates = []
        for member in members:
            stored = rotation[counters.rotation_ref(self.org_id, self.scope, member["uid"]).path]
            held = opens.get(counters.open_ref(self.org_id, member["uid"]).path, (0, None))
            if eligibility.eligible(member, now, held[0] or 0):
                candidates.append((member, stored, held))
        if not candidates:
            return None
        # A member without a counter (new to the scope, or never picked) stands one below the lowest stored
        # count: picked next, it joins the others at the minimum and the spread stays within one.
        start = self._starts(candidates)
        scored = [
            (self._key(member, start(member) if stored[0] is None else stored[0], held[0] or 0), member, stored, held)
            for member, stored, held in candidates
        ]
        best = min(score for score, *_ in scored)
        _, member, (count, count_time), (open_leads, open_time) = random.choice([i for i in scored if i[0] == best])
        uid = str(member["uid"])
        if count is None:
            count, count_time = counters.start(counters.rotation_ref(self.org_id, self.scope, uid), start(member), uid)
        if open_leads is None:  # counted, and no document yet
            open_leads, open_time = counters.start(counters.open_ref(self.org_id, uid), 0, uid)
        return Candidate(member, count, count_time, open_leads, open_time)

    def _starts(self, candidates: list[Any]) -> Callable[[Mapping[str, Any]], int]:
        """Where a member without a counter (new to the scope, or never picked) starts: just at or below the
        others, so it is picked next and then keeps pace. Round-robin: one below the lowest count. Weighted: the
        count whose share, (count + 1) / weight, is at most the lowest share stored; one floor for every weight
        would starve a light member that joins after the heavy ones have counts."""
        present = [(member, stored[0]) for member, stored, _ in candidates if stored[0] is not None]
        if self.method != "weighted":
            floor = max(min((count for _, count in present), default=0) - 1, 0)
            return lambda member: floor
        lowest = min((self._key(member, count, 0) for member, count in present), default=None)

        def start(member: Mapping[str, Any]) -> int:
            if lowest is None:
                return 0
            return max(math.floor(lowest * self.weights.get(str(member["uid"]), 1)) - 1, 0)

        return start

    def _key(self, member: Mapping[str, Any], count: int, open_leads: int) -> float:
        if self.method == "least-open":
            return float(open_leads)
        if self.method == "weighted":
            return (count + 1) / self.weights.get(str(member["uid"]), 1)
        return float(count)

    def due(self, start: datetime) -> datetime | None:
        """The first-contact deadline of an assignment made at start (None: the SLA is off)."""
        return deadline(self.settings, self.zone, start)


def deadline(settings: RoutingSettings, zone: ZoneInfo, start: datetime) -> datetime | None:
    """The first-contact deadline of an assignment made at start: firstContactMinutes of working time later
    (None: the SLA is off)."""
    minutes = settings.first_contact_minutes
    if minutes <= 0:
        return None
    due = hours.due_at(start, minutes, settings.window, zone)
    # Whole milliseconds: the deadline survives a round trip through RFC 3339 (a task payload) unchanged, so
    # `reassign` can recognize it exactly.
    return due.replace(microsecond=due.microsecond // 1000 * 1000)


def _millis(moment: Any) -> int | None:
    return epoch_ms(moment) if isinstance(moment, datetime) else None


def zone_of(org_id: str) -> ZoneInfo:
    """The organization's time zone (cached organization read)."""
    return OrgSettings.of(tenancy.load_org(org_id)).zone


def _scope_members(org_id: str, team_id: str | None, member_ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """The routable members of a scope: named members, a team's agents, or the organization's agents."""
    if member_ids:
        snapshots = clients.db().get_all([tenancy.member_ref(org_id, uid) for uid in member_ids])
        members = [(s.to_dict() or {}) | {"uid": s.id} for s in snapshots if s.exists]
    else:
        query: Any = tenancy.org_ref(org_id).collection("members")
        query = query.where(filter=clients.where("role", "==", "agent"))
        query = query.where(filter=clients.where("active", "==", True))
        if team_id:
            query = query.where(filter=clients.where("teamId", "==", team_id))
        members = [(s.to_dict() or {}) | {"uid": s.id} for s in query.stream()]
    return sorted(members, key=lambda member: str(member["uid"]))


def plan(
    org_id: str,
    lead: Mapping[str, Any],
    *,
    default_team: str | None,
    settings: RoutingSettings | None = None,
    zone: ZoneInfo | None = None,
    exclude: frozenset[str] = frozenset(),
) -> Plan:
    """How a lead (its document fields) routes: the first matching rule, else the default rotation of
    `default_team` (the organization's when None)."""
    settings = settings if settings is not None else config.load(org_id)
    rule = settings.rule_for(lead)
    weights: Mapping[str, int] = {}
    member_ids: tuple[str, ...] = ()
    if rule is None:
        scope, team, method = f"team-{default_team}" if default_team else "org", default_team, "round-robin"
    else:
        scope = "rule-" + sha256_hex(rule.name)[:24]
        team, method, weights, member_ids = rule.team_id, rule.method, rule.weights, rule.member_ids
    return Plan(
        org_id=org_id,
        scope=scope,
        queue_team=team,
        rule=rule,
        method=method,
        weights=weights,
        settings=settings,
        zone=zone or zone_of(org_id),
        members=_scope_members(org_id, team, member_ids),
        exclude=exclude,
    )


@dataclass
class Claim:
    """An assignment (or a queueing) decided inside a transaction: the lead fields and the counter writes."""

    org_id: str
    member: Mapping[str, Any] | None
    fields: dict[str, Any]
    writes: list[Callable[[Any], None]] = field(default_factory=list)

    @property
    def queued(self) -> bool:
        """Whether the lead went to a queue."""
        return self.member is None

    def write(self, transaction: Any) -> None:
        """Write the counters (after every read of the transaction)."""
        for write in self.writes:
            write(transaction)


def history(previous: Any, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """assignmentHistory with one more entry, oldest first, the last HISTORY_KEPT kept."""
    kept = [dict(item) for item in previous or () if isinstance(item, Mapping)]
    return [*kept, {k: v for k, v in entry.items() if v is not None or k == "assigneeId"}][-HISTORY_KEPT:]


def assigned_fields(
    member: Mapping[str, Any],
    *,
    now: datetime,
    reason: str,
    due: datetime | None,
    previous_history: Any = (),
    rule: str | None = None,
    by: str | None = None,
) -> dict[str, Any]:
    """The lead fields of an assignment to member."""
    entry = {"assigneeId": member["uid"], "at": now, "reason": reason, "rule": rule, "by": by}
    return {
        "assigneeId": member["uid"],
        "teamId": member.get("teamId"),
        "assignedAt": now,
        "assignmentHistory": history(previous_history, entry),
        "queue": None,
        "queuedAt": None,
        "slaDueAt": due,
    }


def queued_fields(
    *, queue: str, team_id: str | None, now: datetime, previous_history: Any = (), reason: str = "queue"
) -> dict[str, Any]:
    """The lead fields of a lead put in a queue (unassigned, no deadline)."""
    entry = {"assigneeId": None, "at": now, "reason": reason}
    return {
        "assigneeId": None,
        "teamId": team_id,
        "assignedAt": None,
        "assignmentHistory": history(previous_history, entry),
        "queue": queue,
        "queuedAt": now,
        "slaDueAt": None,
    }


def claim(
    transaction: Any,
    routing: Plan,
    candidate: Candidate | None,
    *,
    now: datetime,
    previous_history: Any = (),
    reason: str | None = None,
    contacted: bool = False,
    open_lead: bool = True,
) -> Claim:
    """Inside the lead's transaction: re-check the picked member and its counters (Stale when either moved)
    and return the assignment, or the team queueing when there is no candidate. Reads only; `Claim.write`
    writes."""
    if candidate is None:
        fields = queued_fields(queue="team", team_id=routing.queue_team, now=now, previous_history=previous_history)
        return Claim(routing.org_id, None, fields)
    uid = candidate.uid
    rotation_ref = counters.rotation_ref(routing.org_id, routing.scope, uid)
    open_ref = counters.open_ref(routing.org_id, uid)
    # The member is read (it is never written by a create, so no lock is contended); the counters are not:
    # their writes carry the update times seen at the pick, and a commit after anyone moved them fails.
    member_snapshot = tenancy.member_ref(routing.org_id, uid).get(transaction=transaction)
    member = (member_snapshot.to_dict() or {}) | {"uid": uid} if member_snapshot.exists else None
    if member is None or not eligibility.eligible(member, now, candidate.open_leads):
        raise Stale(uid)
    due = None if contacted else routing.due(now)
    fields = assigned_fields(
        member,
        now=now,
        reason=reason or routing.reason,
        due=due,
        previous_history=previous_history,
        rule=routing.rule.name if routing.rule is not None else None,
    )
    db = clients.db()
    # The open count decides only where there is a cap or the method is least-open; elsewhere a blind
    # increment keeps closes and manual moves from failing this commit.
    guard_open = eligibility.cap(member) is not None or routing.method == "least-open"
    if guard_open and candidate.open_time is None:
        raise Stale(uid)  # a cap set since the pick: pick again, counting the open leads this time

    def write_rotation(tx: Any) -> None:
        changes = {"n": candidate.count + 1, "updatedAt": now}
        tx.update(rotation_ref, changes, option=db.write_option(last_update_time=candidate.count_time))

    def write_open(tx: Any) -> None:
        if guard_open:
            changes = {"n": candidate.open_leads + 1, "updatedAt": now}
            tx.update(open_ref, changes, option=db.write_option(last_update_time=candidate.open_time))
        else:
            counters.shift_open(tx, routing.org_id, uid, 1)

    return Claim(routing.org_id, member, fields, [write_rotation, write_open] if open_lead else [write_rotation])


def manual_claim(
    org_id: str,
    member: Mapping[str, Any],
    *,
    now: datetime,
    due: datetime | None,
    by: str | None,
    previous_history: Any = (),
    open_lead: bool = True,
) -> Claim:
    """An assignment chosen by a person (an explicit assignee, assign, bulk-assign): no rotation counter, the
    open-lead count +1 as a blind increment (nothing to contend on)."""
    fields = assigned_fields(member, now=now, reason="manual", due=due, previous_history=previous_history, by=by)
    uid = str(member["uid"])
    return Claim(org_id, member, fields, [lambda tx: counters.shift_open(tx, org_id, uid, 1 if open_lead else 0)])


def routed(routing: Plan, attempt: Callable[[Candidate | None], T], *, now: datetime | None = None) -> T:
    """Run attempt(candidate) (which runs the lead's transaction with `claim`), picking again from fresh counts
    whenever the claim was stale, for up to PICK_BUDGET_SEC (a slow machine or a burst on one rule means more
    rounds, not a refusal); 503 when every pick in that time met a concurrent change."""
    moment = now or clock.now()
    stale = _stale_errors()
    deadline = time.monotonic() + PICK_BUDGET_SEC
    round_ = 0
    while True:
        try:
            return attempt(routing.pick(moment))
        except stale:
            if time.monotonic() >= deadline:
                break
            time.sleep(random.uniform(0, PICK_PAUSE_SEC * min(2**round_, PICK_PAUSE_GROWTH)))
            round_ += 1
    raise ApiError("UNAVAILABLE", "Too many concurrent assignments; retry", headers={"Retry-After": "1"})


# ---- moving leads already stored -----------------------------------------------------------------------------


def _lead_ref(org_id: str, lead_id: str) -> Any:
    # The leads package routes every create through this one, so routing cannot import leads.store (an import
    # circle): this is the one place outside it that names a lead document, and it only reads routing fields.
    return tenancy.org_ref(org_id).collection("leads").document(lead_id)


def sla_due(lead: Mapping[str, Any], due_at: datetime) -> bool:
    """Whether a lead document is still waiting on exactly this deadline: unarchived, assigned, uncontacted."""
    return (
        not lead.get("archived")
        and lead.get("assigneeId") is not None
        and lead.get("firstContactAt") is None
        and lead.get("slaDueAt") is not None
        and _millis(lead.get("slaDueAt")) == _millis(due_at)
    )


def reassign(org_id: str, lead_id: str, *, due_at: datetime) -> str | None:
    """The SLA deadline `due_at` passed: in one transaction, if the lead is unarchived, uncontacted and still due
    then, move it to the next eligible member other than the current one (reason sla, `slaReassignments` + 1, a
    new `slaDueAt`), or after `maxReassignments` (or with nobody else eligible) to the managers' queue. The new
    assignee's uid; None when queued or when nothing was due (a redelivered task). Neither pushes nor writes
    activity: the caller does, with what this returns."""
    from google.cloud import firestore

    ref = _lead_ref(org_id, lead_id)
    snapshot = ref.get()
    lead = snapshot.to_dict() if snapshot.exists else None
    if lead is None or not sla_due(lead, due_at):
        return None
    settings = config.load(org_id)
    current = str(lead["assigneeId"])
    exhausted = int(lead.get("slaReassignments") or 0) >= settings.max_reassignments
    routing = plan(org_id, lead, default_team=lead.get("teamId"), settings=settings, exclude=frozenset({current}))
    now = clock.now()
    db = clients.db()

    def attempt(candidate: Candidate | None) -> str | None:
        @firestore.transactional
        def apply(transaction: Any) -> str | None:
            fresh = ref.get(transaction=transaction)
            stored = fresh.to_dict() if fresh.exists else None
            if stored is None or not sla_due(stored, due_at) or stored.get("assigneeId") != current:
                return None
            previous = stored.get("assignmentHistory") or ()
            base = {"version": int(stored.get("version") or 1) + 1, "updatedAt": now, "updatedBy": SYSTEM.uid}
            if exhausted or candidate is None:
                fields = queued_fields(
                    queue="managers", team_id=stored.get("teamId"), now=now, previous_history=previous, reason="sla"
                )
                counters.shift_open(transaction, org_id, current, -1 if _open(stored) else 0)
                transaction.update(ref, {**fields, **base})
                return None
            taken = claim(transaction, routing, candidate, now=now, previous_history=previous, reason="sla")
            taken.fields["slaReassignments"] = int(stored.get("slaReassignments") or 0) + 1
            counters.shift_open(transaction, org_id, current, -1 if _open(stored) else 0)
            taken.write(transaction)
            transaction.update(ref, {**taken.fields, **base})
            return str(taken.fields["assigneeId"])

        result: str | None = transactions.run(apply, db)
        return result

    if exhausted:
        return attempt(None)
    return routed(routing, attempt, now=now)


def _open(lead: Mapping[str, Any]) -> bool:
    return eligibility.is_open(lead.get("stage"), archived=bool(lead.get("archived")))


# ---- many leads at once (imports) ----------------------------------------------------------------------------


@dataclass
class Allocation:
    """One lead of a batch: its routing fields and the counter increments to write with it."""

    fields: dict[str, Any]
    counts: list[tuple[Any, int]]

    @property
    def queued(self) -> bool:
        """Whether the lead goes to a queue."""
        return self.fields.get("assigneeId") is None


def allocate(
    org_id: str, leads: list[Mapping[str, Any]], *, default_team: str | None, now: datetime | None = None
) -> list[Allocation]:
    """Route many leads at once (a file import): the same rules, eligibility and methods as `route`, decided from
    one read of each scope's counters, applied greedily lead by lead (so the file spreads exactly as one-by-one
    creates would). The counter increments are blind (`counts`), written with each lead's batch: a concurrent
    create that picked the same member sees its counter moved and picks again."""
    moment = now or clock.now()
    settings, zone = config.load(org_id), zone_of(org_id)
    plans: dict[str, Plan] = {}
    state: dict[str, tuple[list[list[Any]], int]] = {}  # scope -> ([member, count, open], floor)
    out: list[Allocation] = []
    for lead in leads:
        rule = settings.rule_for(lead)
        key = rule.name if rule is not None else ""
        if key not in plans:
            plans[key] = plan(org_id, lead, default_team=default_team, settings=settings, zone=zone)
            state[key] = _scope_state(plans[key], moment)
        routing, (rows, _) = plans[key], state[key]
        open_lead = eligibility.is_open(lead.get("stage"), archived=False)
        ready = [row for row in rows if eligibility.eligible(row[0], moment, row[2])]
        if not ready:
            fields = queued_fields(queue="team", team_id=routing.queue_team, now=moment)
            out.append(Allocation(fields, []))
            continue
        best = min(routing._key(row[0], row[1], row[2]) for row in ready)
        row = random.choice([row for row in ready if routing._key(row[0], row[1], row[2]) == best])
        row[1] += 1
        row[2] += 1 if open_lead else 0
        member = row[0]
        fields = assigned_fields(
            member,
            now=moment,
            reason=routing.reason,
            due=routing.due(moment),
            rule=routing.rule.name if routing.rule is not None else None,
        )
        counts = [(counters.rotation_ref(org_id, routing.scope, member["uid"]), 1)]
        if open_lead:
            counts.append((counters.open_ref(org_id, member["uid"]), 1))
        out.append(Allocation(fields, counts))
    return out


def _scope_state(routing: Plan, now: datetime) -> tuple[list[list[Any]], int]:
    """[member, count, open leads] of each on-duty member of a scope, and the floor a member without a counter
    stands at; a member without a counter document gets one at the floor (the increment alone would start it
    at zero)."""
    members = [m for m in routing.members if eligibility.on_duty(m, now)]
    rotation = counters.read(counters.rotation_ref(routing.org_id, routing.scope, m["uid"]) for m in members)
    opens = counters.read(counters.open_ref(routing.org_id, m["uid"]) for m in members)
    present = [value for value in rotation.values() if value is not None]
    floor = max(min(present, default=0) - 1, 0)
    rows: list[list[Any]] = []
    for member in members:
        ref = counters.rotation_ref(routing.org_id, routing.scope, member["uid"])
        stored = rotation.get(ref.path)
        if stored is None and floor:
            ref.set({"n": floor, "uid": member["uid"]}, merge=True)
        rows.append(
            [
                member,
                floor if stored is None else stored,
                opens.get(counters.open_ref(routing.org_id, member["uid"]).path) or 0,
            ]
        )
    return rows, floor
