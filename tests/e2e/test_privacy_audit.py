"""End to end on the Emulator Suite: the audit trail sees logins, a lead is exported and erased, retention runs."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.e2e.test_login import _code, _id_token

pytestmark = pytest.mark.e2e


def _login(base: str, email: str) -> str:
    assert httpx.post(f"{base}/auth/otp/request", json={"email": email}, timeout=30).status_code == 202
    code = _code(base, email)
    wrong = "000000" if code != "000000" else "111111"
    assert httpx.post(f"{base}/auth/otp/verify", json={"email": email, "code": wrong}, timeout=30).status_code == 401
    verified = httpx.post(f"{base}/auth/otp/verify", json={"email": email, "code": code}, timeout=30)
    assert verified.status_code == 200, verified.text
    return _id_token(verified.json()["customToken"])


def _every_document() -> list[tuple[str, dict[str, Any]]]:
    from tests.privacy.world import every_document

    return every_document()


def test_audit_export_erasure_and_retention_through_the_functions_emulator(suite: str) -> None:
    from core import audit, clients

    token = _login(suite, "admin@demo.example.com")
    auth = {"Authorization": f"Bearer {token}"}

    trail = httpx.get(f"{suite}/audit", params={"limit": 20}, headers=auth, timeout=30)
    assert trail.status_code == 200, trail.text
    actions = [item["action"] for item in trail.json()["items"]]
    assert actions[:2] == ["login", "login.failed"]
    mine = httpx.get(f"{suite}/privacy/export", headers=auth, timeout=30).json()
    assert [entry["action"] for entry in mine["loginHistory"]][:2] == ["login", "login.failed"]

    lead = next(iter(clients.db().collection("orgs").document("demo").collection("leads").limit(1).stream()))
    exported = httpx.get(f"{suite}/privacy/leads/{lead.id}/export", headers=auth, timeout=60)
    assert exported.status_code == 200, exported.text
    assert exported.json()["lead"]["name"] == lead.get("name")

    erased = httpx.delete(f"{suite}/privacy/leads/{lead.id}", headers=auth, timeout=120)
    assert erased.status_code == 204, erased.text
    time.sleep(3)  # triggers fired by the deletes (activity, notifications, reminders) must not bring anything back
    hits = [path for path, data in _every_document() if lead.id in path + json.dumps(data, default=str)]
    assert hits and all(path.startswith("orgs/demo/audit/") for path in hits), hits

    fired = httpx.post(f"{suite}/retentiondaily-0", content=b"{}", timeout=300)
    assert fired.status_code in (200, 204), fired.text
    assert audit.verify("demo").ok
