"""The first-response SLA at the exact minute: one Cloud Task per deadline, and what happens when it runs.

Scheduling. Whenever a lead's `slaDueAt` changes (the routing engine sets it with every assignment, first
contact clears it), `reschedule` deletes the task of the old deadline and enqueues one for the new, on the
task-queue function `leadsla`. Task names come from the organization, the lead and the deadline, so a
redelivered trigger makes no second task (Cloud Tasks refuses a name it has seen).

Running. `run` re-reads the lead: a contacted, reassigned, archived or otherwise moved lead has another (or
no) `slaDueAt`, and nothing happens. A task that runs early waits for its time: briefly in the same run (Cloud
Tasks may run a task a moment early), or by enqueueing itself again (`hop` + 1) for a deadline further away
than `HOP` (beyond Cloud Tasks' 30-day window, and on the tasks emulator, which runs every task at once: there
each hop waits `HOP` first, so a local deadline fires within a second or so). At the deadline it calls
`routing.engine.reassign`, whose transaction moves the lead only while it is still due then, and then pushes
the previous agent, the new one and the team's managers and writes `sla-missed` and `assigned` to the lead's
history. What it pushes and writes is derived from the lead's `assignmentHistory` (the first entry at or after
the deadline, reason `sla`), with ids and dedupe keys from the deadline: a redelivered task, or a retry after a
crash between the reassignment and its pushes, finishes the same work once and never reassigns twice.

This package sits below `leads` (which calls routing): the lead is read and its history written through the
`LeadAccess` port, given by the trigger module that wires it to `leads.store` and `leads.history`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from core import clients, clock, notify, tenancy
from core.ids import sha256_hex
from core.models import valid_doc_id

log = logging.getLogger("justo")

QUEUE_FUNCTION = "leadsla"  # the task-queue function's name is the queue id: no underscores
HOP = timedelta(seconds=20)  # the longest wait inside one run (the dispatch deadline is 60 s)
# How late after its deadline a run may still finish that deadline's pushes and history from the lead's
# assignmentHistory: beyond every retry of the queue's retry config (about 5 minutes in all).
REPLAY_WINDOW = timedelta(minutes=15)
ORDER_GAP = timedelta(milliseconds=1)  # `assigned` sorts after `sla-missed` even when both carry one time


class TaskQueue(Protocol):
    """The part of the reminders' task-queue port the SLA uses (`reminders.queue.queue("leadsla")`)."""

    horizon: timedelta

    def enqueue(self, task_id: str, payload: dict[str, Any], at: datetime) -> bool:
        """Schedule a named task at `at`; False when the name was used."""
        ...

    def delete(self, task_id: str) -> None:
        """Delete a task that has not run; an unknown one is fine."""
        ...


class LeadAccess(Protocol):
    """Reading a lead and writing its history (leads.store, leads.history)."""

    def read(self, org_id: str, lead_id: str) -> dict[str, Any] | None:
        """The stored lead document, None when it does not exist."""
        ...

    def record(self, org_id: str, lead_id: str, event_id: str, entry: dict[str, Any]) -> bool:
        """Write one history entry (type, actor_id, at, summary, changes, ref) once per event id and type."""
        ...


Reassign = Callable[..., str | None]


# ---- tasks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """One lead's first-response deadline, as a task carries it; `hop` counts re-enqueues of an early task."""

    org_id: str
    lead_id: str
    due_at: datetime
    hop: int = 0

    @property
    def key(self) -> str:
        """The deadline as text: UTC with microseconds, exactly as Firestore keeps it."""
        return self.due_at.astimezone(UTC).isoformat()

    @property
    def name(self) -> str:
        """The Cloud Tasks id: hashed (Cloud Tasks wants evenly spread names) from the lead, deadline and hop."""
        return "s" + sha256_hex(QUEUE_FUNCTION, self.org_id, self.lead_id, self.key, str(self.hop))[:40]

    @property
    def event_id(self) -> str:
        """The id its pushes and history entries derive from: one per deadline, whatever the hop or attempt."""
        return f"{QUEUE_FUNCTION}:{self.org_id}:{self.lead_id}:{self.key}"

    def payload(self) -> dict[str, Any]:
        """What the task carries."""
        return {"orgId": self.org_id, "leadId": self.lead_id, "dueAt": self.key, "hop": self.hop}

    def next_hop(self) -> Deadline:
        """The same deadline, enqueued once more."""
        return Deadline(self.org_id, self.lead_id, self.due_at, self.hop + 1)


