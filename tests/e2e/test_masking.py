"""End to end on the Emulator Suite: turning phone masking on masks the organization's leads through the
deployed `leadmasking` trigger, and a lead written with a raw number afterwards (a writer with a stale
setting) is masked by the deployed `leadmaskguard` backstop within seconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from devtools.inproc import id_token

pytestmark = pytest.mark.e2e

ADMIN = {"Authorization": "Bearer " + id_token("acme-admin", {"orgId": "acme", "role": "admin", "teamId": None})}
AGENT = {"Authorization": "Bearer " + id_token("acme-agent1", {"orgId": "acme", "role": "agent", "teamId": "main"})}


def _until(check: Callable[[], Any], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def _raw_leads() -> list[str]:
    from core import tenancy
    from leads import store

    leads = tenancy.org_ref("acme").collection("leads").stream()
    return [s.id for s in leads if store.LeadRecord.from_document("", s.to_dict() or {}).holds_raw]


def _set_masking(suite: str, on: bool) -> None:
    response = httpx.patch(f"{suite}/org/settings", json={"phoneMasking": on}, headers=ADMIN, timeout=60)
    assert response.status_code == 200, response.text


def test_the_deployed_triggers_mask_every_lead_whoever_wrote_it(suite: str) -> None:
    from core import tenancy
    from leads import phones, store

    assert _raw_leads(), "the seed gives acme leads with numbers"
    _set_masking(suite, True)
    try:
        assert _until(lambda: not _raw_leads()), f"leadmasking left raw leads: {_raw_leads()}"
        created = httpx.post(
            f"{suite}/leads",
            json={"name": "Fresh After Masking", "primaryPhone": {"number": "98473 81956"}},
            headers=AGENT,
            timeout=60,
        )
        assert created.status_code == 201 and created.json()["primaryPhone"]["e164"] is None, created.text
        stale = phones.ParsedPhone("+91", "7019283746", "+917019283746")
        contact: dict[str, Any] = {"primaryPhone": stale.raw(), "alternatePhone": None, "emails": []}
        ref = tenancy.org_ref("acme").collection("leads").document("l_written_stale")
        ref.collection("private").document("contact").set({**contact, "leadId": ref.id})
        ref.set(
            {
                "name": "Written Stale",
                "assigneeId": "acme-agent1",
                "teamId": "main",
                "stage": "new",
                "archived": False,
                **store.Contact.of(contact).masked_view("Written Stale", masked=False),
            }
        )
        assert _until(lambda: not store.LeadRecord.from_document("", ref.get().to_dict() or {}).holds_raw), (
            "leadmaskguard did not run"
        )
        assert (ref.get().to_dict() or {})["searchTokens"] == store.Contact.of(contact).masked_view(
            "Written Stale", masked=True
        )["searchTokens"]
    finally:
        _set_masking(suite, False)
        assert _until(lambda: len(_raw_leads()) >= 2), "turning masking off again restores the numbers"
