"""POST /leads, PATCH /leads/{id} and PATCH /members/{uid} at their minimum Firestore operations (issue 18), each
read named:
a cold instance (the member/org cache expired) and a warm one, through the real handlers. A read added to
either path, or a document read twice where once does, fails here; the checks those reads make stay
proven by the feature tests and by the seat and masking cases below."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bench import opcount
from core import tenancy
from devtools.inproc import Response, call
from tests.support.factory import add_person
from tests.support.leads import Team, create, leads_of, make_team

pytestmark = pytest.mark.http

_numbers = iter(range(22_000, 23_000))


def kind(path: str, team: Team) -> str:
    """A read document's path as a label: whose member record, or what kind of document."""
    people = {person.uid: name for name, person in vars(team).items()}
    if match := re.fullmatch(r"orgs/[^/]+/members/([^/]+)", path):
        return f"member:{people.get(match.group(1), match.group(1))}"
    if re.fullmatch(r"orgs/[^/]+", path):
        return "org"
    if match := re.fullmatch(r"orgs/[^/]+/(leadKeys|auditHead|config|teams)/.+", path):
        return match.group(1)
    if re.fullmatch(r"orgs/[^/]+/leads/[^/]+", path):
        return "lead"
    return path


@dataclass(frozen=True)
class Case:
    """One request, the documents its reads must be (by kind, with how often), and its writes."""

    name: str
    request: Callable[[Team], Response]
    status: int
    cold: dict[str, int]
    warm: dict[str, int]
    writes: int
    prepare: Callable[[Team], None] = lambda team: None  # what the request needs first, not counted


def _new_lead(team: Team) -> Response:
    return create(team.agent1, f"98450 {next(_numbers):05d}", name="Minimum Reads")


_tagged: dict[str, str] = {}  # agent's uid -> the lead it tags, made by _lead_to_tag before the count


def _lead_to_tag(team: Team) -> None:
    created = _new_lead(team)
    assert created.status == 201, created.body
    _tagged[team.agent1.uid] = created.body["id"]


def _tag(team: Team) -> Response:
    lead_id = _tagged[team.agent1.uid]
    return call("PATCH", f"/leads/{lead_id}", token=team.agent1.token(), json_body={"tags": ["hot"]})


def _rename(team: Team) -> Response:
    return call("PATCH", f"/members/{team.agent2.uid}", token=team.admin.token(), json_body={"name": "Bina R"})


