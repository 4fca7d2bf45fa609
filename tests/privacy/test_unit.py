"""Pure pieces of the privacy package: stored values as plain JSON, the people a record names."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from privacy.records import people_named, plain

pytestmark = pytest.mark.unit


def test_stored_values_become_plain_json() -> None:
    from google.cloud.firestore import GeoPoint

    value = {
        "at": datetime(2026, 11, 25, 6, 30, 1, 123456, tzinfo=UTC),
        "where": GeoPoint(18.5, 73.8),
        "raw": b"\x00\x01",
        "list": [datetime(2026, 1, 1, tzinfo=UTC), {"n": 1}],
    }
    result = plain(value)
    assert result == {
        "at": "2026-11-25T06:30:01.123Z",
        "where": {"lat": 18.5, "lng": 73.8},
        "raw": "AAE=",
        "list": ["2026-01-01T00:00:00.000Z", {"n": 1}],
    }
    assert json.loads(json.dumps(result)) == result


def test_people_are_found_wherever_a_record_names_them() -> None:
    items: list[dict[str, Any]] = [
        {"authorId": "u1", "text": "x"},
        {"optIns": [{"channel": "sms", "by": "u2"}], "agentId": "u3", "nested": {"actorId": "u4"}},
        {"assigneeId": None, "createdBy": ""},
    ]
    assert people_named(items) == {"u1", "u2", "u3", "u4"}


def test_months_before_clamps_to_the_months_end() -> None:
    from datetime import UTC, datetime

    from privacy import purpose

    assert purpose.months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert purpose.months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(2024, 12, 15, tzinfo=UTC)
