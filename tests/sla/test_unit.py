"""The first-response SLA's decisions, pure: who a contact counts for, task names and payloads, which lead
writes are SLA moves (their pushes and history are the task's, never the generic triggers'), what a deadline
did, and that routing and SLA bookkeeping is never a user's "updated" line or an owner's "lead updated" push."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.store import LeadRecord
from reminders.queue import MemoryQueue
from routing import contact, sla_tasks
from triggers import activity
from triggers.notifications import QUIET_LEAD_FIELDS, lead_pushes

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
DUE = AT + timedelta(minutes=15)
STAGES = ("new", "contacted", "qualified", "site-visit", "negotiation", "booked", "lost")


def _lead(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Asha Buyer",
        "stage": "new",
        "assigneeId": "a1",
        "teamId": "north",
        "createdAt": AT - timedelta(hours=1),
        "assignedAt": AT,
        "slaDueAt": DUE,
        "assignmentHistory": [{"assigneeId": "a1", "at": AT, "reason": "round-robin"}],
        "updatedBy": "admin",
    } | fields


# ---- first contact -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lead", "actor", "stamped"),
    [
        (_lead(), "a1", True),
        (_lead(), "manager", False),  # someone else's action
        (_lead(), None, False),  # the system's
        (_lead(firstContactAt=AT), "a1", False),  # once only
        (_lead(assigneeId=None), "a1", False),  # queued: nobody's contact yet
        (_lead(archived=True), "a1", False),
    ],
)
def test_first_contact_counts_only_for_the_assignee_and_only_once(
    lead: dict[str, Any], actor: str | None, stamped: bool
) -> None:
    at = AT + timedelta(minutes=4, seconds=30)
    changes = contact.changes(lead, actor, at)
    assert changes == ({"firstContactAt": at, "firstContactSeconds": 270, "slaDueAt": None} if stamped else {})


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=-3600, max_value=10**7), st.booleans())
def test_first_contact_seconds_count_from_assignment_else_creation(offset: int, assigned: bool) -> None:
    lead = _lead(assignedAt=AT if assigned else None)
    at = AT + timedelta(seconds=offset)
    since = AT if assigned else lead["createdAt"]
    assert contact.changes(lead, "a1", at)["firstContactSeconds"] == max(0, int((at - since).total_seconds()))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from((None, *STAGES)), st.sampled_from((None, *STAGES)))
def test_a_stage_move_is_contact_when_it_leaves_or_skips_the_first_stage(before: str | None, after: str | None) -> None:
    expected = after is not None and after != before and after != "new"
    assert contact.is_stage_contact(before, after, STAGES) is expected


# Write routes of `comms` that reach no buyer, with why.
NOT_CONTACT: dict[str, str] = {
    "POST /comms/templates": "an admin registers a template: no message goes out",
    "POST /comms/templates/sync": "an admin reads the templates' status from Meta: no message goes out",
    "PATCH /comms/templates/{template_id}": "an admin changes a template: no message goes out",
    "DELETE /comms/templates/{template_id}": "an admin removes a template: no message goes out",
    "POST /comms/voip/token": "the app registers to receive calls: nobody is called",
    "POST /comms/conversations/{conversation_id}/read": "marks a thread read: no message goes out",
    "POST /comms/whatsapp/reply": "a first contact path, tested where a buyer's message opens the window first "
    "(tests/comms/test_conversations.py: the assignee's reply stamps firstContactAt)",
}


def test_every_comms_write_route_is_a_tested_first_contact_path_or_says_why_not() -> None:
    from tests.sla.test_first_contact import PATHS, ROUTE_OF
    from tests.support.routes import routes

    assert set(ROUTE_OF) == set(PATHS)
    writes = {str(r) for r in routes() if r.function == "comms" and r.method != "GET"}
    assert writes, "no comms write routes found: this test no longer guards anything"
    assert writes - set(ROUTE_OF.values()) - set(NOT_CONTACT) == set()


# ---- tasks ---------------------------------------------------------------------------------------


def test_task_names_are_deterministic_per_deadline_and_hop() -> None:
    one = sla_tasks.Deadline("org1", "lead1", DUE)
    same = sla_tasks.Deadline("org1", "lead1", DUE.astimezone(timezone(timedelta(hours=5, minutes=30))))
    assert one.name == same.name and one.name.startswith("s") and len(one.name) == 41
    others = [
        sla_tasks.Deadline("org2", "lead1", DUE),
        sla_tasks.Deadline("org1", "lead2", DUE),
        sla_tasks.Deadline("org1", "lead1", DUE + timedelta(microseconds=1)),
        one.next_hop(),
    ]
    assert len({one.name, *(o.name for o in others)}) == 5
    assert one.next_hop().event_id == one.event_id  # a hop pushes and writes as the first run would


@settings(max_examples=60, deadline=None)
@given(st.datetimes(timezones=st.just(UTC)), st.integers(min_value=0, max_value=50))
def test_a_payload_reads_back_as_its_deadline(due: datetime, hop: int) -> None:
    task = sla_tasks.Deadline("org1", "lead1", due, hop)
    assert sla_tasks.read_task(task.payload()) == task


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"orgId": "org1", "leadId": "lead1"},
        {"orgId": "org1", "leadId": "a/b", "dueAt": DUE.isoformat()},
        {"orgId": "", "leadId": "lead1", "dueAt": DUE.isoformat()},
        {"orgId": "org1", "leadId": "lead1", "dueAt": "tomorrow"},
        {"orgId": "org1", "leadId": "lead1", "dueAt": "2026-11-25T06:15:00"},  # no zone
        {"orgId": "org1", "leadId": "lead1", "dueAt": DUE.isoformat(), "hop": "1"},
        {"orgId": "org1", "leadId": "lead1", "dueAt": DUE.isoformat(), "hop": True},
        {"orgId": ["org1"], "leadId": "lead1", "dueAt": DUE.isoformat()},
    ],
)
def test_a_payload_no_scheduler_made_is_refused(payload: dict[str, Any]) -> None:
    assert sla_tasks.read_task(payload) is None


def test_reschedule_follows_sla_due_at(clock: Any) -> None:
    queue = MemoryQueue()
    clock.at = AT
    assert sla_tasks.reschedule(queue, "org1", "l1", _lead(slaDueAt=None), _lead()) == "scheduled"
    first = sla_tasks.Deadline("org1", "l1", DUE)
    assert queue.tasks == {first.name: (first.payload(), DUE)}
    assert sla_tasks.reschedule(queue, "org1", "l1", _lead(slaDueAt=None), _lead()) == "scheduled"  # redelivered
    assert list(queue.tasks) == [first.name]
    assert sla_tasks.reschedule(queue, "org1", "l1", _lead(), _lead(name="Asha B")) == "unchanged"
    later = DUE + timedelta(minutes=15)
    assert sla_tasks.reschedule(queue, "org1", "l1", _lead(), _lead(slaDueAt=later)) == "rescheduled"
    assert list(queue.tasks) == [sla_tasks.Deadline("org1", "l1", later).name]
    assert sla_tasks.reschedule(queue, "org1", "l1", _lead(slaDueAt=later), _lead(slaDueAt=None)) == "cancelled"
    assert queue.tasks == {}
    far = AT + timedelta(days=45)  # beyond Cloud Tasks' window: enqueued at its edge, the task hops on
    sla_tasks.reschedule(queue, "org1", "l1", None, _lead(slaDueAt=far))
    ((_, at),) = queue.tasks.values()
    assert at == AT + queue.horizon


# ---- what a deadline did -------------------------------------------------------------------------


def _moved(*entries: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return _lead(assignmentHistory=[{"assigneeId": "a1", "at": AT, "reason": "round-robin"}, *entries], **fields)


def test_the_outcome_of_a_deadline_is_the_first_assignment_at_or_after_it() -> None:
    later = DUE + timedelta(seconds=2)
    moved = _moved({"assigneeId": "a2", "at": later, "reason": "sla"}, teamId="north")
    assert sla_tasks.outcome(moved, DUE) == sla_tasks.Outcome("a1", "a2", later, "north")
    queued = _moved({"assigneeId": None, "at": later, "reason": "sla"})
    found = sla_tasks.outcome(queued, DUE)
    assert found is not None and found.queued and found.previous == "a1"
    assert sla_tasks.outcome(_lead(), DUE) is None  # nothing happened yet
    manual = _moved({"assigneeId": "a3", "at": later, "reason": "manual"})
    assert sla_tasks.outcome(manual, DUE) is None  # someone else moved it: not the SLA's
    # the next deadline's move is not this one's: the earlier deadline's own move comes first
    two = _moved(
        {"assigneeId": "a2", "at": later, "reason": "sla"},
        {"assigneeId": "a3", "at": later + timedelta(minutes=15), "reason": "sla"},
    )
    found = sla_tasks.outcome(two, DUE + timedelta(minutes=15))
    assert found is not None and (found.previous, found.assignee) == ("a2", "a3")
    stale = _moved({"assigneeId": "a2", "at": DUE + sla_tasks.REPLAY_WINDOW * 2, "reason": "sla"})
    assert sla_tasks.outcome(stale, DUE) is None  # far past any retry of this deadline: another deadline's


def test_sla_moves_are_told_apart_from_every_other_assignment() -> None:
    before = _lead()
    sla = _moved({"assigneeId": "a2", "at": DUE, "reason": "sla"}, assigneeId="a2")
    queued = _moved({"assigneeId": None, "at": DUE, "reason": "sla"}, assigneeId=None, queue="managers")
    manual = _moved({"assigneeId": "a2", "at": DUE, "reason": "manual"}, assigneeId="a2")
    assert sla_tasks.sla_move(before, sla) and sla_tasks.sla_move(before, queued)
    assert not sla_tasks.sla_move(before, manual)
    assert not sla_tasks.sla_move(sla, sla | {"name": "Asha B"})  # a later write of a re-routed lead
    assert not sla_tasks.sla_move(None, sla) and not sla_tasks.sla_move(before, None)


def test_the_sla_history_reads_missed_then_assigned_in_that_order() -> None:
    found = sla_tasks.Outcome("a1", "a2", DUE, "north")  # the engine ran in the very same millisecond
    missed, assigned = sla_tasks.history_entries(found, DUE)
    assert (missed["type"], assigned["type"]) == ("sla-missed", "assigned")
    assert missed["at"] == DUE < assigned["at"]
    assert assigned["changes"]["assigneeId"] == {"before": "a1", "after": "a2"}
    assert missed["actor_id"] is None and assigned["actor_id"] is None


# ---- the generic triggers leave SLA moves and bookkeeping alone ----------------------------------

# How each stored lead field shows in the history: TRACKED as an "updated" line; these as entries of their own;
# these never (derived, audit or routing and SLA bookkeeping). A new LeadRecord field fails the test below
# until it is placed in one of them.
OWN_ENTRIES = {"stage", "assigneeId", "teamId", "archived", "archivedAt", "mergedFrom", "mergedInto"}
NEVER = {
    "orgId",
    "createdAt",
    "updatedAt",
    "createdBy",
    "updatedBy",
    "version",
    "searchTokens",
    "sourceId",
    "campaign",
    "firstSource",
    "enquiries",
    "lastEnquiredAt",
    "restricted",  # privacy: its own audit entries (privacy.lead.restricted, unrestricted)
    "restrictedAt",
    *activity.SYSTEM_FIELDS,
}


def test_every_lead_field_is_placed_and_system_fields_are_never_user_updates() -> None:
    stored = set(LeadRecord(id="l1").document())
    placed = set(activity.TRACKED) | OWN_ENTRIES | NEVER
    assert stored - placed == set(), "place the new lead fields in TRACKED, OWN_ENTRIES or NEVER"
    assert set(activity.TRACKED) & set(activity.SYSTEM_FIELDS) == set()
    assert set(activity.SYSTEM_FIELDS) <= QUIET_LEAD_FIELDS
    routing = {name for name in stored if name.startswith(("firstContact", "sla", "assign", "queue"))} - {"assigneeId"}
    assert routing <= set(activity.SYSTEM_FIELDS)


values = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=10),
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(["team", "managers"]),
    st.lists(st.fixed_dictionaries({"assigneeId": st.sampled_from(["a1", "a2"]), "reason": st.just("rule")})),
)


@settings(max_examples=120, deadline=None)
@given(st.dictionaries(st.sampled_from(activity.SYSTEM_FIELDS), values, min_size=1), st.booleans())
def test_bookkeeping_changes_write_no_history_and_push_nobody(changes: dict[str, Any], by_owner: bool) -> None:
    before = _lead()
    after = before | changes | {"updatedBy": "a1" if by_owner else "admin", "updatedAt": DUE}
    assert activity.lead_entries(before, after) == []
    assert lead_pushes("org1", "l1", before, after) == []


def test_an_sla_move_writes_no_generic_assignment_entry_or_push() -> None:
    before = _lead()
    moved = _moved({"assigneeId": "a2", "at": DUE, "reason": "sla"}, assigneeId="a2", updatedBy=None)
    assert activity.lead_entries(before, moved) == []
    assert lead_pushes("org1", "l1", before, moved) == []
    manual = _moved({"assigneeId": "a2", "at": DUE, "reason": "manual"}, assigneeId="a2", updatedBy="admin")
    assert [e["type"] for e in activity.lead_entries(before, manual)] == ["assigned"]
    assert [p.kind for p in lead_pushes("org1", "l1", before, manual)] == ["lead-assigned"]


def test_each_task_queue_function_has_its_own_queue_and_tests_can_replace_one_or_all() -> None:
    from core import settings
    from reminders import queue

    assert settings.get().emulator  # the unit tier runs with emulator settings
    remind, sla = queue.queue("remind"), queue.queue(sla_tasks.QUEUE_FUNCTION)
    assert isinstance(remind, queue.CloudTasksQueue) and isinstance(sla, queue.CloudTasksQueue)
    assert (remind.function, sla.function) == ("remind", "leadsla")
    # the emulator runs tasks at once: reminders wait for their sweep; SLA tasks go at once and wait themselves
    assert remind.horizon == timedelta(0) and sla.horizon == queue.CLOUD_HORIZON
    only_sla, every = MemoryQueue(), MemoryQueue()
    queue.install(only_sla, function=sla_tasks.QUEUE_FUNCTION)
    try:
        assert queue.queue(sla_tasks.QUEUE_FUNCTION) is only_sla and queue.queue("remind") is remind
        queue.install(every)
        assert queue.queue(sla_tasks.QUEUE_FUNCTION) is only_sla and queue.queue("remind") is every
    finally:
        queue.install(None, function=sla_tasks.QUEUE_FUNCTION)
        queue.install(None)
    assert queue.queue(sla_tasks.QUEUE_FUNCTION) is sla and queue.queue() is remind
