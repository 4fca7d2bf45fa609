"""The stats tallies on Firestore: a lead's whole life through the services keeps GET /leads/stats equal to a
count of the leads for every role; a burst of events from many threads, some delivered two or three times,
counts each once; and an organization made before the tallies keeps counting with aggregations."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from core import tenancy
from leads import service, tallies
from leads.models import LeadUpdate
from leads.seed import member_caller
from tests.support.factory import add_person, make_org
from tests.support.triggers import Triggers, discover

pytestmark = pytest.mark.service

STATS = ("total", "byStage", "bySource")


def _both(uid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The caller's stats as served (from the tallies) and as the aggregations count the leads."""
    caller = member_caller("org1", uid)
    served = service.stats(caller=caller)
    counted = service._aggregated(caller, list(caller.settings.stages), list(caller.settings.sources))
    return {k: served[k] for k in STATS} | {"q": served["aggregationQueries"]}, {k: counted[k] for k in STATS}


def _assert_equal(*uids: str) -> None:
    for uid in uids:
        served, counted = _both(uid)
        assert served.pop("q") == 0, uid
        assert served == counted, uid


def test_a_leads_life_through_the_services_keeps_every_scope_equal_to_a_count(db: Any) -> None:
    from leads.models import AssignBody, LeadCreate
    from leads.service import archive_lead, assign_lead, create_lead, restore_lead, update_lead

    admin = make_org()
    manager = add_person("org1", "manager", "north")
    north, south = add_person("org1", "agent", "north"), add_person("org1", "agent", "south")
    uids = (admin.uid, manager.uid, north.uid, south.uid)
    boss = member_caller("org1", admin.uid)
    triggers = Triggers([t for t in discover() if t.name == "reportleads"])  # the tallies' trigger alone
    with triggers.running():
        ids = [
            create_lead(
                org_id="org1",
                actor=boss,
                data=LeadCreate.model_validate(
                    {"name": f"Buyer {n}", "primaryPhone": {"number": f"98{n:08d}"}, "assigneeId": north.uid}
                    | ({"source": "website"} if n % 2 else {})
                ),
            ).id
            for n in range(6)
        ]
    _assert_equal(*uids)
    assert _both(admin.uid)[0]["total"] == 6 and _both(north.uid)[0]["total"] == 6
    with triggers.running():
        lead = service.get_lead(caller=boss, lead_id=ids[0])
        update_lead(
            caller=boss, lead_id=ids[0], data=LeadUpdate.model_validate({"stage": "contacted"}), if_match=lead.version
        )
    _assert_equal(*uids)
    with triggers.running():
        assign_lead(caller=boss, lead_id=ids[1], body=AssignBody.model_validate({"assigneeId": south.uid}))
    _assert_equal(*uids)
    assert _both(south.uid)[0]["total"] == 1 and _both(manager.uid)[0]["total"] == 5
    with triggers.running():
        archive_lead(caller=boss, lead_id=ids[2], if_match=None)  # archived: counted nowhere
    _assert_equal(*uids)
    assert _both(admin.uid)[0]["total"] == 5
    with triggers.running():
        restore_lead(caller=boss, lead_id=ids[2])
    _assert_equal(*uids)
    assert _both(admin.uid)[0]["total"] == 6
    markers = tenancy.org_ref("org1").collection("leadTallyEvents")
    applied_before, marked_before = triggers.delivered["reportleads"], len(list(markers.stream()))
    with triggers.running():
        lead = service.get_lead(caller=boss, lead_id=ids[3])
        update_lead(
            caller=boss, lead_id=ids[3], data=LeadUpdate.model_validate({"name": "Renamed"}), if_match=lead.version
        )
    assert triggers.delivered["reportleads"] == applied_before + 1  # delivered, and it moved no count:
    assert len(list(markers.stream())) == marked_before  # nothing written
    _assert_equal(*uids)


def test_a_burst_from_many_threads_with_redeliveries_counts_each_event_once(db: Any) -> None:
    make_org()
    rng = random.Random(7)
    events = [
        (
            f"evt-{n}",
            {
                "stage": rng.choice(["new", "contacted"]),
                "source": rng.choice(["website", "referral"]),
                "teamId": "north",
                "assigneeId": rng.choice(["u1", "u2"]),
                "archived": False,
            },
        )
        for n in range(240)
    ]
    jobs = [*events, *(e for e in events if rng.random() < 0.34), *(e for e in events if rng.random() < 0.1)]
    rng.shuffle(jobs)
    applied: list[bool] = []
    lock = threading.Lock()

    def work(chunk: list[tuple[str, dict[str, Any]]]) -> None:
        for event_id, lead in chunk:
            done = tallies.apply("org1", event_id, None, lead)
            with lock:
                applied.append(done)

    threads = [threading.Thread(target=work, args=(jobs[i::12],)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(applied) == len(events) and len(applied) == len(jobs)
    stages, sources = ["new", "contacted"], ["website", "referral"]
    org = tallies.read("org1", tallies.ORG, stages, sources)
    assert org["total"] == 240
    assert org["byStage"] == {s: sum(1 for _, e in events if e["stage"] == s) for s in stages}
    assert org["bySource"] == {s: sum(1 for _, e in events if e["source"] == s) for s in sources}
    assert tallies.read("org1", ("member", "u1"), stages, sources)["total"] == sum(
        1 for _, e in events if e["assigneeId"] == "u1"
    )
    shards = {
        s.get("shard") for s in tenancy.org_ref("org1").collection("leadTallies").stream() if s.get("scope") == "org"
    }
    assert shards == set(range(tallies.SHARDS["org"]))  # the burst spread over every shard


def test_an_organization_made_before_the_tallies_counts_with_aggregations(db: Any) -> None:
    from google.cloud import firestore

    from leads.models import LeadCreate
    from leads.service import create_lead

    admin = make_org()
    tenancy.org_ref("org1").update({tallies.SINCE: firestore.DELETE_FIELD})
    tenancy.cache.clear()
    boss = member_caller("org1", admin.uid)
    create_lead(
        org_id="org1",
        actor=boss,
        data=LeadCreate.model_validate({"name": "B", "primaryPhone": {"number": "9800000001"}}),
    )
    served = service.stats(caller=member_caller("org1", admin.uid))
    assert served["total"] == 1 and served["aggregationQueries"] == 1 + 8 + 13
