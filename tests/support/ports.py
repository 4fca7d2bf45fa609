"""Test adapters of the app's ports, as fixtures: a mailer that keeps each email as rendered MIME, an in-memory
Cloud Tasks queue."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

import pytest

from core import mail


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
