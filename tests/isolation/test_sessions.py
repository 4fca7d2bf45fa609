"""Session freshness on sensitive routes (member admin, settings, export, erasure, audit): a member whose role,
team or active flag changed is refused at once with its old token on every such route, even by an instance
that still caches the member as it was. (Other routes refuse it within MEMBER_CACHE_SECONDS:
tests/members/test_api.py.)"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from core import tenancy
from devtools.inproc import call
from tests.support.factory import Person, add_person, make_org

pytestmark = pytest.mark.http


@dataclass(frozen=True)
class Sensitive:
    """A route that must re-read the member on every call, and a request an admin may make.

    Templates: {other} the second admin, {agent} an agent, {lead} a lead of the organization.
    """

    method: str
    path: str
    body: dict[str, Any] | None = None
    control: bool = True  # False where success needs more than Firestore (the reason is beside the line)

    @property
    def name(self) -> str:
        """METHOD /path."""
        return f"{self.method} {self.path}"


SENSITIVE = [
    Sensitive("POST", "/members", {"email": "new@org1.example.com", "name": "New", "role": "agent"}),
    Sensitive("PATCH", "/members/{other}", {"name": "Renamed"}),
    Sensitive("PATCH", "/org/settings", {"timeZone": "UTC"}),
    Sensitive("POST", "/org/teams", {"id": "west", "name": "West"}),
    Sensitive("PATCH", "/org/teams/north", {"name": "Renamed"}),
    Sensitive("GET", "/audit"),
    Sensitive("GET", "/privacy/leads/{lead}/export"),
    Sensitive("DELETE", "/privacy/leads/{lead}", control=False),  # erasure reaches Cloud Storage: tests/privacy
    Sensitive("DELETE", "/privacy/members/{agent}"),
    Sensitive("GET", "/leads/export"),
]
CHANGES: dict[str, dict[str, Any]] = {
    "demoted": {"role": "manager", "teamId": "north"},
    "moved": {"teamId": "south"},
    "deactivated": {"active": False},
}


@dataclass
class Scene:
    """An admin whose old token is cached by an instance, changed by a second admin."""

    old_token: str
    second: Person
    ids: dict[str, str]


def _org_state(db: Any) -> dict[str, Any]:
    org = db.document("orgs/org1")
    state: dict[str, Any] = {"org": org.get().to_dict()}
    for name in ("members", "teams", "leads"):
        state[name] = {s.id: s.to_dict() for s in org.collection(name).stream()}
    return state


def _scene(change: dict[str, Any]) -> Scene:
    from members.models import MemberCreate
    from members.service import add_member

    first = make_org()
    stored = add_member(
        org_id="org1",
        actor=None,
        uid="org1-admin2",
        data=MemberCreate.model_validate({"email": "admin2@org1.example.com", "name": "Second", "role": "admin"}),
    )
    second = Person(stored["uid"], "org1", "admin", None, stored["email"])
    agent = add_person("org1", "agent", "north")
    lead = call(
        "POST",
        "/leads",
        token=second.token(),
        json_body={"name": "Buyer", "primaryPhone": {"number": "9876500001"}, "assigneeId": agent.uid},
    )
    assert lead.status == 201, lead.body
    asked = call("POST", "/privacy/account/deletion", token=agent.token(), json_body={})
    assert asked.status == 202, asked.body  # so that the admin may erase the agent
    old_token = first.token()
    assert call("GET", "/members/me", token=old_token).status == 200  # this instance now caches the member
    path = tenancy.member_ref("org1", first.uid).path
    cached = tenancy.cache.entries[path]
    changed = call("PATCH", f"/members/{first.uid}", token=second.token(), json_body=change)
    assert changed.status == 200, changed.body
    # Another instance still holds the member as it was when the token was issued.
    cached.expires = time.monotonic() + 60
    tenancy.cache.entries[path] = cached
    assert call("GET", "/members/me", token=old_token).status == 200  # the cached window, as documented
    return Scene(old_token, second, {"other": second.uid, "agent": agent.uid, "lead": str(lead.body["id"])})


def _call(route: Sensitive, scene: Scene, token: str) -> Any:
    body = route.body if route.body is not None or route.method == "GET" else {}
    return call(route.method, route.path.format(**scene.ids), token=token, json_body=body)


def _refused_at_once(route: Sensitive, change: dict[str, Any], db: Any) -> None:
    scene = _scene(change)
    before = _org_state(db)
    response = _call(route, scene, scene.old_token)
    assert response.status == 401, response.body
    assert response.error["code"] == "UNAUTHENTICATED"
    assert _org_state(db) == before
    # Control: a current admin token succeeds, so the refusal above is the session's.
    if route.control:
        control = _call(route, scene, scene.second.token())
        assert control.status < 300, control.body


@pytest.mark.parametrize("route", SENSITIVE, ids=lambda r: r.name)
def test_deactivated_admin_is_refused_at_once(route: Sensitive, db: Any, auth_emulator: str) -> None:
    _refused_at_once(route, CHANGES["deactivated"], db)


@pytest.mark.parametrize("change", ["demoted", "moved"])
def test_demoted_or_moved_admin_is_refused_at_once(change: str, db: Any, auth_emulator: str) -> None:
    _refused_at_once(SENSITIVE[1], CHANGES[change], db)
