"""End to end on the Emulator Suite: a visit scheduled a few seconds ahead is reminded of through the tasks
emulator (the reminder lands in the outbox and the agent's feed), and the lead's invitation is emailed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from devtools import stack
from tests.support.outbox import feed
from tests.support.polling import wait_for
from tests.visits.data import make_lead

pytestmark = pytest.mark.e2e

AGENT = "agent1@demo.example.com"


def test_a_visit_scheduled_seconds_ahead_is_reminded_through_cloud_tasks(suite: str) -> None:
    make_lead("demo", "e2e-visit-lead", assignee="demo-agent1", team="north", email="e2e.buyer@example.net")
    token = stack.login(suite, AGENT)
    when = datetime.now(UTC) + timedelta(seconds=40)
    created = httpx.post(
        f"{suite}/visits",
        json={"leadId": "e2e-visit-lead", "scheduledAt": when.isoformat()},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "e2e-visit-1"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    visit_id = created.json()["id"]

    def reminder() -> list[dict[str, Any]]:
        items = httpx.get(f"{suite}/dev/outbox", params={"to": "demo-agent1"}, timeout=30).json()["items"]
        return [i for i in items if i["channel"] == "push" and i.get("data", {}).get("visitId") == visit_id]

    (pushed,) = wait_for(reminder)
    assert pushed["subject"] == "Site visit soon" and pushed["data"]["kind"] == "visit-reminder"
    assert pushed["refs"] == ["e2e-visit-lead", visit_id]
    entries = [e for e in feed("demo-agent1") if e.get("data", {}).get("visitId") == visit_id]
    assert len(entries) == 1 and entries[0]["kind"] == "visit-reminder" and entries[0]["read"] is False
    invitation = httpx.get(f"{suite}/dev/outbox", params={"to": "e2e.buyer@example.net"}, timeout=30).json()["items"]
    assert len(invitation) == 1 and invitation[0]["subject"].startswith("Your site visit on ")
    assert invitation[0]["attachments"][0]["contentType"] == "text/calendar"
    # the local runner's scheduled jobs answer (the minute sweep and the digest)
    for job in ("devreminders", "dailydigest"):
        assert httpx.post(f"{suite}/{job}-0", json={}, timeout=60).status_code < 300
    time.sleep(3)  # the visit trigger reconciles too, and the sweep ran: still exactly one reminder
    assert len(reminder()) == 1
