"""What a capture costs in Firestore reads (issue 14's latency item): a warm instance reads each document at
most once per delivery, and outside the assignment (the routing engine's choice, which bench/routing_bench.py
measures) only what the outcome needs: the source, the organization's masking flag, the contact key, the lead
it enquires on."""

from __future__ import annotations

from typing import Any

import pytest

from bench import opcount
from tests.leads.capture.test_api import push, website
from tests.support.leads import create, make_team

pytestmark = pytest.mark.http

# The routing engine's modules (sites name files, not packages: functions/routing/).
ASSIGNMENT = ("engine.py", "counters.py", "eligibility.py")
# What the routing engine reads to choose (docs/routing.md): the scope's members and their counters.
ROUTING_STATE = ("/members/", "/rotation/", "/openLeads/", "/config/routing")


def _outside_assignment(ops: opcount.Ops) -> dict[str, int]:
    """Reads per call site, leaving out the assignee's choice."""
    return {site: n for site, n in ops.read_sites.items() if not any(part in site for part in ASSIGNMENT)}


def _measured(source: dict[str, Any], payload: dict[str, Any]) -> tuple[opcount.Ops, dict[str, Any]]:
    with opcount.counting(sites=True) as ops:
        response = push(source, payload)
    assert response.status == 200, response.body
    return ops, dict(response.body)


@pytest.mark.parametrize(
    ("case", "budget"),
    [
        # source, masking flag, contact key (the push's token lookup is the owner's, counted as such)
        ("new lead", 3),
        # source, masking flag, contact key, the lead enquired on
        ("repeat by phone", 4),
        ("repeat by email", 4),
    ],
)
def test_a_warm_capture_reads_each_document_once_and_only_what_its_outcome_needs(
    db: Any, case: str, budget: int
) -> None:
    team = make_team()
    source = website(team)
    create(team.agent1, "98450 22001", name="Asha", emails=["asha@example.com"])
    push(source, {"name": "Warm Up", "phone": "9845022999"})  # the instance has met this source once
    payload = {
        "new lead": {"name": "Ravi", "phone": "9845022002", "message": "3BHK?"},
        "repeat by phone": {"name": "Asha R", "phone": "+91 98450-22001"},
        "repeat by email": {"name": "Asha R", "email": "ASHA@example.com"},
    }[case]
    ops, body = _measured(source, payload)
    assert body["outcome"] == ("created" if case == "new lead" else "enquired-again")
    twice = {path: n for path, n in ops.read_paths.items() if n > 1 and not any(p in path for p in ROUTING_STATE)}
    assert twice == {}, twice
    sites = _outside_assignment(ops)
    ours = sum(n for site, n in sites.items() if "push_tokens.py" not in site)
    assert ours <= budget, sorted(sites.items())
