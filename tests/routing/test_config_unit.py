"""Routing settings are read tolerantly: a missing or bad stored value is its default, never a failed create;
eligibility from the member record alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from routing import eligibility
from routing.config import DEFAULT_HOURS, RoutingSettings

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        {},
        {"firstContactMinutes": "15", "maxReassignments": -1, "workingHours": {"start": "19:00", "end": "09:00"}},
        {"firstContactMinutes": True, "workingHours": "all day", "rules": "none", "version": "x"},
        {"rules": [None, {"name": 3}, {"name": "no target"}, {"name": "bad", "assignTo": {"teamId": 5}}]},
    ],
)
def test_bad_or_missing_values_read_as_defaults(stored: dict[str, Any] | None) -> None:
    settings = RoutingSettings.of(stored)
    assert settings.first_contact_minutes == 15 and settings.max_reassignments == 2
    assert dict(settings.working_hours) == DEFAULT_HOURS and settings.rules == ()
    assert settings.window.weekdays == frozenset(range(6))


def test_a_stored_rule_keeps_what_it_can() -> None:
    settings = RoutingSettings.of(
        {"rules": [{"name": "r", "assignTo": {"memberIds": ["u1", 7]}, "method": "sideways", "weights": {"u1": 0}}]}
    )
    (rule,) = settings.rules
    assert rule.member_ids == ("u1",) and rule.method == "round-robin" and dict(rule.weights) == {}
    assert settings.rule_for({"source": "website"}) is rule  # no conditions: every lead


AGENT = {"uid": "a", "role": "agent", "active": True}


@pytest.mark.parametrize(
    ("member", "open_leads", "expected"),
    [
        (AGENT, 0, True),
        (AGENT | {"active": False}, 0, False),
        (AGENT | {"role": "rm"}, 0, False),
        (AGENT | {"role": "manager"}, 0, False),
        (AGENT | {"deleted": True}, 0, False),
        (AGENT | {"availability": {"status": "away"}}, 0, False),
        (AGENT | {"availability": {"status": "off-duty", "until": NOW + timedelta(minutes=1)}}, 0, False),
        (AGENT | {"availability": {"status": "off-duty", "until": NOW}}, 0, True),
        (AGENT | {"leave": [{"from": NOW - timedelta(days=1), "to": NOW + timedelta(days=1)}]}, 0, False),
        (AGENT | {"leave": [{"from": NOW - timedelta(days=2), "to": NOW}]}, 0, True),
        (AGENT | {"leave": [{"from": NOW + timedelta(days=1), "to": NOW + timedelta(days=2)}]}, 0, True),
        (AGENT | {"maxOpenLeads": 3}, 2, True),
        (AGENT | {"maxOpenLeads": 3}, 3, False),
        (AGENT | {"maxOpenLeads": 0}, 0, False),
        (AGENT | {"maxOpenLeads": "3"}, 99, True),  # a bad stored cap is no cap
    ],
)
def test_eligibility(member: dict[str, Any], open_leads: int, expected: bool) -> None:
    assert eligibility.eligible(member, NOW, open_leads) is expected


def test_open_stages() -> None:
    assert eligibility.is_open("new", archived=False) and not eligibility.is_open("booked", archived=False)
    assert not eligibility.is_open("lost", archived=False) and not eligibility.is_open("new", archived=True)
