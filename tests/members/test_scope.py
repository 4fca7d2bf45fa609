"""Other members' data stays within reach, on every route that reads, and adding an email tells nothing about
other organizations.

Reach (API.md): an admin sees every member, a manager its own team's, everyone itself; a manager without a
team manages nobody. The scan calls every GET route of every deployed function (found from the routers, so a
new route is scanned without a new line here) as each limited caller, with every member's uid and the seeded
resources' ids in its path parameters, and fails where a reply carries the email of a member out of reach.
"""

from __future__ import annotations

import importlib
import re
from itertools import product
from typing import Any

import pytest

from core import clients, tenancy
from devtools.inproc import call
from tests.support.factory import Person, add_person, make_org
from tests.support.outbox import messages_to

pytestmark = pytest.mark.http

ORG = "org1"


def _get_routes() -> list[tuple[str, str]]:
    """(function, path) of every authenticated GET route of the deployed functions."""
    from registry import FUNCTIONS

    found = []
    for function, module in sorted(FUNCTIONS.items()):
        router = getattr(importlib.import_module(module), "router", None)
        for route in getattr(router, "routes", []):
            if route.method == "GET" and not route.public:
                found.append((function, route.path))
    return found


def _people() -> dict[str, Person]:
    admin = make_org(ORG)
    people = {
        "admin": admin,
        "manager": add_person(ORG, "manager", "north"),
        "teamless_manager": add_person(ORG, "manager", None),
        "south_manager": add_person(ORG, "manager", "south"),
        "agent": add_person(ORG, "agent", "north"),
        "peer": add_person(ORG, "agent", "north"),
        "south": add_person(ORG, "agent", "south"),
        "teamless": add_person(ORG, "agent", None),
        "rm": add_person(ORG, "rm", "north"),
    }
    tenancy.cache.clear()
    return people


def _reach(caller: Person, people: dict[str, Person]) -> set[str]:
    """The emails a caller may see."""
    if caller.role == "admin":
        return {p.email for p in people.values()}
    if caller.role == "manager" and caller.team_id is not None:
        return {p.email for p in people.values() if p.team_id == caller.team_id}
    return {caller.email}


def _ids(people: dict[str, Person]) -> list[str]:
    admin, agent = people["admin"], people["agent"]
    lead = call(
        "POST",
        "/leads",
        token=admin.token(),
        json_body={"name": "Buyer", "primaryPhone": {"number": "9876500001"}, "assigneeId": agent.uid},
    )
    task = call(
        "POST",
        "/tasks",
        token=admin.token(),
        json_body={"title": "Call", "dueAt": "2030-01-01T10:00:00Z", "assigneeId": agent.uid},
    )
    assert lead.status == task.status == 201
    return [str(lead.body["id"]), str(task.body["id"])]


def _urls(function: str, path: str, uids: list[str], ids: list[str]) -> list[str]:
    params = re.findall(r"\{(\w+)\}", path)
    values = [uids if name == "uid" else ids + uids[:1] for name in params]
    urls = []
    for combination in product(*values):
        filled = path
        for name, value in zip(params, combination, strict=True):
            filled = filled.replace(f"{{{name}}}", value)
        urls.append(f"/{function}{filled}".rstrip("/") or f"/{function}")
    if function == "members" and path == "/":
        urls += [f"/members?teamId={team}" for team in ("north", "south")] + ["/members?role=agent"]
    return urls


LIMITED = ("manager", "teamless_manager", "south_manager", "agent", "rm")


def test_no_reply_of_any_get_route_shows_a_member_out_of_the_callers_reach(db: Any, auth_emulator: str) -> None:
    people = _people()
    ids = _ids(people)
    uids = [p.uid for p in people.values()]
    routes = _get_routes()
    assert ("members", "/") in routes and ("members", "/{uid}") in routes  # the discovery worked
    leaks: dict[str, list[str]] = {}
    for key in LIMITED:
        caller = people[key]
        hidden = {p.email for p in people.values()} - _reach(caller, people)
        for function, path in routes:
            for url in _urls(function, path, uids, ids):
                reply = call("GET", url, token=caller.token())
                assert reply.status < 500, f"{url} as {key}: {reply.status} {reply.text[:200]}"
                shown = sorted(email for email in hidden if email in reply.text)
                if shown:
                    leaks.setdefault(f"{key} GET {url}", shown)
    assert leaks == {}
    # Control: the scan sees emails where they are allowed.
    listed = call("GET", "/members", token=people["admin"].token())
    assert all(p.email in listed.text for p in people.values())
    team = call("GET", "/members", token=people["manager"].token())
    assert people["agent"].email in team.text and people["south"].email not in team.text


