"""Every figure of every report equals a brute-force recount from the records, on a generated organization whose
events went through the report triggers' code, a share of them delivered twice (bench/reports_data.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bench import reports_data
from bench.reports_data import Filter, Records, Truth
from core import clock
from reports import counters, service
from reports.models import ReportQuery, SourcesQuery
from tests.support.callers import make_caller
from tests.support.factory import make_org

pytestmark = pytest.mark.service

ORG = "rep"
END = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)  # Monday 12:00 in Asia/Kolkata
TODAY = date(2026, 11, 30)
PERIODS = {
    "last 7 days": (TODAY - timedelta(days=6), TODAY),
    "everything": (TODAY - timedelta(days=50), TODAY),
    "one day": (TODAY - timedelta(days=9), TODAY - timedelta(days=9)),
}


@pytest.fixture(scope="module")
def generated(firestore_emulator: str) -> Iterator[tuple[reports_data.World, Records, dict[str, int]]]:
    """The organization, stored and counted once for the module (the replay is the slow part)."""
    from core import tenancy
    from devtools import emulators

    emulators.clear_firestore(firestore_emulator, "demo-justo")
    tenancy.cache.clear()
    previous = clock.install(clock.FixedClock(END))
    try:
        make_org(ORG, teams=())
        world = reports_data.generate(ORG, 300, days=42, end=END)
        reports_data.write_setup(world)
        reports_data.write_records(world)
        # A sixth of the leads (and their calls, messages, visits) through the triggers' code with redeliveries,
        # the rest counted in bulk by the same counting code (the replay is what takes time).
        triggered = {lead_id for index, lead_id in enumerate(sorted(world.leads)) if index % 6 == 0}
        reports_data.write_counters_in_bulk(world, leads=set(world.leads) - triggered)
        events = sum(1 for _ in reports_data.events(world, redeliver=0.2, leads=triggered))
        applied = reports_data.replay(world, redeliver=0.2, leads=triggered)
        writes = sum(1 for _ in reports_data.events(world, leads=triggered))
        yield world, Records.read(ORG), {"events": events, "writes": writes, "applied": sum(applied.values())}
    finally:
        clock.install(previous)


def _callers(world: reports_data.World) -> list[tuple[str, Any, dict[str, str], Filter]]:
    """(case, caller, query filters, the brute force's filter) across roles and filters."""
    north_agent = sorted(a for a, t in world.agents.items() if t == "north")[0]
    south_agent = sorted(a for a, t in world.agents.items() if t == "south")[0]
    north_manager = f"{ORG}-north-m"
    admin = make_caller("admin", uid=f"{ORG}-admin", team_id=None, org_id=ORG)
    manager = make_caller("manager", uid=north_manager, team_id="north", org_id=ORG)
    agent = make_caller("agent", uid=north_agent, team_id="north", org_id=ORG)
    return [
        ("admin, everything", admin, {}, Filter()),
        ("admin, team south", admin, {"teamId": "south"}, Filter(team="south")),
        ("admin, one agent", admin, {"assigneeId": south_agent}, Filter(member=south_agent)),
        ("admin, project", admin, {"projectId": "p-bay"}, Filter(project="p-bay")),
        ("manager, its team", manager, {}, Filter(team="north")),
        ("manager, its agent", manager, {"assigneeId": north_agent}, Filter("north", north_agent)),
        ("agent, itself", agent, {}, Filter(member=north_agent)),
        ("agent, itself by source", agent, {"sourceId": "src-meta"}, Filter(member=north_agent, source_id="src-meta")),
        ("admin, team and project", admin, {"teamId": "east", "projectId": "p-hills"}, Filter("east", None, "p-hills")),
    ]


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in {"asOf", "from", "to"}}


