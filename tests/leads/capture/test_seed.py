"""The local seed's capture sources answer with API.md's local keys, as the README's curl lines use them."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.inproc import call
from leads import store

pytestmark = pytest.mark.http


def test_seeded_sources_take_the_local_keys_and_refuse_others(db: Any, monkeypatch: Any) -> None:
    from devtools import seed as devseed
    from leads.capture import seed as capture_seed
    from leads.capture import sources

    monkeypatch.setattr(devseed, "feature_seeders", lambda: [capture_seed.seed])
    devseed.seed()
    capture_seed.seed("demo", {})  # idempotent
    site = call(
        "POST",
        "/webhooks/capture/demo-website",
        json_body={"name": "Seed Buyer", "phone": "98450 33001", "message": "Hello"},
        headers={"X-Justo-Key": "local-website-key"},
    )
    assert site.status == 200 and site.body["outcome"] == "created", site.body
    lead = store.get("demo", site.body["leadId"])
    assert lead is not None and lead.source == "website" and lead.source_id == "demo-website"
    google = call(
        "POST",
        "/webhooks/google/demo-google",
        json_body={
            "lead_id": "seed-1",
            "google_key": "local-google-key",
            "is_test": True,
            "user_column_data": [
                {"column_id": "FULL_NAME", "string_value": "Seed Google"},
                {"column_id": "PHONE_NUMBER", "string_value": "+919845033002"},
            ],
        },
    )
    assert google.status == 200 and google.body["outcome"] == "created", google.body
    assert (
        call("POST", "/webhooks/capture/demo-website", json_body={}, headers={"X-Justo-Key": "local-google-key"}).status
        == 401
    )
    meta = sources.by_page("local-page")
    assert meta is not None and meta[:2] == ("demo", "demo-meta") and meta[2]["kind"] == "meta"
