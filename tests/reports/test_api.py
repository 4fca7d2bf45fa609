"""GET /reports/* through the real handlers: reads bounded by days and shards whatever the leads, CSV, the 400s
naming the field, and each role's scope."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bench import opcount, reports_data
from devtools.inproc import call
from reports import counters
from reports.figures import COLUMNS
from tests.support.factory import Person, add_person, make_org

pytestmark = pytest.mark.http

ORG = "rep"
END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
LAST = END.astimezone(ZoneInfo("Asia/Kolkata")).date()
FIRST = LAST - timedelta(days=13)
PERIOD = f"from={FIRST.isoformat()}&to={LAST.isoformat()}"
REPORTS = ("funnel", "sources", "agents", "visits")


def _org(leads: int, *, prefix: str, seed: int) -> reports_data.World:
    world = reports_data.generate(ORG, leads, days=14, end=END, seed=seed, prefix=prefix)
    reports_data.write_setup(world)
    reports_data.write_records(world)
    reports_data.write_counters_in_bulk(world)
    return world


def _get(person: Person, path: str) -> Any:
    return call("GET", path, token=person.token())


def _reads(person: Person) -> dict[str, int]:
    out = {}
    for report in REPORTS:
        _get(person, f"/reports/{report}?{PERIOD}")  # a warm instance: the caller's member and org are cached
        with opcount.counting() as ops:
            response = _get(person, f"/reports/{report}?{PERIOD}&projectId=p-bay")
        assert response.status == 200, response.body
        out[report] = ops.reads
    return out


def test_a_report_reads_the_same_documents_when_the_leads_double(db: Any) -> None:
    admin = make_org(ORG, teams=())
    _org(40, prefix="a", seed=5)
    before = _reads(admin)
    first = _get(admin, f"/reports/sources?{PERIOD}").body
    _org(40, prefix="b", seed=6)
    after = _reads(admin)
    second = _get(admin, f"/reports/sources?{PERIOD}").body
    leads = len(list(db.collection(f"orgs/{ORG}/leads").select([]).stream()))
    assert leads == 80
    assert sum(r["leads"] for r in second["rows"]) > sum(r["leads"] for r in first["rows"]) > 0
    assert after == before, "a report's reads grew with the leads"
    # the days' counter documents (bulk-written to one shard here), the project filter's check, the members
    # list for the agents report (bounded by seats)
    members = len(list(db.collection(f"orgs/{ORG}/members").select([]).stream()))
    for report, reads in after.items():
        assert reads <= 14 * counters.SHARDS + 1 + (members if report == "agents" else 0), report


def test_format_csv_is_a_header_row_then_the_rows_of_the_json_answer(db: Any) -> None:
    admin = make_org(ORG, teams=())
    _org(40, prefix="a", seed=7)
    for report, key in (("funnel", "stages"), ("sources", "rows"), ("agents", "rows"), ("visits", None)):
        answer = _get(admin, f"/reports/{report}?{PERIOD}").body
        response = _get(admin, f"/reports/{report}?{PERIOD}&format=csv")
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.text)))
        assert tuple(rows[0]) == COLUMNS[report]
        expected = answer[key] if key else [answer]
        assert len(rows) == 1 + len(expected) and len(expected) > 0
        first = dict(zip(rows[0], rows[1], strict=True))
        assert all(first[c] == ("" if expected[0][c] is None else str(expected[0][c])) for c in rows[0]), report


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-11-10&to=2026-11-01", "from"),
        ("from=2025-01-01&to=2026-01-02", "to"),
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
        ("format=xml", "format"),
        ("by=campaign", "by"),
    ],
)
def test_a_bad_period_or_format_is_a_400_naming_the_field(db: Any, query: str, field: str) -> None:
    admin = make_org(ORG, teams=())
    report = "sources" if field == "by" else "funnel"
    response = _get(admin, f"/reports/{report}?{query}")
    assert response.status == 400, response.body
    assert field in response.error.get("fields", {}), response.body


def test_each_role_sees_its_own_scope_and_no_further(db: Any) -> None:
    admin = make_org(ORG, teams=("north", "south"))
    manager = add_person(ORG, "manager", "north")
    agent = add_person(ORG, "agent", "north")
    other = add_person(ORG, "agent", "south")
    world = reports_data.generate(ORG, 30, days=14, end=END, seed=9)
    world.calls, world.messages, world.visits = {}, {}, {}
    for index, states in enumerate(world.leads.values()):  # half the leads each of two real members
        owner, team = (agent.uid, "north") if index % 2 else (other.uid, "south")
        for state in states:
            state["assigneeId"], state["teamId"] = owner, team
            state["assignmentHistory"] = [{**e, "assigneeId": owner} for e in state["assignmentHistory"]]
    reports_data.write_records(world)
    reports_data.write_counters_in_bulk(world)
    rows = {p.uid: _get(p, f"/reports/agents?{PERIOD}").body["rows"] for p in (admin, manager, agent)}
    assert {r["uid"] for r in rows[admin.uid]} == {agent.uid, other.uid}
    assert {r["uid"] for r in rows[manager.uid]} == {agent.uid}
    assert {r["uid"] for r in rows[agent.uid]} == {agent.uid}
    assert _get(agent, f"/reports/agents?{PERIOD}&assigneeId={other.uid}").status == 403
    assert _get(manager, f"/reports/funnel?{PERIOD}&teamId=south").status == 403
    assert _get(agent, f"/reports/funnel?{PERIOD}&teamId=north").status == 200
    assert _get(admin, f"/reports/funnel?{PERIOD}&teamId=nowhere").status == 404


def test_a_stage_move_through_the_api_is_in_the_lead_history_and_the_funnel(db: Any) -> None:
    from tests.support.leads import create, make_team
    from tests.support.triggers import Triggers

    team = make_team(ORG)
    triggers = Triggers()
    with triggers.running():
        lead = create(team.agent1).body
        moved = call(
            "PATCH",
            f"/leads/{lead['id']}",
            token=team.agent1.token(),
            json_body={"stage": "contacted"},
            headers={"If-Match": str(lead["version"])},
        )
    assert moved.status == 200, moved.body
    stored = db.document(f"orgs/{ORG}/leads/{lead['id']}").get().to_dict()
    assert [e["stage"] for e in stored["stageHistory"]] == ["new", "contacted"]
    assert triggers.delivered["reportleads"] >= 1  # the harness delivers a block's writes of a document as one event
    today = datetime.now(ZoneInfo("Asia/Kolkata")).date().isoformat()
    funnel = _get(team.manager, f"/reports/funnel?from={today}&to={today}").body["stages"]
    new, contacted = funnel[0], funnel[1]
    assert (new["entered"], new["convertedToNext"], contacted["entered"]) == (1, 1, 1)
    agents = _get(team.agent1, f"/reports/agents?from={today}&to={today}").body["rows"]
    assert [(r["uid"], r["leadsAssigned"], r["slaMetPct"]) for r in agents] == [(team.agent1.uid, 1, 100.0)]
