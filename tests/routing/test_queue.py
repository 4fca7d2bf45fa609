"""The team queue: with nobody eligible a lead waits (managers pushed); queued leads go out in arrival order as
soon as someone is eligible; two drains at once never assign one lead twice; the sweep catches `until` ends."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from core import tenancy
from routing import engine
from tests.routing.support import open_count, routed_lead, set_routing, stored
from tests.support.factory import add_person, make_org
from tests.support.outbox import pushes_to

pytestmark = pytest.mark.service


def _off(uid: str, **state: Any) -> None:
    tenancy.member_ref("org1", uid).update({"availability": {"status": "off-duty", "until": None, **state}})


def _on(uid: str) -> None:
    tenancy.member_ref("org1", uid).update({"availability": {"status": "available"}})


def test_queued_leads_wait_then_go_in_arrival_order_and_two_drains_never_double_assign(db: Any, clock: Any) -> None:
    admin = make_org()
    agents = [add_person("org1", "agent", "north").uid for _ in range(2)]
    for uid in agents:
        _off(uid)
    set_routing(maxReassignments=2)
    queued = []
    for index in range(6):
        clock.at += timedelta(seconds=1)
        lead = routed_lead(f"95000000{index:02d}")
        assert lead["assigneeId"] is None and lead["queue"] == "team" and lead["teamId"] is None
        queued.append(lead["id"])
    assert len(pushes_to(admin.uid)) == 6  # the organization's queue: its admins are pushed
    tenancy.member_ref("org1", agents[0]).update({"maxOpenLeads": 2})
    _on(agents[0])
    # Two drains at once: the first two leads go to the only eligible member (its cap), nothing twice.
    results: list[list[str]] = []
    barrier = threading.Barrier(2)

    def drainer() -> None:
        barrier.wait()
        results.append(engine.drain_for("org1", agents[0]))

    threads = [threading.Thread(target=drainer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = [lead_id for batch in results for lead_id in batch]
    assert sorted(taken) == sorted(queued[:2]) and len(set(taken)) == len(taken), results
    assert open_count(agents[0]) == 2
    assert [stored(i)["queue"] for i in queued[2:]] == ["team"] * 4
    # An off-duty state that ends by the clock: the sweep drains the rest, oldest first, evenly.
    _off(agents[1], until=clock.now() + timedelta(minutes=30))
    assert engine.sweep() == 0
    clock.at += timedelta(minutes=31)
    assert engine.sweep() == 4
    owners = [stored(i)["assigneeId"] for i in queued]
    assert owners == [agents[0]] * 2 + [agents[1]] * 4
    last = stored(queued[-1])
    assert last["slaDueAt"] == clock.now() + timedelta(minutes=15) and last["assignedAt"] == clock.now()
    assert [e["reason"] for e in last["assignmentHistory"]] == ["queue", "queue"]
    assert Counter(open_count(uid) for uid in agents) == Counter([2, 4])


def test_an_archived_queued_lead_leaves_the_queue(db: Any, clock: Any) -> None:
    make_org()
    uid = add_person("org1", "agent", "north").uid
    _off(uid)
    set_routing()
    lead = routed_lead("9600000001")
    tenancy.org_ref("org1").collection("leads").document(lead["id"]).update({"archived": True})
    _on(uid)
    assert engine.drain_for("org1", uid) == []
    assert stored(lead["id"])["queue"] is None and stored(lead["id"])["assigneeId"] is None


def test_a_restored_unassigned_lead_goes_back_to_its_queue_and_out_to_whoever_can_take_it(db: Any, clock: Any) -> None:
    from core.caller import caller_from_claims
    from leads.service import archive_lead, restore_lead

    admin = make_org()
    uid = add_person("org1", "agent", "north").uid
    _off(uid)
    set_routing()
    lead = routed_lead("9600000002")
    caller = caller_from_claims({"orgId": "org1", "uid": admin.uid, "role": "admin", "teamId": None}, fresh=True)
    archive_lead(caller=caller, lead_id=lead["id"], if_match=None)
    assert stored(lead["id"])["queue"] is None
    _on(uid)
    clock.at += timedelta(minutes=1)
    restore_lead(caller=caller, lead_id=lead["id"])
    back = stored(lead["id"])
    assert back["assigneeId"] == uid and back["queue"] is None and back["archived"] is False
    assert open_count(uid) == 1
