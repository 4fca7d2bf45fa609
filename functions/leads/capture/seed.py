"""Local seed: the `demo` organization's capture sources with API.md's local keys (emulator only)."""

from __future__ import annotations

from typing import Any

from leads.capture import sources

# (id, key or None, document): API.md "Local seed".
SOURCES: dict[str, list[tuple[str, str | None, dict[str, Any]]]] = {
    "demo": [
        ("demo-website", "local-website-key", {"kind": "website", "name": "Demo Realty website", "source": "website"}),
        ("demo-google", "local-google-key", {"kind": "google", "name": "Google lead forms", "source": "google"}),
        (
            "demo-meta",
            None,
            {
                "kind": "meta",
                "name": "Facebook lead ads",
                "source": "facebook",
                # the local Graph API stub (dev/api.py) takes any token; a meta source cannot read leads without one
                "config": {"pageId": "local-page", "pageAccessToken": "local-page-token"},
            },
        ),
    ],
}


def seed(org_id: str, members: dict[str, Any]) -> None:
    """Write the organization's capture sources with their known ids and keys (idempotent)."""
    for source_id, key, document in SOURCES.get(org_id, []):
        sources.seed_source(org_id, source_id, key, document)
