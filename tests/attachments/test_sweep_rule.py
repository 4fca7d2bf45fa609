"""The pure rule of the abandoned-upload sweep (pending, and older than the URL's life plus the margin) and its
schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from attachments.service import ABANDON_MARGIN, UPLOAD_MINUTES, is_abandoned

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
LIMIT = timedelta(minutes=UPLOAD_MINUTES) + ABANDON_MARGIN


@pytest.mark.parametrize(
    ("record", "abandoned"),
    [
        ({"status": "pending", "createdAt": NOW - LIMIT}, True),
        ({"status": "pending", "createdAt": NOW - LIMIT - timedelta(days=3)}, True),
        ({"status": "pending", "createdAt": NOW - LIMIT + timedelta(seconds=1)}, False),
        ({"status": "ready", "createdAt": NOW - timedelta(days=30)}, False),
        ({"status": "rejected", "createdAt": NOW - timedelta(days=30)}, False),
        ({"status": "pending", "createdAt": None}, False),
        ({"status": "pending"}, False),
    ],
)
def test_only_pending_uploads_past_their_url_and_margin_are_abandoned(
    record: dict[str, object], abandoned: bool
) -> None:
    assert is_abandoned(record, NOW) is abandoned


def test_the_sweep_is_scheduled_and_deployed() -> None:
    from registry import FUNCTIONS, SCHEDULES
    from triggers import attachments as jobs

    assert FUNCTIONS["attachmentsweep"] == "triggers.attachments" and "attachmentsweep" in SCHEDULES
    assert callable(jobs.attachmentsweep)
