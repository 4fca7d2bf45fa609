"""docs/openapi.json is generated from the routes and models, and kept current."""

from __future__ import annotations

import json

import pytest

from devtools import openapi

pytestmark = pytest.mark.unit


def test_committed_openapi_matches_the_code() -> None:
    assert openapi.TARGET.read_text() == openapi.render(), "docs/openapi.json is stale: run `make openapi`"


def test_every_deployed_route_is_documented_with_its_models() -> None:
    document = json.loads(openapi.render())
    assert document["paths"]["/members/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Me"
    }
    assert "Idempotency-Key" in str(document["paths"]["/members"]["post"]["parameters"])
    assert "/dev/outbox" not in document["paths"], "emulator-only endpoints are never documented as deployed"
