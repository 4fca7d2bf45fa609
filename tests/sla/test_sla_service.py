"""The first-response SLA on the Firestore emulator with a fake clock and the in-memory task queue, every
registered trigger run in process after each write: a passed deadline re-routes the lead once (pushes to
the previous agent, the new one and the managers; `sla-missed` then `assigned`), a contacted lead is left
alone, a redelivered task or trigger doubles nothing, a reassignment replaces the pending task, and after
`maxReassignments` the lead waits in the managers' queue.

`routing.engine.reassign` is the routing helper's; here a stand-in with its agreed contract (one
transaction, only while the lead is unarchived, uncontacted and still due at `due_at`) is passed to the
handler, so these tests check the SLA side's own guards whatever the engine does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from core import clients, tenancy
from reminders import queue as task_queue
from routing import sla_tasks
from tests.support.factory import Person, add_person, make_org
from tests.support.outbox import feed
from tests.support.triggers import Triggers
from triggers.sla import StoredLeads

pytestmark = pytest.mark.service

SLA = timedelta(minutes=15)


@dataclass
class FakeEngine:
    """`routing.engine.reassign` as agreed: the next member of `order` other than the current one, or the
    managers' queue once `max_reassignments` re-routes were made."""

    order: list[str]
    clock: Any
    max_reassignments: int = 2
    calls: list[datetime] = field(default_factory=list)

    def reassign(self, org_id: str, lead_id: str, *, due_at: datetime) -> str | None:
        """Move the lead if it is still due at due_at; the new assignee, or None."""
        from google.cloud import firestore

        self.calls.append(due_at)
        ref = tenancy.org_ref(org_id).collection("leads").document(lead_id)
        now = self.clock.at

        @firestore.transactional
        def apply(transaction: Any) -> str | None:
            lead = ref.get(transaction=transaction).to_dict() or {}
            if lead.get("archived") or lead.get("firstContactAt") or lead.get("slaDueAt") != due_at:
                return None
            history = list(lead.get("assignmentHistory") or [])
            count = int(lead.get("slaReassignments") or 0)
            base = {"updatedAt": now, "updatedBy": None, "version": int(lead.get("version") or 1) + 1}
            if count >= self.max_reassignments:
                history.append({"assigneeId": None, "at": now, "reason": "sla"})
                transaction.update(
                    ref,
                    base
                    | {
                        "assigneeId": None,
                        "assignedAt": None,
                        "queue": "managers",
                        "queuedAt": now,
                        "slaDueAt": None,
                        "assignmentHistory": history,
                    },
                )
                return None
            current = lead.get("assigneeId")
            following = self.order[(self.order.index(str(current)) + 1) % len(self.order)]
            history.append({"assigneeId": following, "at": now, "reason": "sla"})
            transaction.update(
                ref,
                base
                | {
                    "assigneeId": following,
                    "assignedAt": now,
                    "slaDueAt": now + SLA,
                    "slaReassignments": count + 1,
                    "assignmentHistory": history,
                },
            )
            return following

        result: str | None = apply(clients.db().transaction())
        return result


@dataclass
class World:
    """org1: a manager named by team north, three north agents, a lead of the first with a deadline."""

    manager: Person
    agents: list[Person]
    lead_id: str
    engine: FakeEngine
    triggers: Triggers
    queue: task_queue.MemoryQueue
    clock: Any

    def lead(self) -> dict[str, Any]:
        """The lead as stored."""
        return tenancy.org_ref("org1").collection("leads").document(self.lead_id).get().to_dict() or {}

    def tasks(self) -> dict[str, tuple[dict[str, Any], datetime]]:
        """The SLA tasks waiting in the queue."""
        return dict(self.queue.tasks)

    def run(self, payload: dict[str, Any]) -> str:
        """Run one task as Cloud Tasks would deliver it, then the triggers of what it wrote."""

        def sleep(seconds: float) -> None:
            self.clock.at += timedelta(seconds=seconds)

        with self.triggers.running():
            return sla_tasks.run(
                payload, leads=StoredLeads(), queue=self.queue, reassign=self.engine.reassign, sleep=sleep
            )

    def run_due(self) -> list[str]:
        """Run every queued task whose time has come, dropping it (Cloud Tasks' at-least-once, first delivery)."""
        outcomes = []
        for name, (payload, when) in sorted(self.tasks().items(), key=lambda item: item[1][1]):
            if when <= self.clock.at:
                self.queue.tasks.pop(name)
                outcomes.append(self.run(payload))
        return outcomes

    def activity(self) -> list[str]:
        """The lead's history entry types, oldest first."""
        ref = tenancy.org_ref("org1").collection("leads").document(self.lead_id).collection("activity")
        entries = [s.to_dict() or {} for s in ref.stream()]
        return [e["type"] for e in sorted(entries, key=lambda e: e["createdAt"])]


