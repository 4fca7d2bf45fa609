"""End to end on the Emulator Suite: a lead nobody contacts within a one-minute first-response SLA is re-routed
through the tasks emulator within a few seconds of its deadline (the emulator runs tasks at once: the
`leadsla` task waits for the deadline itself), with `sla-missed` then `assigned` in its history and the
missed agent and the team's manager pushed; a lead its agent called in time is left alone."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from devtools import stack
from tests.support.polling import wait_for

pytestmark = pytest.mark.e2e

ADMIN, MANAGER = "admin@demo.example.com", "manager@demo.example.com"
ALL_DAY = {"start": "00:00", "end": "24:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
WITHIN = timedelta(seconds=5)  # "within a few seconds" of the deadline, on 2 busy cores


def _headers(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} | extra


def _lead(suite: str, token: str, lead_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{suite}/leads/{lead_id}", headers=_headers(token), timeout=30)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _pushes(suite: str, uid: str, lead_id: str) -> list[dict[str, Any]]:
    items = httpx.get(f"{suite}/dev/outbox", params={"to": uid}, timeout=30).json()["items"]
    return [i for i in items if i["channel"] == "push" and i.get("data", {}).get("leadId") == lead_id]


def test_an_uncontacted_lead_is_rerouted_within_seconds_of_its_deadline(suite: str) -> None:
    admin, manager = stack.login(suite, ADMIN), stack.login(suite, MANAGER)
    config = httpx.get(f"{suite}/org/routing", headers=_headers(admin), timeout=30)
    assert config.status_code == 200, config.text
    changed = httpx.patch(
        f"{suite}/org/routing",
        json={"firstContactMinutes": 1, "maxReassignments": 2, "workingHours": ALL_DAY},
        headers=_headers(admin, **{"If-Match": str(config.json().get("version", 1))}),
        timeout=30,
    )
    assert changed.status_code == 200, changed.text
    try:
        untouched = httpx.post(
            f"{suite}/leads",
            json={"name": "Meera SLA", "primaryPhone": {"number": "98111 22001"}},
            headers=_headers(manager, **{"Idempotency-Key": "e2e-sla-untouched"}),
            timeout=30,
        )
        called = httpx.post(
            f"{suite}/leads",
            json={"name": "Kiran SLA", "primaryPhone": {"number": "98111 22002"}},
            headers=_headers(manager, **{"Idempotency-Key": "e2e-sla-called"}),
            timeout=30,
        )
        assert untouched.status_code == called.status_code == 201, (untouched.text, called.text)
        lead, other = untouched.json(), called.json()
        first, due = lead["assigneeId"], _instant(lead["slaDueAt"])
        assert first and other["assigneeId"] and other["slaDueAt"]
        # the agent of the second lead calls in time
        agent_email = {"demo-agent1": "agent1@demo.example.com", "demo-agent2": "agent2@demo.example.com"}
        caller = stack.login(suite, agent_email[other["assigneeId"]])
        logged = httpx.post(
            f"{suite}/comms/calls",
            json={
                "leadId": other["id"],
                "direction": "outbound",
                "durationSec": 30,
                "outcome": "interested",
                "startedAt": other["createdAt"],
            },
            headers=_headers(caller, **{"Idempotency-Key": "e2e-sla-call"}),
            timeout=30,
        )
        assert logged.status_code == 201, logged.text
        contacted = _lead(suite, manager, other["id"])
        assert contacted["firstContactAt"] and contacted["slaDueAt"] is None

        def rerouted() -> dict[str, Any] | None:
            current = _lead(suite, manager, lead["id"])
            return current if current["assigneeId"] != first else None

        moved = wait_for(rerouted, timeout=120)
        entry = moved["assignmentHistory"][-1]
        assert entry["reason"] == "sla" and moved["slaReassignments"] == 1
        assert due <= _instant(entry["at"]) <= due + WITHIN, (due, entry["at"])
        assert _instant(moved["slaDueAt"]) > due  # the new agent's own deadline, already on the queue
        history = httpx.get(f"{suite}/leads/{lead['id']}/activity", headers=_headers(manager), timeout=30).json()
        types = [item["type"] for item in history["items"]]  # newest first
        assert types[:2] == ["assigned", "sla-missed"] and types.count("assigned") == 1, types
        wait_for(lambda: _pushes(suite, first, lead["id"]))
        assert next(p["data"]["kind"] for p in _pushes(suite, first, lead["id"])) == "sla-missed"
        assert any(p["data"]["kind"] == "sla-missed" for p in _pushes(suite, "demo-manager", lead["id"]))
        time.sleep(25)  # past one wait of the new deadline's task: it is alive and waits (see the emulator log)
        assert _lead(suite, manager, other["id"])["assigneeId"] == other["assigneeId"]  # contacted: left alone
        assert _lead(suite, manager, lead["id"])["assigneeId"] == moved["assigneeId"]  # not moved again early
    finally:
        back = httpx.get(f"{suite}/org/routing", headers=_headers(admin), timeout=30).json()
        httpx.patch(
            f"{suite}/org/routing",
            json={"firstContactMinutes": 0},
            headers=_headers(admin, **{"If-Match": str(back.get("version", 1))}),
            timeout=30,
        )
