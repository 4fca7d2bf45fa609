"""The issue's "done when" for routing: 200 leads created in parallel for one team spread within one lead per
member (weights within their ratio), and nobody off duty, on leave or at capacity gets one; rules route by
source, project, city, configuration and budget."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from core import tenancy
from core.caller import caller_from_claims
from leads.models import LeadCreate
from leads.service import create_lead
from tests.routing.support import open_count, routed_lead, set_routing
from tests.support.factory import add_person, make_org
from tests.support.leads import leads_of

pytestmark = pytest.mark.service

PARALLEL = 200
WORKERS = 16


def _create_many(actor: Any, count: int, prefix: str) -> list[str]:
    def one(index: int) -> str:
        data = LeadCreate.model_validate({"name": "Buyer", "primaryPhone": {"number": f"{prefix}{index:08d}"}})
        lead = create_lead(org_id="org1", actor=actor, data=data)
        return str(lead.assignee_id)

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(one, range(count)))


def test_200_parallel_creates_spread_within_one_and_skip_off_duty_leave_and_capped_members(db: Any, clock: Any) -> None:
    make_org()
    manager = add_person("org1", "manager", "north")
    on_duty = [add_person("org1", "agent", "north").uid for _ in range(4)]
    off_duty, on_leave, capped, away_ended = (add_person("org1", "agent", "north").uid for _ in range(4))
    elsewhere = add_person("org1", "agent", "south").uid
    members = tenancy.org_ref("org1").collection("members")
    members.document(off_duty).update({"availability": {"status": "off-duty", "until": None}})
    members.document(on_leave).update(
        {"leave": [{"from": clock.now() - timedelta(days=1), "to": clock.now() + timedelta(days=1)}]}
    )
    members.document(capped).update({"maxOpenLeads": 3})
    members.document(away_ended).update({"availability": {"status": "away", "until": clock.now()}})  # over now
    set_routing(firstContactMinutes=15)
    actor = caller_from_claims({"orgId": "org1", "uid": manager.uid, "role": "manager", "teamId": "north"}, fresh=True)

    picked = Counter(_create_many(actor, PARALLEL, "90"))

    assert sum(picked.values()) == PARALLEL and len(leads_of()) == PARALLEL
    assert picked[off_duty] == picked[on_leave] == picked[elsewhere] == 0, picked
    assert picked[capped] == 3 and open_count(capped) == 3
    rotating = [*on_duty, away_ended]
    assert max(picked[uid] for uid in rotating) - min(picked[uid] for uid in rotating) <= 1, picked
    assert all(open_count(uid) == picked[uid] for uid in rotating)
    assert all(lead["teamId"] == "north" and lead["slaDueAt"] is not None for lead in leads_of())


def test_weighted_rule_keeps_every_member_within_its_share_under_parallel_creates(db: Any, clock: Any) -> None:
    from core.caller import SYSTEM

    make_org()
    uids = [add_person("org1", "agent", "north").uid for _ in range(3)]
    weights = {uids[0]: 3, uids[1]: 2, uids[2]: 1}
    rule = {"name": "weighted", "match": {}, "assignTo": {"memberIds": uids}, "method": "weighted", "weights": weights}
    set_routing(rules=[rule])

    picked = Counter(_create_many(SYSTEM, 120, "91"))

    assert sum(picked.values()) == 120
    # Greedy on (count + 1) / weight: nobody is ahead of anyone else by more than one lead of its own weight.
    for i in uids:
        for j in uids:
            assert picked[i] / weights[i] <= (picked[j] + 1) / weights[j], picked
    assert abs(picked[uids[0]] - 60) <= 3 and abs(picked[uids[2]] - 20) <= 1, picked


def test_a_light_member_joining_after_the_heavy_ones_have_counts_is_picked_next_and_keeps_its_share(
    db: Any, clock: Any
) -> None:
    from core.caller import SYSTEM
    from core.ids import sha256_hex
    from routing import counters

    make_org()
    uids = [add_person("org1", "agent", "north").uid for _ in range(3)]
    weights = {uids[0]: 3, uids[1]: 2, uids[2]: 1}
    rule = {"name": "weighted", "match": {}, "assignTo": {"memberIds": uids}, "method": "weighted", "weights": weights}
    set_routing(rules=[rule])
    scope = "rule-" + sha256_hex("weighted")[:24]
    for uid, count in ((uids[0], 9), (uids[1], 6)):  # the heavy members' shares: 10/3 and 7/2
        counters.start(counters.rotation_ref("org1", scope, uid), count, uid)

    first = _create_many(SYSTEM, 1, "92")
    picked = Counter(first + _create_many(SYSTEM, 30, "93"))

    assert first == [uids[2]]  # one floor for every weight would have left it behind for good
    assert abs(picked[uids[2]] - 31 / 6) <= 2 and picked[uids[0]] > picked[uids[1]] > picked[uids[2]], picked


def test_least_open_goes_to_the_member_with_fewest_open_leads(db: Any, clock: Any) -> None:
    make_org()
    busy, free = add_person("org1", "agent", "north").uid, add_person("org1", "agent", "north").uid
    tenancy.org_ref("org1").collection("openLeads").document(busy).set({"n": 5})
    rule = {"name": "fewest", "match": {}, "assignTo": {"teamId": "north"}, "method": "least-open"}
    set_routing(rules=[rule])
    assignees = [routed_lead(f"920000000{i}")["assigneeId"] for i in range(7)]
    assert assignees[:5] == [free] * 5 and sorted(assignees[5:]) == sorted([busy, free])


@pytest.mark.parametrize(
    ("match", "lead", "routed"),
    [
        ({"sources": ["99acres"]}, {"source": "99acres"}, True),
        ({"sources": ["99acres"]}, {"source": "website"}, False),
        ({"projectIds": ["p1"]}, {"projectId": "p1"}, True),
        ({"cities": ["pune"]}, {"location": {"city": " Pune "}}, True),
        ({"cities": ["pune"]}, {"location": {"city": "Mumbai"}}, False),
        ({"configurations": ["3BHK", "4BHK"]}, {"configurations": ["2BHK", "3BHK"]}, True),
        ({"configurations": ["3BHK"]}, {"configurations": ["2BHK"]}, False),
        ({"budgetMin": 10_000_000}, {"budget": {"min": 5_000_000, "max": 12_000_000}}, True),
        ({"budgetMin": 10_000_000}, {"budget": {"max": 8_000_000}}, False),
        ({"budgetMax": 5_000_000}, {"budget": {"min": 4_000_000}}, True),
        ({"budgetMax": 5_000_000}, {}, False),
        ({"sources": ["99acres"], "cities": ["Pune"]}, {"source": "99acres", "location": {"city": "Nagpur"}}, False),
    ],
)
def test_rules_route_by_source_project_city_configuration_and_budget(
    db: Any, clock: Any, match: dict[str, Any], lead: dict[str, Any], routed: bool
) -> None:
    make_org()
    north = add_person("org1", "agent", "north").uid
    south = add_person("org1", "agent", "south").uid
    tenancy.org_ref("org1").collection("projects").document("p1").set({"name": "P1", "active": True})
    set_routing(rules=[{"name": "to south", "match": match, "assignTo": {"teamId": "south"}, "method": "round-robin"}])
    stored = routed_lead("9300000001", **lead)
    if routed:
        assert stored["assigneeId"] == south
        assert stored["assignmentHistory"][0] | {"at": None} == {
            "assigneeId": south,
            "at": None,
            "reason": "rule",
            "rule": "to south",
        }
    else:
        assert stored["assigneeId"] in (north, south)
        assert stored["assignmentHistory"][0]["reason"] == "round-robin"


def test_the_first_matching_rule_wins_and_a_queued_rule_lead_waits_for_its_team(db: Any, clock: Any) -> None:
    make_org()
    south = add_person("org1", "agent", "south").uid
    set_routing(
        rules=[
            {"name": "pune", "match": {"cities": ["Pune"]}, "assignTo": {"teamId": "north"}, "method": "round-robin"},
            {"name": "all", "match": {}, "assignTo": {"teamId": "south"}, "method": "round-robin"},
        ]
    )
    queued = routed_lead("9400000001", location={"city": "Pune"})  # north has no agent
    assert queued["assigneeId"] is None and queued["queue"] == "team" and queued["teamId"] == "north"
    other = routed_lead("9400000002", location={"city": "Mumbai"})
    assert other["assigneeId"] == south and other["assignmentHistory"][0]["rule"] == "all"
