"""A team of people and leads for the lead, task and activity tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devtools.inproc import Response, call
from tests.support.factory import Person, add_person, make_org


@dataclass
class Team:
    """An organization with an admin, a north manager, two north agents, a south agent and a north rm."""

    admin: Person
    manager: Person
    agent1: Person
    agent2: Person
    south: Person
    rm: Person


def make_team(org_id: str = "org1") -> Team:
    """Create the organization and its people."""
    admin = make_org(org_id)
    return Team(
        admin=admin,
        manager=add_person(org_id, "manager", "north"),
        agent1=add_person(org_id, "agent", "north"),
        agent2=add_person(org_id, "agent", "north"),
        south=add_person(org_id, "agent", "south"),
        rm=add_person(org_id, "rm", "north"),
    )


def lead_body(number: str = "98765 43210", name: str = "Ravi Kumar", **extra: Any) -> dict[str, Any]:
    """A create body with the two required fields."""
    return {"name": name, "primaryPhone": {"number": number}, **extra}


def create(person: Person, number: str = "98765 43210", name: str = "Ravi Kumar", **extra: Any) -> Response:
    """POST /leads as person."""
    return call("POST", "/leads", token=person.token(), json_body=lead_body(number, name, **extra))


def set_settings(org_id: str, **settings: Any) -> None:
    """Change organization settings directly (and forget cached copies)."""
    from core import tenancy

    tenancy.org_ref(org_id).update({f"settings.{key}": value for key, value in settings.items()})
    tenancy.cache.clear()


def leads_of(org_id: str = "org1") -> list[dict[str, Any]]:
    """Every lead document of the organization as stored, with its id (read straight from Firestore)."""
    from core import tenancy

    return [{"id": s.id, **(s.to_dict() or {})} for s in tenancy.org_ref(org_id).collection("leads").stream()]
