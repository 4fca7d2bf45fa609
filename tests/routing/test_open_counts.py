"""A lead that leaves its assignee by a merge or an erasure no longer counts against the assignee's cap, and
what waited in the queue for that room goes out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core import tenancy
from leads.merge import merge_leads
from leads.seed import member_caller
from privacy import leads as privacy_leads
from tests.routing.support import open_count, routed_lead, set_routing, stored
from tests.support.factory import add_person, make_org

pytestmark = pytest.mark.service


def _capped_agent_with_a_queued_lead() -> tuple[str, str, str, str]:
    """An agent capped at one open lead holding one; a second lead queued; another agent's lead. Ids."""
    admin = make_org()
    agent = add_person("org1", "agent", "north").uid
    tenancy.member_ref("org1", agent).update({"maxOpenLeads": 1})
    set_routing()
    held = routed_lead("9500000001")["id"]
    queued = routed_lead("9500000002")
    assert queued["queue"] == "team" and open_count(agent) == 1
    tenancy.member_ref("org1", agent).update({"maxOpenLeads": 2})
    return admin.uid, agent, held, queued["id"]


def test_a_merged_duplicate_frees_its_assignee_and_the_queue_moves(db: Any, clock: Any) -> None:
    admin, agent, duplicate, queued = _capped_agent_with_a_queued_lead()
    tenancy.member_ref("org1", agent).update({"maxOpenLeads": 1})
    clock.at += timedelta(seconds=1)  # the queue is first in, first out: the older queued lead goes first
    survivor = routed_lead("9500000003")  # nobody has room: queued too
    assert survivor["queue"] == "team"
    merge_leads(caller=member_caller("org1", admin), lead_id=survivor["id"], duplicate_id=duplicate)
    assert stored(survivor["id"])["mergedFrom"] == [duplicate]
    assert stored(queued)["assigneeId"] == agent and open_count(agent) == 1  # the freed room went to the queue


def test_an_erased_lead_frees_its_assignee_and_the_queue_moves(db: Any, clock: Any, bucket: Any) -> None:
    admin, agent, held, queued = _capped_agent_with_a_queued_lead()
    tenancy.member_ref("org1", agent).update({"maxOpenLeads": 1})
    privacy_leads.erase(org_id="org1", lead_id=held, actor=admin)
    assert not tenancy.org_ref("org1").collection("leads").document(held).get().exists
    assert stored(queued)["assigneeId"] == agent and open_count(agent) == 1