def test_every_figure_of_every_report_equals_the_brute_force_recount(
    generated: tuple[reports_data.World, Records, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    world, records, events = generated
    assert events["events"] > len(world.leads) // 6 * 3, "the triggered leads have too little history"
    names = service.member_names(ORG)
    stages = reports_data.STAGES
    read_once: dict[tuple[str, str], Any] = {}
    real_read = counters.read

    def read(org_id: str, first: str, last: str) -> Any:  # each period's counters read once for all cases
        return read_once.setdefault((first, last), real_read(org_id, first, last))

    monkeypatch.setattr(counters, "read", read)
    compared = 0
    nontrivial: set[str] = set()
    for period, (first, last) in PERIODS.items():
        for case, caller, filters, where in _callers(world):
            label = f"{period}, {case}"
            params = {"from": first.isoformat(), "to": last.isoformat(), **filters}
            query = ReportQuery.model_validate(params)
            truth = Truth(records, world.zone, first, last, where)
            funnel = _figures(service.funnel(caller=caller, query=query))
            assert funnel == {"stages": truth.funnel(stages)}, label
            for by in ("source", "sourceId"):
                answer = service.sources(
                    caller=caller,
                    query=SourcesQuery.model_validate({**params, "by": by}),
                    by_source_id=by == "sourceId",
                )
                assert _figures(answer) == {"rows": truth.sources(by_source_id=by == "sourceId")}, f"{label} by {by}"
            agents = _figures(service.agents(caller=caller, query=query))
            assert agents == {"rows": truth.agents(names)}, label
            visits = _figures(service.visits(caller=caller, query=query))
            assert visits == truth.visits(), label
            compared += 5
            if any(s["convertedToNext"] and s["medianDaysInStage"] for s in funnel["stages"]):
                nontrivial.add("funnel")
            if any(r["medianFirstContactSeconds"] and r["enquiredAgain"] for r in answer["rows"]):
                nontrivial.add("sources")
            if any(r["calls"] and r["messagesSent"] and r["slaMetPct"] not in (None, 100.0) for r in agents["rows"]):
                nontrivial.add("agents")
            if visits["checkinsWithinRadiusPct"] and visits["cancelled"]:
                nontrivial.add("visits")
    assert compared == len(PERIODS) * len(_callers(world)) * 5
    assert nontrivial == {"funnel", "sources", "agents", "visits"}, "some report was only ever compared empty"


def test_a_redelivered_event_counts_nothing_twice(
    generated: tuple[reports_data.World, Records, dict[str, int]],
) -> None:
    world, _, events = generated
    assert events["events"] > events["writes"], "no event was delivered twice"
    kind, record_id, event_id, before, after = next(reports_data.events(world))
    assert record_id == sorted(world.leads)[0]  # one of the leads counted through the triggers' code
    assert kind == "leads"
    from reports import events as report_events

    first, last = PERIODS["everything"]
    counted = counters.read(ORG, first.isoformat(), last.isoformat())
    assert report_events.on_lead(org_id=ORG, event_id=event_id, before=before, after=after) is False
    assert counters.read(ORG, first.isoformat(), last.isoformat()) == counted


def test_an_event_delivered_four_times_at_once_counts_once(
    generated: tuple[reports_data.World, Records, dict[str, int]],
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from reports import events as report_events

    world, _, _ = generated
    lead = {**world.final("leads")[sorted(world.leads)[1]], "source": "walk-in", "sourceId": None}
    day = lead["createdAt"].astimezone(world.zone).date().isoformat()

    def walk_ins() -> int:
        return sum(
            c.get("leads", 0) for (_, dims), c in counters.read(ORG, day, day).items() if dims.source == "walk-in"
        )

    before = walk_ins()
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(
            pool.map(
                lambda _: report_events.on_lead(org_id=ORG, event_id="ev-at-once", before=None, after=lead), range(4)
            )
        )
    assert sorted(done) == [False, False, False, True]
    assert walk_ins() == before + 1
    # its purge puts the counters back to the records' (the module's comparison may run after this test)
    assert report_events.on_lead(org_id=ORG, event_id="ev-at-once-purged", before=lead, after=None)
    assert walk_ins() == before
