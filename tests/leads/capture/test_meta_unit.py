"""Meta Lead Ads deliveries read without I/O: the leadgen changes of a batched delivery (Meta's webhook shape:
`object: "page"`, `entry[].changes[]`), any hostile shape read or skipped, and a Graph lead's answers as lead
fields."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads.capture import meta, providers

pytestmark = pytest.mark.unit


def leadgen(leadgen_id: str, page_id: str, form_id: str = "444", created: int = 1764580000) -> dict[str, Any]:
    """One `leadgen` change as Meta sends it."""
    return {
        "field": "leadgen",
        "value": {
            "leadgen_id": leadgen_id,
            "page_id": page_id,
            "form_id": form_id,
            "adgroup_id": "2385000000001",
            "ad_id": "2385000000002",
            "created_time": created,
        },
    }


BATCH = {
    "object": "page",
    "entry": [
        {"id": "page-1", "time": 1764580001, "changes": [leadgen("L1", "page-1"), leadgen("L2", "page-1")]},
        {"id": "page-2", "time": 1764580002, "changes": [leadgen("L3", "page-2"), leadgen("L4", "page-2")]},
    ],
}


def test_a_batched_delivery_gives_every_change_in_order() -> None:
    changes = meta.leadgen_changes(BATCH)
    assert [(c.leadgen_id, c.page_id) for c in changes] == [
        ("L1", "page-1"),
        ("L2", "page-1"),
        ("L3", "page-2"),
        ("L4", "page-2"),
    ]
    first = changes[0]
    assert (first.form_id, first.ad_id, first.adgroup_id, first.created_time) == (
        "444",
        "2385000000002",
        "2385000000001",
        "1764580000",
    )
    assert first.value == BATCH["entry"][0]["changes"][0]["value"]  # type: ignore[index]


def test_numeric_ids_read_as_text_and_the_entry_id_stands_in_for_a_missing_page_id() -> None:
    change = {"field": "leadgen", "value": {"leadgen_id": 1234567890123456, "form_id": 98}}
    [read] = meta.leadgen_changes({"object": "page", "entry": [{"id": 777, "changes": [change]}]})
    assert (read.leadgen_id, read.page_id, read.form_id) == ("1234567890123456", "777", "98")


@pytest.mark.parametrize(
    "payload",
    [
        {"object": "whatsapp_business_account", "entry": BATCH["entry"]},  # another product's delivery
        {"object": "page", "entry": [{"id": "p", "changes": [{"field": "feed", "value": {"leadgen_id": "x"}}]}]},
        {"object": "page", "entry": [{"id": "p", "changes": [{"field": "leadgen", "value": {"page_id": "p"}}]}]},
        {
            "object": "page",
            "entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id": "a/b", "page_id": "p"}}]}],
        },
        {
            "object": "page",
            "entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id": "L", "page_id": True}}]}],
        },
        {"object": "page", "entry": "x"},
        [],
        "text",
    ],
)
def test_what_is_not_a_routable_leadgen_change_is_skipped(payload: Any) -> None:
    assert meta.leadgen_changes(payload) == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["object", "entry", "changes", "field", "value", "leadgen_id", "page_id", "id", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=25,
)


@given(JSON)
def test_any_json_reads_as_changes_or_nothing_never_raises(payload: Any) -> None:
    for change in meta.leadgen_changes({"object": "page", "entry": payload} if isinstance(payload, list) else payload):
        assert change.leadgen_id and change.page_id and "/" not in change.leadgen_id + change.page_id


def graph_lead(*answers: tuple[str, list[str]]) -> providers.MetaLead:
    """A Graph API lead with these answers."""
    return providers.parse_meta_lead({"id": "L1", "field_data": [{"name": n, "values": v} for n, v in answers]})


def test_standard_questions_fill_lead_fields_and_the_rest_become_the_note() -> None:
    lead = graph_lead(
        ("full_name", ["Asha Rao"]),
        ("phone_number", ["+919876543210"]),
        ("email", ["asha@example.com"]),
        ("work_email", ["asha@work.example.com"]),
        ("city", ["Pune"]),
        ("when_do_you_plan_to_buy?", ["3 months"]),
        ("preferred_configuration", ["2BHK", "3BHK"]),
        ("inbox_url", ["https://business.facebook.com/..."]),
    )
    assert meta.lead_fields(lead, None) == {
        "name": "Asha Rao",
        "primaryPhone": "+919876543210",
        "email": "asha@example.com",  # the first answer for a field wins
        "location.city": "Pune",
        "note": "when do you plan to buy?: 3 months\npreferred configuration: 2BHK, 3BHK",
    }


def test_the_sources_field_map_maps_custom_questions_and_overrides_standard_ones() -> None:
    lead = graph_lead(("full_name", ["Asha"]), ("mobile", ["98765 43210"]), ("preferred_configuration", ["2BHK"]))
    fields = meta.lead_fields(lead, {"mobile": "primaryPhone", "preferred_configuration": "configurations"})
    assert fields == {"name": "Asha", "primaryPhone": "98765 43210", "configurations": "2BHK"}


def test_every_standard_question_fills_a_lead_field_the_pipeline_knows() -> None:
    from leads.capture import fieldmap

    assert set(meta.META_FIELDS.values()) <= fieldmap.TARGETS
