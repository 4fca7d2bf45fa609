"""The 99acres pull's window, without I/O: from the cursor less the overlap, at most two days, a new source one
day back, a long-idle one the last month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads.capture import providers, pull

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


def test_a_new_source_pulls_the_last_day() -> None:
    assert pull.window(None, NOW) == (NOW - timedelta(days=1), NOW)


def test_a_recent_cursor_pulls_from_it_less_the_overlap() -> None:
    assert pull.window(NOW - timedelta(minutes=5), NOW) == (NOW - timedelta(minutes=7), NOW)


def test_a_cursor_days_behind_catches_up_two_days_at_a_time() -> None:
    start, end = pull.window(NOW - timedelta(days=5), NOW)
    assert start == NOW - timedelta(days=5) - pull.OVERLAP and end == start + timedelta(days=2)


@given(st.one_of(st.none(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))))
def test_every_window_is_one_99acres_accepts_and_ends_by_now(behind: timedelta | None) -> None:
    start, end = pull.window(None if behind is None else NOW - behind, NOW)
    assert start < end <= NOW and end - start <= providers.ACRES99_MAX_WINDOW
    assert start >= NOW - timedelta(days=30)


def test_the_collection_group_query_on_kind_has_its_single_field_index() -> None:
    """Firestore builds single-field indexes for collection scope only: a collection-group query needs its own."""
    import json

    from tests.support.indexes import INDEXES_FILE

    overrides = json.loads(INDEXES_FILE.read_text())["fieldOverrides"]
    [kind] = [o for o in overrides if (o["collectionGroup"], o["fieldPath"]) == ("captureSources", "kind")]
    assert {"order": "ASCENDING", "queryScope": "COLLECTION_GROUP"} in kind["indexes"]
    assert {"order": "ASCENDING", "queryScope": "COLLECTION"} in kind["indexes"]  # an override replaces the default
