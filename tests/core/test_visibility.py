"""Who sees which lead, record and member (core/visibility.py, API.md's role table), as pure predicates."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import visibility
from core.permissions import ROLES
from leads.store import LeadRecord
from tests.support.callers import make_caller

pytestmark = pytest.mark.unit

ME = "me"


# A lead as seen from a caller of team north with uid "me": (assignee, team, stage).
def lead_of(fields: dict[str, Any]) -> LeadRecord:
    """A stored lead with these fields."""
    return LeadRecord.from_document("l1", fields)


LEADS: dict[str, dict[str, Any]] = {
    "mine": {"assigneeId": ME, "teamId": "north", "stage": "new"},
    "mine, moved to another team": {"assigneeId": ME, "teamId": "south", "stage": "new"},
    "a teammate's": {"assigneeId": "mate", "teamId": "north", "stage": "new"},
    "a teammate's, booked": {"assigneeId": "mate", "teamId": "north", "stage": "booked"},
    "another team's": {"assigneeId": "other", "teamId": "south", "stage": "new"},
    "another team's, booked": {"assigneeId": "other", "teamId": "south", "stage": "booked"},
    "unassigned, no team": {"assigneeId": None, "teamId": None, "stage": "new"},
}
SEES_LEAD: dict[str, set[str]] = {
    "admin": set(LEADS),
    "manager": {"mine", "a teammate's", "a teammate's, booked"},
    "agent": {"mine", "mine, moved to another team"},
    "rm": {"mine", "mine, moved to another team", "a teammate's, booked"},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("lead", list(LEADS))
def test_each_role_sees_exactly_the_leads_of_the_role_table(role: str, lead: str) -> None:
    caller = make_caller(role, uid=ME, team_id="north")
    assert visibility.can_see_lead(caller, lead_of(LEADS[lead])) is (lead in SEES_LEAD[role])


def test_the_table_covers_every_role() -> None:
    assert set(SEES_LEAD) == set(ROLES)


@pytest.mark.parametrize("role", ["manager", "rm"])
@given(team=st.one_of(st.none(), st.text(max_size=5)), stage=st.sampled_from(["new", "booked", "lost"]))
def test_without_a_team_a_manager_or_rm_sees_no_team_lead_not_even_a_teamless_one(
    role: str, team: str | None, stage: str
) -> None:
    caller = make_caller(role, uid=ME, team_id=None)
    assert not visibility.can_see_lead(caller, lead_of({"assigneeId": "someone", "teamId": team, "stage": stage}))


# Tasks, visits, calls and messages: (owner, team).
RECORDS = {"mine": (ME, "north"), "a teammate's": ("mate", "north"), "another team's": ("other", "south")}
SEES_RECORD = {
    "admin": set(RECORDS),
    "manager": {"mine", "a teammate's"},
    "agent": {"mine"},
    "rm": {"mine"},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("record", list(RECORDS))
def test_each_role_sees_exactly_its_records(role: str, record: str) -> None:
    owner, team = RECORDS[record]
    caller = make_caller(role, uid=ME, team_id="north")
    assert visibility.can_see_record(caller, owner_id=owner, team_id=team) is (record in SEES_RECORD[role])


MEMBERS = {
    "me": {"uid": ME, "teamId": "north", "active": True},
    "a teammate": {"uid": "mate", "teamId": "north", "active": True},
    "a deactivated teammate": {"uid": "gone", "teamId": "north", "active": False},
    "another team's member": {"uid": "other", "teamId": "south", "active": True},
    "me, deactivated": {"uid": ME, "teamId": "north", "active": False},
}
REACHES = {
    "admin": {"me", "a teammate", "another team's member"},
    "manager": {"me", "a teammate"},
    "agent": {"me"},
    "rm": {"me"},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("member", list(MEMBERS))
def test_work_goes_only_to_active_members_the_role_reaches(role: str, member: str) -> None:
    caller = make_caller(role, uid=ME, team_id="north")
    assert visibility.can_reach_member(caller, MEMBERS[member]) is (member in REACHES[role])
