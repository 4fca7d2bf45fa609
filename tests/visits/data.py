"""Leads, projects and capturing ports for the visit and reminder tests (documents as docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from typing import Any

import pytest

from core import clock, mail, tenancy


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


@dataclass
class CapturingMailer:
    """A Mailer that renders each email to MIME as SMTP would send it, and keeps it."""

    sent: list[mail.Email] = field(default_factory=list)
    mime: list[bytes] = field(default_factory=list)

    def send(self, email: mail.Email) -> None:
        """Render and keep."""
        self.sent.append(email)
        self.mime.append(bytes(mail.build_message(email, "Justo <no-reply@example.com>")))

    def calendars(self) -> list[Any]:
        """The iCalendar attachments of every email, parsed from the MIME."""
        import icalendar

        found = []
        for raw in self.mime:
            for part in message_from_bytes(raw).walk():
                if part.get_content_type() == "text/calendar":
                    payload = part.get_payload(decode=True)
                    assert isinstance(payload, bytes)
                    found.append(icalendar.Calendar.from_ical(payload))
        return found


@pytest.fixture
def mailer() -> Iterator[CapturingMailer]:
    """Emails captured as rendered MIME."""
    capturing = CapturingMailer()
    mail.install(capturing)
    yield capturing
    mail.install(None)


@pytest.fixture
def tasks_queue() -> Iterator[Any]:
    """An in-memory Cloud Tasks queue."""
    from reminders import queue

    memory = queue.MemoryQueue()
    queue.install(memory)
    yield memory
    queue.install(None)


def feed(uid: str) -> list[dict[str, Any]]:
    """A user's in-app feed, newest first."""
    from google.cloud.firestore import Query

    from core import clients

    query = (
        clients.db()
        .collection("users")
        .document(uid)
        .collection("notifications")
        .order_by("createdAt", direction=Query.DESCENDING)
    )
    return [s.to_dict() or {} for s in query.stream()]


def at(text: str) -> datetime:
    """An aware datetime from RFC 3339."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def pushes_to(uid: str) -> list[dict[str, Any]]:
    """Pushes the outbox holds for a user, newest first (sorted here: the outbox is emulator-only, unindexed)."""
    from core import clients

    query = clients.db().collection("outbox").where(filter=clients.where("to", "==", uid))
    found = [s.to_dict() or {} for s in query.stream()]
    return sorted((m for m in found if m.get("channel") == "push"), key=lambda m: m["createdAt"], reverse=True)
