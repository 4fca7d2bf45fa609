"""The isolation table itself: every line without a control says why, and every route taking an id is in it."""

from __future__ import annotations

import pytest

from tests.isolation.test_api import ENDPOINTS, EXEMPT, _covered, _routes_taking_ids

pytestmark = pytest.mark.unit


def test_every_line_without_a_control_says_why() -> None:
    assert [e.name for e in ENDPOINTS if e.allowed is None and not e.note] == []


def test_every_route_that_takes_an_id_is_in_the_table() -> None:
    routes = _routes_taking_ids()
    assert ("GET", "/leads/{lead_id}", "path") in routes  # the scan worked
    missing = [r for r in routes if r[:3] not in EXEMPT and not _covered(*r)]
    assert missing == [], "add these to ENDPOINTS (or to EXEMPT with the reason)"