@pytest.fixture
def world(db: Any, clock: Any) -> Iterator[World]:
    """The organization, its people and a lead assigned to the first agent now, due in 15 minutes."""
    from tests.comms.conftest import make_lead

    make_org()
    manager = add_person("org1", "manager", "north")
    tenancy.org_ref("org1").collection("teams").document("north").update({"managerIds": [manager.uid]})
    agents = [add_person("org1", "agent", "north") for _ in range(3)]
    memory = task_queue.MemoryQueue()
    task_queue.install(memory)
    triggers = Triggers()
    try:
        with triggers.running():
            lead_id = make_lead("org1", assignee=agents[0].uid)
        # the routing engine's assignment fields (it writes them in the assignment's transaction)
        with triggers.running():
            tenancy.org_ref("org1").collection("leads").document(lead_id).update(
                {
                    "assignedAt": clock.at,
                    "assignmentHistory": [{"assigneeId": agents[0].uid, "at": clock.at, "reason": "manual"}],
                    "slaDueAt": clock.at + SLA,
                    "slaReassignments": 0,
                }
            )
        for agent in agents:  # the creation's own push ("New lead assigned") is not what these tests look at
            for entry in clients.db().collection("users").document(agent.uid).collection("notifications").stream():
                entry.reference.delete()
        yield World(manager, agents, lead_id, FakeEngine([a.uid for a in agents], clock), triggers, memory, clock)
    finally:
        task_queue.install(None)


def _sla_tasks(world: World) -> list[tuple[dict[str, Any], datetime]]:
    return [task for task in world.tasks().values() if "dueAt" in task[0]]


def _kinds(uid: str) -> list[str]:
    return [entry["kind"] for entry in feed(uid)]


def test_a_passed_deadline_reroutes_the_lead_once_and_tells_everyone(world: World) -> None:
    due = world.clock.at + SLA
    ((payload, at),) = _sla_tasks(world)
    assert at == due and payload["dueAt"] == sla_tasks.Deadline("org1", world.lead_id, due).key
    world.clock.at = due - timedelta(minutes=5)
    assert world.run(payload) == "waiting"  # early (the emulator's way): waits, then enqueues itself again
    assert world.engine.calls == []
    world.clock.at = due
    assert "reassigned" in world.run_due()
    assert world.engine.calls == [due]
    lead = world.lead()
    first, second, _ = world.agents
    assert lead["assigneeId"] == second.uid and lead["slaReassignments"] == 1
    assert world.activity() == ["created", "sla-missed", "assigned"]
    assert _kinds(first.uid) == ["sla-missed"]
    assert _kinds(second.uid) == ["lead-assigned"]  # the SLA's push, not also the generic one
    assert _kinds(world.manager.uid) == ["sla-missed"]
    for uid in (first.uid, second.uid, world.manager.uid):
        (entry,) = feed(uid)
        assert entry["data"] == {"orgId": "org1", "leadId": world.lead_id}
        assert not re.search(r"\d{4,}", entry["title"] + entry["body"]), entry["body"]  # names, never a number


def test_a_lead_contacted_before_its_deadline_is_left_alone(world: World) -> None:
    from routing import contact

    due = world.clock.at + SLA
    ((payload, _),) = _sla_tasks(world)
    world.clock.at = due - timedelta(minutes=1)
    with world.triggers.running():
        contact.stamp(
            tenancy.org_ref("org1").collection("leads").document(world.lead_id), world.agents[0].uid, world.clock.at
        )
    assert _sla_tasks(world) == []  # the contact cancelled the pending task
    world.clock.at = due
    assert world.run(payload) == "stale"  # and had it run anyway (already dispatched), nothing happens
    assert world.engine.calls == []
    assert world.lead()["assigneeId"] == world.agents[0].uid
    assert world.activity() == ["created"]
    assert feed(world.manager.uid) == []


def test_a_contact_in_the_last_moment_wins_over_the_deadline(world: World) -> None:
    from routing import contact

    due = world.clock.at + SLA
    ((payload, _),) = _sla_tasks(world)
    world.clock.at = due - timedelta(seconds=5)

    def contacted_while_waiting(seconds: float) -> None:
        contact.stamp(
            tenancy.org_ref("org1").collection("leads").document(world.lead_id), world.agents[0].uid, world.clock.at
        )
        world.clock.at += timedelta(seconds=seconds)

    outcome = sla_tasks.run(
        payload, leads=StoredLeads(), queue=world.queue, reassign=world.engine.reassign, sleep=contacted_while_waiting
    )
    assert outcome == "moved" and world.engine.calls == [due]  # the engine's own guard refused
    assert world.lead()["assigneeId"] == world.agents[0].uid


