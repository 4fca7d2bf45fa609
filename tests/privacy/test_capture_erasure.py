"""Erasing a lead erases every capture of its buyer it holds, the ones a merged duplicate brought included:
their `raw` is the buyer's data as received."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.inproc import call
from tests.leads.capture.test_api import captures, push, website
from tests.support.leads import make_team

pytestmark = pytest.mark.http


def test_erasing_a_merged_lead_erases_the_captures_of_both_leads_and_keeps_others(db: Any, bucket: Any) -> None:
    team = make_team()
    site = website(team)
    survivor = push(site, {"name": "Asha", "phone": "9845022001", "message": "2BHK?"}).body["leadId"]
    duplicate = push(site, {"name": "Asha R", "email": "asha@example.com"}).body["leadId"]
    assert push(site, {"name": "Asha", "email": "ASHA@example.com", "city": "Pune"}).body["leadId"] == duplicate
    other = push(site, {"name": "Ravi", "phone": "9845022002"}).body["leadId"]
    merged = call("POST", f"/leads/{survivor}/merge", token=team.admin.token(), json_body={"duplicateId": duplicate})
    assert merged.status == 200, merged.body
    erased = call("DELETE", f"/privacy/leads/{survivor}", token=team.admin.token())
    assert erased.status in (200, 204), erased.body
    left = captures()
    assert [c["leadId"] for c in left] == [other]
    assert not any("asha" in str(c).lower() for c in left)
