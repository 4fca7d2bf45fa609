"""The large-organization generator (bench/bigorg.py): its apportioning maths and value encoding (unit), and a
small generated organization checked for consistency (service): counters equal the records, every lead
readable by its assignee, list pages of their size, the stored lead shaped as `POST /leads` shapes it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench import bigorg


@pytest.mark.unit
@given(
    total=st.integers(min_value=0, max_value=300_000),
    weights=st.lists(st.floats(min_value=0.001, max_value=1000), min_size=1, max_size=400),
)
def test_shares_split_the_total_exactly_and_in_proportion(total: int, weights: list[float]) -> None:
    parts = bigorg.shares(total, weights)
    assert sum(parts) == total
    assert all(part >= 0 for part in parts)
    whole = sum(weights)
    assert all(abs(part - total * w / whole) < 1 for part, w in zip(parts, weights, strict=True))


@pytest.mark.unit
def test_shares_refuse_nonsense_and_power_weights_fall() -> None:
    with pytest.raises(ValueError):
        bigorg.shares(-1, [1.0])
    with pytest.raises(ValueError):
        bigorg.shares(5, [])
    weights = bigorg.power_weights(280, bigorg.AGENT_SKEW)
    assert weights == sorted(weights, reverse=True) and weights[0] == 1.0
    per_agent = bigorg.shares(200_000, weights)
    assert per_agent[0] > 5_000 and per_agent[-1] > 100  # some agents with thousands, nobody without leads


@pytest.mark.unit
@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**62,
        1.5,
        "",
        "Priyā",
        b"\x00\xff",
        datetime(2026, 12, 1, 22, 5, 7, 123456, tzinfo=UTC),
        [],
        [1, "a", None, {"x": [True]}],
        ("t1", "t2"),
        {},
        {"countryCode": "+91", "number": "9000000001", "e164": "+919000000001", "masked": None},
        {"nested": {"at": datetime(2025, 1, 1, tzinfo=UTC), "list": [1.25, "x"]}},
    ],
)
def test_the_fast_writer_encodes_every_value_as_the_client_does(value: Any) -> None:
    from google.cloud.firestore_v1 import _helpers

    assert bigorg._value(value) == _helpers.encode_value(value)._pb


@pytest.mark.unit
def test_the_fast_writer_refuses_what_it_cannot_store() -> None:
    with pytest.raises(TypeError):
        bigorg._value(object())


# ---- a generated organization -------------------------------------------------------------------------------

ORG = "gen1"


@pytest.fixture
def generated(db: Any) -> bigorg.BigOrg:
    return bigorg.generate(ORG, leads=500, members=24, teams=4, seed=5)


def _stored(collection: Any) -> list[Any]:
    return list(collection.stream())


@pytest.mark.service
def test_counters_members_and_keys_equal_the_records(generated: bigorg.BigOrg) -> None:
    from core import tenancy
    from leads import store
    from routing import eligibility

    org = tenancy.org_ref(ORG)
    leads = {s.id: s.to_dict() for s in _stored(store.collection(ORG))}
    assert len(leads) == 500 == generated.leads
    live = {i: d for i, d in leads.items() if not d["archived"]}
    assert len(leads) - len(live) == generated.archived
    expected_open = Counter(d["assigneeId"] for d in live.values() if eligibility.is_open(d["stage"], archived=False))
    stored_open = {s.id: s.get("n") for s in _stored(org.collection("openLeads"))}
    assert stored_open == dict(expected_open)
    members = _stored(org.collection("members"))
    assert len(members) == 24 + 1 and (org.get().to_dict() or {})["activeMembers"] == 25
    assert Counter(d["assigneeId"] for d in live.values()) == generated.leads_of
    assert Counter(d["teamId"] for d in live.values()) == generated.team_leads
    keys = {s.get("leadId") for s in _stored(org.collection("leadKeys"))}
    assert keys == set(live)  # one phone each: a key per unarchived lead, none for the archived
    for lead_id in list(live)[:20]:
        found = store.find_by_phone(ORG, "+91" + generated.phone_of(lead_id))
        assert found is not None and found.id == lead_id
        contact = store.read_contact(ORG, lead_id)
        assert contact is not None and contact.primary is not None
    team_sizes = Counter(d.get("teamId") for d in (s.to_dict() for s in members) if d.get("role") == "agent")
    assert max(team_sizes.values()) > min(team_sizes.values())  # skewed teams
    calls = _stored(org.collection("calls"))
    assert len(calls) == generated.documents["calls"] and all(c.get("leadId") in leads for c in calls)


@pytest.mark.service
def test_every_lead_is_readable_by_its_assignee_and_pages_have_their_size(generated: bigorg.BigOrg) -> None:
    from leads import service, store
    from leads.models import LeadListQuery
    from leads.seed import member_caller

    for lead_id in generated.lead_ids:
        lead = store.get(ORG, lead_id)
        assert lead is not None
        if lead.archived:
            continue
        assert lead.assignee_id is not None
        assert service.get_lead(caller=member_caller(ORG, lead.assignee_id), lead_id=lead_id).id == lead_id
    for uid in (generated.top_agent, generated.managers[generated.biggest_team], generated.admin_uid):
        caller = member_caller(ORG, uid)
        seen, cursor, pages = 0, None, 0
        while True:
            items, cursor = service.list_leads(
                caller=caller, query=LeadListQuery.model_validate({"limit": 20, "cursor": cursor})
            )
            pages += 1
            assert len(items) == 20 or cursor is None
            seen += len(items)
            if cursor is None:
                break
        visible = (
            generated.leads_of[uid]
            if uid == generated.top_agent
            else generated.team_leads[generated.biggest_team]
            if uid != generated.admin_uid
            else generated.leads - generated.archived
        )
        assert seen == visible and pages >= 2


@pytest.mark.service
def test_a_generated_lead_has_every_field_a_created_one_has_and_its_history(generated: bigorg.BigOrg) -> None:
    from leads import service, store
    from leads.models import LeadCreate
    from leads.seed import member_caller

    agent = member_caller(ORG, generated.top_agent)
    made = service.create_lead(
        org_id=ORG,
        actor=agent,
        data=LeadCreate.model_validate({"name": "Made Here", "primaryPhone": {"number": "9811111111"}}),
    )
    created_fields = set(store.ref(ORG, made.id).get().to_dict() or {})
    sample = generated.sample_of[generated.top_agent]
    generated_fields = set(store.ref(ORG, sample).get().to_dict() or {})
    assert created_fields - generated_fields == set()
    contact_fields = set(store.private_ref(ORG, made.id).get().to_dict() or {})
    assert contact_fields == set(store.private_ref(ORG, sample).get().to_dict() or {})
    history = [s.to_dict() for s in store.child(ORG, sample, "activity").stream()]
    assert any(entry["type"] == "created" for entry in history)
    busy = generated.busy_leads[0]
    assert len(list(store.child(ORG, busy, "activity").stream())) > bigorg.BUSY_ACTIVITY


def _figure(reads: int, bound: int) -> dict[str, Any]:
    latency = {"p50": 10.0, "p95": 12.0, "mean": 10.5, "n": 3}
    return {
        "latencyMs": latency,
        "rawLatencyMs": latency,
        "p50Ratio": 1.0,
        "p95Ratio": 1.0,
        "reads": reads,
        "rawReads": bound,
        "readBound": bound,
        "withinBound": reads <= bound,
        "items": 50,
    }


@pytest.mark.unit
@pytest.mark.parametrize(
    ("reads", "early", "end", "verdicts"),
    [
        (52, 120.0, 125.0, ["ok", "ok"]),
        (53, 120.0, 125.0, ["READS>PAGE", "ok"]),
        (52, 120.0, 120.0 + 33, ["ok", "GROWS"]),
    ],
)
def test_the_scale_table_flags_a_page_read_beyond_its_bound_and_a_growing_export(
    reads: int, early: float, end: float, verdicts: list[str]
) -> None:
    from bench import scale_bench

    results = {
        "generate": {"leads": 1000},
        "cases": {"admin: list first page": _figure(reads, 52), "admin: stats": {"error": "DeadlineExceeded: 504"}},
        "export": {
            "rows": 980,
            "firstByteMs": 30.0,
            "readsBeforeFirstByte": 2,
            "rowsPerSecond": 500,
            "rssMiBAtStart": 110.0,
            "earlyRows": 196,
            "peakRssMiBEarly": early,
            "peakRssMiBAtEnd": end,
            "rawRowsPerSecond": 520,
            "ratio": 1.04,
        },
    }
    rows = scale_bench.rows(results)
    assert [rows[0][-1], rows[-1][-1]] == verdicts
    assert rows[1][-1] == "FAILED" and "DeadlineExceeded" in rows[1][2]


@pytest.mark.service
def test_the_stats_tallies_written_equal_the_aggregations_over_the_leads(generated: bigorg.BigOrg) -> None:
    from leads import service
    from leads.seed import member_caller

    for uid in (generated.top_agent, generated.managers[generated.biggest_team], generated.admin_uid):
        caller = member_caller(ORG, uid)
        tallied = service.stats(caller=caller)
        counted = service._aggregated(caller, list(caller.settings.stages), list(caller.settings.sources))
        assert tallied["aggregationQueries"] == 0 and counted["aggregationQueries"] > 0
        assert {k: tallied[k] for k in ("total", "byStage", "bySource")} == {
            k: counted[k] for k in ("total", "byStage", "bySource")
        }
    assert (
        service.stats(caller=member_caller(ORG, generated.admin_uid))["total"] == generated.leads - generated.archived
    )