CASES = [
    Case(
        "POST /leads (an agent's own lead)",
        _new_lead,
        201,
        # The caller's member and org (authentication; the org's masking flag is that same read), the phone key,
        # the assignee re-read in the transaction (active at commit). No routing settings: no deadline to set.
        cold={"member:agent1": 2, "org": 1, "leadKeys": 1},
        # The masking flag read fresh (never the instance's cached copy), the key, the assignee.
        warm={"member:agent1": 1, "org": 1, "leadKeys": 1},
        writes=4,  # lead, private contact, phone key, the assignee's open-lead count
    ),
    Case(
        "PATCH /leads/{id} (an agent tags its lead)",
        _tag,
        200,
        # The caller's member and org (authentication; the masking flag is that same read, taken before the
        # transaction as a create's), the lead in the transaction. The organization's document is not locked.
        cold={"member:agent1": 1, "org": 1, "lead": 1},
        warm={"org": 1, "lead": 1},  # the masking flag read fresh, never the instance's cached copy
        writes=1,  # the lead (its open-lead count moves only when the stage opens or closes it)
        prepare=_lead_to_tag,
    ),
    Case(
        "PATCH /members/{uid} (a name)",
        _rename,
        200,
        # The caller (member, org: a fresh route, re-read on a warm instance too), the member changed and the
        # audit head, in the transaction. The org is not read again there: no seat changes hands.
        cold={"member:admin": 1, "org": 1, "member:agent2": 1, "auditHead": 1},
        warm={"member:admin": 1, "org": 1, "member:agent2": 1, "auditHead": 1},
        writes=3,  # the member, the audit entry, the audit head
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@pytest.mark.parametrize("instance", ["cold", "warm"])
def test_each_read_is_one_the_endpoint_needs(db: Any, case: Case, instance: str) -> None:
    team = make_team()
    case.prepare(team)
    assert case.request(team).status == case.status  # the instance has served this route once
    if instance == "cold":
        tenancy.cache.clear()
    with opcount.counting() as ops:
        response = case.request(team)
    assert response.status == case.status, response.body
    reads = Counter({kind(path, team): n for path, n in ops.read_paths.items()})
    assert dict(reads) == (case.cold if instance == "cold" else case.warm)
    assert ops.reads == sum(reads.values()) and ops.writes == case.writes


def test_a_seat_change_still_reads_and_moves_the_organizations_count(db: Any, auth_emulator: str) -> None:
    team = make_team()
    org = tenancy.org_ref("org1")
    before = int(org.get().get("activeMembers"))
    patch = {"uid": team.agent2.uid, "token": team.admin.token()}
    off = call("PATCH", f"/members/{patch['uid']}", token=patch["token"], json_body={"active": False})
    assert off.status == 200 and int(org.get().get("activeMembers")) == before - 1
    same = call("PATCH", f"/members/{patch['uid']}", token=patch["token"], json_body={"active": False, "name": "B"})
    assert same.status == 200 and int(org.get().get("activeMembers")) == before - 1  # no seat moved twice
    org.update({"seats": before - 1})
    full = call("PATCH", f"/members/{patch['uid']}", token=patch["token"], json_body={"active": True})
    assert full.status == 409 and full.error["code"] == "FAILED_PRECONDITION"
    assert tenancy.member_ref("org1", patch["uid"]).get().get("active") is False


def test_a_warm_instance_masks_a_new_lead_when_masking_was_turned_on_behind_its_cache(db: Any) -> None:
    team = make_team()
    assert _new_lead(team).status == 201  # the instance now holds the organization: masking off
    tenancy.org_ref("org1").update({"settings.phoneMasking": True})  # its cache is not told
    response = create(team.agent1, "98450 23999", name="Behind The Cache")
    assert response.status == 201
    stored = next(lead for lead in leads_of() if lead["id"] == response.body["id"])
    assert stored["primaryPhone"]["e164"] is None and "X" in stored["primaryPhone"]["number"]


def test_a_warm_instance_masks_an_updated_lead_when_masking_was_turned_on_behind_its_cache(db: Any) -> None:
    """PATCH /leads reads the flag before its transaction, fresh: a lead still holding raw numbers (the
    rewrite of every lead has not reached it) is masked by the first update after the flip."""
    team = make_team()
    created = _new_lead(team)  # the instance now holds the organization: masking off
    assert created.status == 201 and created.body["primaryPhone"]["e164"]
    tenancy.org_ref("org1").update({"settings.phoneMasking": True})  # its cache is not told
    response = call("PATCH", f"/leads/{created.body['id']}", token=team.agent1.token(), json_body={"tags": ["hot"]})
    assert response.status == 200 and response.body["primaryPhone"]["e164"] is None
    stored = next(lead for lead in leads_of() if lead["id"] == created.body["id"])
    assert stored["primaryPhone"]["e164"] is None and "X" in stored["primaryPhone"]["number"]


def test_an_agent_deactivated_behind_its_instances_cache_gets_no_lead_of_its_own(db: Any) -> None:
    make_team()
    agent = add_person("org1", "agent", "north")
    assert call("GET", "/members/me", token=agent.token()).status == 200  # cached as active on this instance
    tenancy.member_ref("org1", agent.uid).update({"active": False})
    refused = create(agent, "98450 23998", name="For Someone Gone")
    assert refused.status == 400 and "assigneeId" in refused.error["fields"]
    assert [lead for lead in leads_of() if lead["name"] == "For Someone Gone"] == []