def read_task(data: Mapping[str, Any]) -> Deadline | None:
    """The deadline a task payload names; None for a payload no scheduler of ours made."""
    org_id, lead_id, due, hop = data.get("orgId"), data.get("leadId"), data.get("dueAt"), data.get("hop", 0)
    if not (isinstance(org_id, str) and valid_doc_id(org_id) and isinstance(lead_id, str) and valid_doc_id(lead_id)):
        return None
    if not isinstance(due, str) or not isinstance(hop, int) or isinstance(hop, bool) or not 0 <= hop < 10_000:
        return None
    try:
        due_at = datetime.fromisoformat(due)
    except ValueError:
        return None
    if due_at.tzinfo is None:
        return None
    return Deadline(org_id, lead_id, due_at, hop)


def _due(document: Mapping[str, Any] | None) -> datetime | None:
    value = (document or {}).get("slaDueAt")
    return value if isinstance(value, datetime) else None


def same_time(a: datetime | None, b: datetime | None) -> bool:
    """True when two stored instants are one (aware datetimes compare across zones; None only equals None)."""
    return a == b if a is None or b is None else a.astimezone(UTC) == b.astimezone(UTC)


def reschedule(
    queue: TaskQueue, org_id: str, lead_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> str:
    """Keep Cloud Tasks in step with one lead write: the old deadline's task deleted, the new one's enqueued.

    What it did, for the log: unchanged, cancelled, scheduled, rescheduled (a redelivered event: Cloud Tasks
    refuses the names again, nothing doubles)."""
    old, new = _due(before), _due(after)
    if same_time(old, new):
        return "unchanged"
    if old is not None:
        queue.delete(Deadline(org_id, lead_id, old).name)
    if new is None:
        return "cancelled"
    task = Deadline(org_id, lead_id, new)
    queue.enqueue(task.name, task.payload(), min(new, clock.now() + queue.horizon))
    return "scheduled" if old is None else "rescheduled"


# ---- what a deadline did --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the SLA did at one deadline: from whom to whom (None: the managers' queue), and when."""

    previous: str | None
    assignee: str | None
    at: datetime
    team_id: str | None

    @property
    def queued(self) -> bool:
        """True when the lead went to the managers' queue instead of another member."""
        return self.assignee is None


def outcome(lead: Mapping[str, Any], due_at: datetime, *, within: timedelta | None = REPLAY_WINDOW) -> Outcome | None:
    """The SLA move of this deadline as the lead's assignmentHistory records it, or None when there is none.

    The deadline's move is the first assignment at or after it: any assignment before the move would have
    replaced the deadline (and the routing engine then no longer reassigns for it). `within` bounds how long
    after the deadline a move found later (a redelivery) still counts as this deadline's; None right after
    the engine's own call, when the move, however late, is this one."""
    entries = [e for e in lead.get("assignmentHistory") or () if isinstance(e, Mapping)]
    for index, entry in enumerate(entries):
        at = entry.get("at")
        if not isinstance(at, datetime) or at.astimezone(UTC) < due_at.astimezone(UTC):
            continue
        if entry.get("reason") != "sla" or (within is not None and at - due_at > within):
            return None
        previous = entries[index - 1].get("assigneeId") if index else None
        team = lead.get("teamId") if isinstance(lead.get("teamId"), str) else None
        return Outcome(
            str(previous) if previous else None, str(entry["assigneeId"]) if entry.get("assigneeId") else None, at, team
        )
    return None


def sla_move(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
    """True for a lead write that is an SLA reassignment (or the move to the managers' queue): its pushes and
    history entries are the SLA handler's, not the generic assignment ones."""
    if before is None or after is None:
        return False
    old = [e for e in before.get("assignmentHistory") or () if isinstance(e, Mapping)]
    new = [e for e in after.get("assignmentHistory") or () if isinstance(e, Mapping)]
    if not new or (old and old[-1] == new[-1]):
        return False
    return new[-1].get("reason") == "sla" and before.get("assigneeId") != after.get("assigneeId")


def history_entries(found: Outcome, due_at: datetime) -> list[dict[str, Any]]:
    """`sla-missed` then `assigned`, as the lead's history shows them (by the system)."""
    moved = "Moved to the managers' queue" if found.queued else "Reassigned"
    return [
        {
            "type": "sla-missed",
            "actor_id": None,
            "at": due_at,
            "summary": "First response missed: not contacted within the SLA",
            "changes": {},
            "ref": {},
        },
        {
            "type": "assigned",
            "actor_id": None,
            "at": max(found.at, due_at + ORDER_GAP),
            "summary": f"{moved}: first response missed",
            "changes": {
                "assigneeId": {"before": found.previous, "after": found.assignee},
                "queue": {"before": None, "after": "managers" if found.queued else None},
            },
            "ref": {},
        },
    ]


def _member_name(org_id: str, uid: str) -> str:
    member = tenancy.load_member(org_id, uid) or {}
    return str(member.get("name") or "another agent")


def managers_of(org_id: str, team_id: str | None) -> list[str]:
    """The team's managers: those the team names and the active managers of the team."""
    if not team_id:
        return []
    org = tenancy.org_ref(org_id)
    team = org.collection("teams").document(team_id).get()
    named = [str(uid) for uid in ((team.to_dict() or {}).get("managerIds") or []) if uid] if team.exists else []
    members = org.collection("members").where(filter=clients.where("teamId", "==", team_id)).stream()
    found = [s.id for s in members if {"role": "manager", "active": True}.items() <= (s.to_dict() or {}).items()]
    return list(dict.fromkeys([*named, *found]))


def pushes(org_id: str, lead_id: str, lead: Mapping[str, Any], found: Outcome) -> list[notify.Push]:
    """The previous agent, the new one and the team's managers; names only, never a phone number."""
    name = str(lead.get("name") or "A lead")
    data = {"orgId": org_id, "leadId": lead_id}
    refs = (lead_id,)
    where = "the managers' queue" if found.assignee is None else _member_name(org_id, found.assignee)
    out: list[notify.Push] = []
    if found.previous:
        body = f"{name} was not contacted in time and moved to {where}"
        out.append(notify.Push(found.previous, "sla-missed", "First response missed", body, data, refs))
    if found.assignee:
        body = f"{name}: re-routed to you after a missed first response. Contact them now"
        out.append(notify.Push(found.assignee, "lead-assigned", "New lead assigned to you", body, data, refs))
    for manager in managers_of(org_id, found.team_id):
        if manager in (found.previous, found.assignee):
            continue
        body = f"{name} was not contacted in time and moved to {where}"
        out.append(notify.Push(manager, "sla-missed", "First response missed", body, data, refs))
    return out


def finish(leads: LeadAccess, task: Deadline, lead: Mapping[str, Any], found: Outcome) -> None:
    """Push and write history for a deadline's move, once per deadline however often it runs."""
    for push in pushes(task.org_id, task.lead_id, lead, found):
        notify.send(push, dedupe_key=f"{task.event_id}:{push.uid}")
    for entry in history_entries(found, task.due_at):
        leads.record(task.org_id, task.lead_id, task.event_id, entry)


# ---- the task ------------------------------------------------------------------------------------


def _reassign(org_id: str, lead_id: str, *, due_at: datetime) -> str | None:
    from routing import engine

    result: str | None = engine.reassign(org_id, lead_id, due_at=due_at)
    return result


def run(
    data: Mapping[str, Any],
    *,
    leads: LeadAccess,
    queue: TaskQueue,
    reassign: Reassign = _reassign,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Run one SLA task; what happened, for the log: invalid, gone, stale, waiting, reassigned, queued,
    moved (changed in the last moment), finished (a redelivery that found the move made and completed it)."""
    task = read_task(data)
    if task is None:
        return "invalid"
    lead = leads.read(task.org_id, task.lead_id)
    if lead is None:
        return "gone"
    found = outcome(lead, task.due_at)
    if found is not None:
        finish(leads, task, lead, found)
        return "finished"
    if not same_time(_due(lead), task.due_at) or lead.get("archived") or lead.get("firstContactAt"):
        return "stale"
    remaining = (task.due_at - clock.now()).total_seconds()
    if remaining > HOP.total_seconds():
        sleep(HOP.total_seconds())
        follow = task.next_hop()
        queue.enqueue(follow.name, follow.payload(), min(task.due_at, clock.now() + queue.horizon))
        return "waiting"
    for _ in range(3):  # the last moment before the deadline: wait it out here (never before the deadline)
        if remaining <= 0:
            break
        sleep(remaining + 0.001)
        remaining = (task.due_at - clock.now()).total_seconds()
    reassign(task.org_id, task.lead_id, due_at=task.due_at)
    lead = leads.read(task.org_id, task.lead_id) or {}
    found = outcome(lead, task.due_at, within=None)
    if found is None:
        return "moved"  # contacted, reassigned or archived at the last moment: the engine's guard refused
    finish(leads, task, lead, found)
    return "queued" if found.queued else "reassigned"
