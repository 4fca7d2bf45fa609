"""The trigger decisions, pure: which pushes a lead write makes (a masking rewrite is no news, a new number is),
which history entries a lead or task write makes, and which writes concern masking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.triggers.test_activity import lead
from tests.triggers.test_masking_pushes import _lead, indian_mobiles
from tests.triggers.test_notifications import LEAD
from triggers import activity, masking
from triggers.notifications import lead_pushes

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(indian_mobiles, st.one_of(st.none(), indian_mobiles), st.booleans())
def test_a_masking_rewrite_of_any_number_pushes_nothing(primary: str, alternate: str | None, to_masked: bool) -> None:
    before = _lead(primary, alternate, masked=not to_masked)
    after = _lead(primary, alternate, masked=to_masked)
    assert before != after
    assert lead_pushes("org1", "lead1", before, after) == []


@settings(max_examples=40, deadline=None)
@given(indian_mobiles, indian_mobiles, st.booleans(), st.booleans())
def test_a_new_number_is_still_news(old: str, new: str, was_masked: bool, is_masked: bool) -> None:
    before = _lead(old, None, masked=was_masked)
    after = _lead(new, None, masked=is_masked)
    shown_before, shown_after = before["primaryPhone"]["masked"], after["primaryPhone"]["masked"]
    pushes = lead_pushes("org1", "lead1", before, after)
    if old == new or (shown_before == shown_after and (was_masked or is_masked)):
        assert pushes == []  # the same number, or one the agent cannot tell apart from it
    else:
        (push,) = pushes
        assert push.kind == "lead-updated" and push.data["fields"] == "primaryPhone"


def test_archived_or_unassigned_leads_push_nothing() -> None:
    assert lead_pushes("org1", "l", None, LEAD | {"assigneeId": None}) == []
    assert lead_pushes("org1", "l", LEAD, LEAD | {"archived": True, "updatedBy": "m", "stage": "lost"}) == []
    assert lead_pushes("org1", "l", LEAD, None) == []


def test_writes_that_change_nothing_shown_and_merged_or_deleted_leads_write_nothing() -> None:
    before = lead()
    after = lead(version=2, searchTokens=["x"], updatedAt=datetime(2026, 11, 26, tzinfo=UTC))
    assert activity.lead_entries(before, after) == []
    assert activity.lead_entries(before, lead(mergedInto="l2", archived=True)) == []
    assert activity.lead_entries(before, None) == []
    assert [e["type"] for e in activity.lead_entries(before, lead(archived=True))] == ["archived"]
    assert [e["type"] for e in activity.lead_entries(lead(archived=True), lead(archived=False))] == ["restored"]


# A changed value for every tracked field, and what the history shows of it.
CHANGED: dict[str, tuple[Any, Any]] = {
    "salutation": ("Mr", "Mr"),
    "name": ("Ravi Kumar", "Ravi Kumar"),
    "primaryPhone": (
        {"countryCode": "+91", "number": "9123456789", "e164": "+919123456789", "masked": "+91 91XXXXXX89"},
        "+91 91XXXXXX89",
    ),
    "alternatePhone": (
        {"countryCode": "+91", "number": "98XXXXXX11", "e164": None, "masked": "+91 98XXXXXX11"},
        "+91 98XXXXXX11",
    ),
    "emails": (["ravi@example.com"], ["ravi@example.com"]),
    "location": ({"city": "Pune"}, {"city": "Pune"}),
    "budget": ({"min": 1, "max": 2}, {"min": 1, "max": 2}),
    "configurations": (["2BHK"], ["2BHK"]),
    "source": ("walk-in", "walk-in"),
    "projectId": ("p1", "p1"),
    "tags": (["hot"], ["hot"]),
    "doNotContact": (["sms"], ["sms"]),
    "optIns": ([{"channel": "whatsapp", "at": AT}, {"channel": "email", "at": AT}], ["email", "whatsapp"]),
    "purpose": ("investment", "investment"),
    "nextFollowUpAt": (AT, AT),
    "channelPartnerId": ("cp1", "cp1"),
}


def test_every_tracked_field_has_a_changed_value_here() -> None:
    assert set(CHANGED) == set(activity.TRACKED)


@pytest.mark.parametrize("field", activity.TRACKED)
def test_a_change_of_any_tracked_field_is_one_update_entry_showing_it(field: str) -> None:
    value, shown = CHANGED[field]
    (entry,) = activity.lead_entries(lead(), lead(**{field: value}))
    assert entry["type"] == "updated" and entry["summary"] == f"Updated {field}"
    assert entry["changes"][field]["after"] == shown
    assert "9123456789" not in str(entry)  # phones appear masked only


@pytest.mark.parametrize("field", ["version", "updatedAt", "updatedBy", "searchTokens", "lastContactAt"])
def test_a_change_of_an_untracked_field_is_no_history(field: str) -> None:
    assert activity.lead_entries(lead(), lead(**{field: "changed"})) == []


def test_a_new_lead_is_one_created_entry_naming_its_source() -> None:
    assert activity.lead_entries(None, lead(source="walk-in")) == [
        {"type": "created", "summary": "Lead created (walk-in)", "changes": {}, "ref": {}}
    ]
    assert activity.lead_entries(None, lead(source=None))[0]["summary"] == "Lead created (unknown source)"


def test_each_merged_duplicate_is_one_entry_pointing_at_it() -> None:
    entries = activity.lead_entries(lead(mergedFrom=["l2"]), lead(mergedFrom=["l2", "l3", "l4"]))
    assert [(e["type"], e["ref"]) for e in entries] == [
        ("merged", {"kind": "lead", "id": "l3"}),
        ("merged", {"kind": "lead", "id": "l4"}),
    ]


@pytest.mark.parametrize(
    ("before", "after", "types"),
    [
        (None, {"title": "Call", "leadId": "l1", "createdBy": "a1"}, ["task_created"]),
        (None, {"title": "Call", "createdBy": "a1"}, []),  # not tied to a lead
        ({"status": "open", "leadId": "l1"}, {"status": "done", "leadId": "l1", "updatedBy": "a1"}, ["task_completed"]),
        ({"status": "done", "leadId": "l1"}, {"status": "done", "leadId": "l1", "title": "x"}, []),
        ({"status": "open", "leadId": "l1"}, {"status": "open", "leadId": "l1", "title": "Renamed"}, []),
        ({"status": "open", "leadId": "l1"}, None, []),
    ],
)
def test_a_task_write_makes_history_only_when_created_or_completed(
    before: dict[str, Any] | None, after: dict[str, Any] | None, types: list[str]
) -> None:
    assert [entry["type"] for entry in activity.task_entries(before, after)] == types


def test_a_task_entry_keeps_80_characters_of_the_title_and_names_who_did_it() -> None:
    (entry,) = activity.task_entries(None, {"title": "x" * 200, "leadId": "l1", "createdBy": "a1"})
    assert entry["summary"] == "Task created: " + "x" * 80 and entry["actor"] == "a1"


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        ({"settings": {"phoneMasking": False}}, {"settings": {"phoneMasking": True}}, True),
        ({"settings": {"phoneMasking": True}}, {"settings": {"phoneMasking": False}}, False),
        (None, {"settings": {"phoneMasking": True}}, True),
        (None, {"settings": {}}, None),
        ({"settings": {"phoneMasking": True}}, {"settings": {"phoneMasking": True, "timeZone": "UTC"}}, None),
        ({"settings": {"phoneMasking": True}}, None, None),  # a deleted organization rewrites nothing
        ({}, {"name": "renamed"}, None),
    ],
)
def test_only_a_flip_of_the_masking_flag_is_a_masking_change(
    before: dict[str, Any] | None, after: dict[str, Any] | None, change: bool | None
) -> None:
    assert masking.masking_change(before, after) is change


@pytest.mark.parametrize("field", masking.GUARDED_FIELDS)
def test_a_write_of_any_guarded_field_is_rechecked_and_others_are_not(field: str) -> None:
    base = {"name": "Ravi", "primaryPhone": {"e164": "+919876543210"}, "stage": "new"}
    assert masking.needs_guard(base, base | {field: "changed"})
    assert not masking.needs_guard(base, base | {"stage": "visited"})
    assert masking.needs_guard(None, base) and not masking.needs_guard(base, None)