def test_a_redelivered_task_or_trigger_doubles_nothing(world: World) -> None:
    due = world.clock.at + SLA
    ((payload, _),) = _sla_tasks(world)
    world.clock.at = due
    assert world.run(payload) == "reassigned"
    lead, activity = world.lead(), world.activity()
    pushes = {uid: len(feed(uid)) for uid in [world.manager.uid, *(a.uid for a in world.agents)]}
    tasks = _sla_tasks(world)
    for _ in range(2):  # Cloud Tasks delivers it again
        assert world.run(payload) == "finished"
    assert world.lead() == lead and world.activity() == activity
    assert {uid: len(feed(uid)) for uid in pushes} == pushes
    before = dict(lead) | {"slaDueAt": due, "assigneeId": world.agents[0].uid}
    from triggers.sla import on_lead_written

    assert on_lead_written("org1", world.lead_id, before, lead) == "rescheduled"  # the trigger, redelivered
    assert _sla_tasks(world) == tasks
    assert world.engine.calls == [due]  # a redelivery finds the move made and never asks the engine again
    assert world.lead()["slaReassignments"] == 1


def test_a_crash_after_the_reassignment_is_finished_by_the_retry(world: World) -> None:
    due = world.clock.at + SLA
    ((payload, _),) = _sla_tasks(world)
    world.clock.at = due
    with world.triggers.running():
        world.engine.reassign("org1", world.lead_id, due_at=due)  # the run died right after the engine's commit
    assert world.activity() == ["created"] and feed(world.manager.uid) == []
    assert world.run(payload) == "finished"
    assert world.activity() == ["created", "sla-missed", "assigned"]
    assert _kinds(world.agents[0].uid) == ["sla-missed"] and _kinds(world.manager.uid) == ["sla-missed"]
    assert world.engine.calls == [due]


def test_a_reassignment_cancels_the_old_task_and_sets_the_new_deadline(world: World) -> None:
    due = world.clock.at + SLA
    ((_, _),) = _sla_tasks(world)
    old = sla_tasks.Deadline("org1", world.lead_id, due).name
    world.clock.at = due
    world.run_due()
    ((payload, at),) = _sla_tasks(world)
    assert at == due + SLA and old not in world.queue.tasks
    assert payload["dueAt"] == sla_tasks.Deadline("org1", world.lead_id, due + SLA).key
    # a manual reassignment before that deadline replaces it too
    with world.triggers.running():
        tenancy.org_ref("org1").collection("leads").document(world.lead_id).update(
            {"assigneeId": world.agents[0].uid, "slaDueAt": world.clock.at + timedelta(minutes=30)}
        )
    ((_, at),) = _sla_tasks(world)
    assert at == world.clock.at + timedelta(minutes=30)


def test_after_max_reassignments_the_lead_waits_in_the_managers_queue(world: World) -> None:
    first, second, third = world.agents
    outcomes = []
    for _ in range(3):
        world.clock.at = world.lead()["slaDueAt"]
        outcomes += world.run_due()
    assert outcomes == ["reassigned", "reassigned", "queued"]
    lead = world.lead()
    assert (lead["assigneeId"], lead["queue"], lead["slaDueAt"]) == (None, "managers", None)
    assert _sla_tasks(world) == []  # no deadline, no task
    assert world.activity() == ["created", *["sla-missed", "assigned"] * 3]
    assert _kinds(third.uid) == ["sla-missed", "lead-assigned"]  # newest first: got it, then missed it
    assert _kinds(world.manager.uid) == ["sla-missed"] * 3
    queued = feed(world.manager.uid)[0]
    assert "managers' queue" in queued["body"]
    ref = tenancy.org_ref("org1").collection("leads").document(world.lead_id).collection("activity")
    (last,) = [
        s.to_dict() or {}
        for s in ref.stream()
        if (s.to_dict() or {})["type"] == "assigned" and (s.to_dict() or {})["changes"]["assigneeId"]["after"] is None
    ]
    assert last["changes"]["assigneeId"]["before"] == third.uid and last["actorId"] is None
    assert _kinds(second.uid) == ["sla-missed", "lead-assigned"] and _kinds(first.uid) == ["sla-missed"]


def test_a_task_that_first_runs_long_after_its_deadline_still_tells_everyone(world: World) -> None:
    due = world.clock.at + SLA
    ((payload, _),) = _sla_tasks(world)
    world.clock.at = due + timedelta(hours=2)  # a Cloud Tasks backlog: late, but the lead was never touched
    assert world.run(payload) == "reassigned"
    assert world.activity() == ["created", "sla-missed", "assigned"]
    assert _kinds(world.agents[0].uid) == ["sla-missed"] and _kinds(world.manager.uid) == ["sla-missed"]
