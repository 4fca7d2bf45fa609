"""End to end on the Emulator Suite: a lead created, changed and noted through the deployed `leads` function
gets its history from the deployed Firestore triggers."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from devtools.inproc import id_token

pytestmark = pytest.mark.e2e


def _activity(suite: str, lead_id: str, headers: dict[str, str], wanted: set[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        items = httpx.get(f"{suite}/leads/{lead_id}/activity", headers=headers, timeout=30).json()["items"]
        if wanted <= {item["type"] for item in items}:
            return items
        time.sleep(0.5)
    return items


def test_lead_history_is_written_by_the_triggers_and_served_newest_first(suite: str) -> None:
    headers = {
        "Authorization": "Bearer " + id_token("demo-agent1", {"orgId": "demo", "role": "agent", "teamId": "north"})
    }
    created = httpx.post(
        f"{suite}/leads",
        json={"name": "Esha Trigger", "primaryPhone": {"number": "99001 22334"}},
        headers=headers,
        timeout=60,
    )
    assert created.status_code == 201, created.text
    lead_id = created.json()["id"]
    changed = httpx.patch(f"{suite}/leads/{lead_id}", json={"stage": "contacted"}, headers=headers, timeout=60)
    assert changed.status_code == 200, changed.text
    assert (
        httpx.post(f"{suite}/leads/{lead_id}/notes", json={"text": "Called"}, headers=headers, timeout=60).status_code
        == 201
    )
    items = _activity(suite, lead_id, headers, {"created", "stage_changed", "note_added"})
    types = [item["type"] for item in items]
    assert sorted(types) == ["created", "note_added", "stage_changed"], items
    assert types[-1] == "created" and all(item["actorId"] == "demo-agent1" for item in items)
