"""The local seed books two upcoming visits per live organization through the service."""

from __future__ import annotations

from typing import Any

import pytest

from core import tenancy
from tests.support.ports import CapturingMailer

pytestmark = pytest.mark.service


def test_the_seed_books_upcoming_visits_with_invitations_and_pending_reminders(
    db: Any, mailer: CapturingMailer, tasks_queue: Any
) -> None:
    from devtools import seed

    seed.seed()
    for org_id in ("demo", "acme"):
        visits = [s.to_dict() or {} for s in tenancy.org_ref(org_id).collection("visits").stream()]
        assert len(visits) == 2 and {v["status"] for v in visits} == {"scheduled"}
    assert list(tenancy.org_ref("lapsed").collection("visits").stream()) == []
    assert len(mailer.calendars()) == 4
    assert len(tasks_queue.tasks) >= 4  # a day and an hour before each (the 30-day window holds them)