def test_a_manager_without_a_team_lists_and_reads_no_other_member(db: Any) -> None:
    people = _people()
    token = people["teamless_manager"].token()
    listed = call("GET", "/members", token=token)
    assert listed.status == 403 and "team" in listed.error["message"]
    for key in ("admin", "teamless", "agent"):
        assert call("GET", f"/members/{people[key].uid}", token=token).status == 403
    assert call("GET", f"/members/{people['teamless_manager'].uid}", token=token).status == 200


def _added(admin: Person, email: str) -> Any:
    return call("POST", "/members", token=admin.token(), json_body={"email": email, "name": "New", "role": "agent"})


def _shape(response: Any) -> tuple[Any, ...]:
    body = response.body if isinstance(response.body, dict) else {}
    varying = {"uid", "email", "createdAt", "updatedAt"}
    return response.status, sorted(body), {k: v for k, v in body.items() if k not in varying}


def test_adding_an_email_another_organization_holds_answers_as_a_fresh_one(db: Any, auth_emulator: str) -> None:
    """The admin of org1 cannot tell an address of org2 from an unused one: same statuses, same bodies, same
    list; the second add is 409 in both cases (its own member now). org2 keeps its login; the mailbox's owner
    is told why the new membership cannot sign in."""
    admin = make_org(ORG)
    make_org("org2")
    held = add_person("org2", "agent", "north")
    fresh = "unused.address@elsewhere.example.com"
    before = clients.db().collection("memberEmails").document(_email_key(held.email)).get().to_dict()

    answers = {email: [_shape(_added(admin, email)), _shape(_added(admin, email))] for email in (held.email, fresh)}
    assert answers[held.email] == answers[fresh]
    assert [status for status, _, _ in answers[fresh]] == [201, 409]

    listed = call("GET", "/members", token=admin.token()).body["items"]
    assert {held.email, fresh} <= {m["email"] for m in listed}
    after = clients.db().collection("memberEmails").document(_email_key(held.email)).get().to_dict()
    assert after == before == {"orgId": "org2", "uid": held.uid}
    assert call("GET", "/members/me", token=held.token()).status == 200  # org2's member is untouched
    told = [m for m in messages_to(held.email) if "cannot sign in" in m["text"]]
    assert len(told) == 1 and "org2" not in told[0]["text"] and "org1 Realty" in told[0]["text"]
    assert messages_to(fresh) == []
    audit = [s.to_dict() for s in tenancy.org_ref(ORG).collection("audit").stream()]
    added = [e for e in audit if e["action"] == "member.added" and e["targetId"] != admin.uid]
    assert len(added) == 2 and added[0]["details"] == added[1]["details"]


def _email_key(email: str) -> str:
    from auth.service import email_key

    return email_key(email)


def test_a_platform_command_is_told_that_another_organization_holds_the_email(db: Any) -> None:
    """The operator (actor None: ops commands, the seed) may know, and must not make an admin who cannot sign in."""
    from core.errors import ApiError
    from members.models import MemberCreate
    from members.service import add_member

    make_org(ORG)
    make_org("org2")
    held = add_person("org2", "agent", "north")
    with pytest.raises(ApiError) as raised:
        add_member(org_id=ORG, actor=None, data=MemberCreate(email=held.email, name="X", role="admin", team_id=None))
    assert raised.value.status == 409 and raised.value.fields == {"email": "used elsewhere"}
    assert [m.get("email") for m in tenancy.org_ref(ORG).collection("members").stream()].count(held.email) == 0
