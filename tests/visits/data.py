"""Leads and projects written straight to Firestore for the visit and reminder tests (documents as
docs/architecture.md); the capturing ports are in tests/support/ports.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import clock, tenancy


def make_lead(
    org_id: str,
    lead_id: str,
    *,
    assignee: str | None,
    team: str | None,
    stage: str = "contacted",
    email: str | None = "buyer@example.net",
    private_email: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A lead document written straight to Firestore (the leads feature is built elsewhere)."""
    lead = {
        "name": "Ravi Buyer",
        "primaryPhone": {"countryCode": "+91", "number": "98765 43210", "e164": "+919876543210"},
        "emails": [email] if email else [],
        "stage": stage,
        "source": "website",
        "assigneeId": assignee,
        "teamId": team,
        "archived": False,
        "doNotContact": [],
        "version": 1,
        "createdAt": clock.now(),
        "updatedAt": clock.now(),
        **extra,
    }
    ref = tenancy.org_ref(org_id).collection("leads").document(lead_id)
    ref.set(lead)
    if private_email:
        ref.collection("private").document("contact").set({"emails": [private_email], "phones": []})
    return lead


def make_project(org_id: str, project_id: str = "p1", *, lat: float = 12.9716, lng: float = 77.5946) -> None:
    """A project with a location and a 200 m check-in radius."""
    tenancy.org_ref(org_id).collection("projects").document(project_id).set(
        {
            "name": "Skyline Towers",
            "city": "Bengaluru",
            "address": "1 MG Road",
            "location": {"lat": lat, "lng": lng},
            "checkinRadiusM": 200,
        }
    )


def at(text: str) -> datetime:
    """An aware datetime from RFC 3339."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
