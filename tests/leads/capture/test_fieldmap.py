"""The field map and normalization, pure: every default map, every target, phones and emails however written."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leads.capture import fieldmap

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("payload", "field_map", "expected"),
    [
        (
            {"name": "Asha", "phone": "9845022001", "email": "a@x.in", "city": "Pune", "message": "Hi"},
            fieldmap.WEBSITE_MAP,
            {"name": "Asha", "primaryPhone": "9845022001", "email": "a@x.in", "location.city": "Pune", "note": "Hi"},
        ),
        ({"lead": {"mobile": " 98450 22001 "}}, {"lead.mobile": "primaryPhone"}, {"primaryPhone": "98450 22001"}),
        ({"a.b": "dotted key wins", "a": {"b": "nested"}}, {"a.b": "name"}, {"name": "dotted key wins"}),
        (
            {"mobile": "", "phone": "9845022001"},
            {"mobile": "primaryPhone", "phone": "primaryPhone"},
            {"primaryPhone": "9845022001"},
        ),
        ({"mobile": ["9845022001", "x"]}, {"mobile": "primaryPhone"}, {"primaryPhone": "9845022001"}),
        ({"phone": {"nested": "object"}, "flag": True}, {"phone": "primaryPhone", "flag": "name"}, {}),
        ({"phone": 9845022001}, {"phone": "primaryPhone"}, {"primaryPhone": "9845022001"}),
        ({"x": "y"}, {"x": "shoeSize"}, {}),
        ({"caller": "09845022001"}, fieldmap.MISSEDCALL_MAP, {"primaryPhone": "09845022001"}),
    ],
)
def test_map_payload(payload: dict[str, Any], field_map: dict[str, str], expected: dict[str, str]) -> None:
    assert fieldmap.map_payload(payload, field_map) == expected


@pytest.mark.parametrize("kind", ["website", "generic", "magicbricks", "housing", "missedcall", "99acres", "meta"])
def test_every_default_map_fills_only_known_lead_fields(kind: str) -> None:
    mapping = fieldmap.default_map(kind)
    assert mapping and fieldmap.bad_targets(mapping) == []


def test_bad_targets_names_the_payload_fields() -> None:
    assert fieldmap.bad_targets({"a": "name", "b": "shoeSize", "c": "location"}) == ["b", "c"]


@pytest.mark.parametrize(
    ("mapped", "e164", "emails", "problems"),
    [
        ({"primaryPhone": "098450 22001"}, "+919845022001", (), ()),
        ({"primaryPhone": "+91 98450-22001"}, "+919845022001", (), ()),
        ({"primaryPhone": "919845022001"}, "+919845022001", (), ()),
        ({"primaryPhone": "650 253 0000", "countryCode": "1"}, "+16502530000", (), ()),
        (
            {"primaryPhone": "12345", "email": "A@Example.COM"},
            None,
            ("a@example.com",),
            ("primaryPhone is not a valid phone number",),
        ),
        ({"email": "not-an-email"}, None, (), ("email is not a valid address",)),
        ({"alternatePhone": "9845022001"}, "+919845022001", (), ()),
        ({}, None, (), ()),
    ],
)
def test_normalize_phones_and_emails(
    mapped: dict[str, str], e164: str | None, emails: tuple[str, ...], problems: tuple[str, ...]
) -> None:
    normalized = fieldmap.normalize(mapped, default_country_code="+91")
    assert (normalized.primary.e164 if normalized.primary else None) == e164
    assert normalized.emails == emails and normalized.problems == problems
    assert (fieldmap.rejection(normalized) is None) == (e164 is not None or bool(emails))


def test_normalize_builds_name_location_budget_and_campaign() -> None:
    normalized = fieldmap.normalize(
        {
            "firstName": "Asha",
            "lastName": "Rao",
            "primaryPhone": "9845022001",
            "location.city": "Pune",
            "budget.min": "50,00,000",
            "budget.max": "Rs 80,00,000",
            "campaign.id": "c1",
            "note": "2BHK please",
        },
        default_country_code="+91",
    )
    assert normalized.name == "Asha Rao" and normalized.lead["location"] == {"city": "Pune"}
    assert normalized.lead["budget"] == {"min": 5_000_000, "max": 8_000_000}
    upside_down = fieldmap.normalize({"budget.min": "9000000", "budget.max": "80"}, default_country_code="+91")
    assert "budget" not in upside_down.lead
    assert normalized.campaign == {"id": "c1"} and normalized.note == "2BHK please"
    assert fieldmap.normalize({"primaryPhone": "9845022001"}, default_country_code="+91").name == fieldmap.UNNAMED


def test_google_columns_map_by_column_id_and_unknown_questions_become_the_note() -> None:
    fields = fieldmap.google_fields(
        [
            {"column_id": "FULL_NAME", "string_value": "Vikram"},
            {"column_id": "PHONE_NUMBER", "string_value": "+919845022002"},
            {"column_id": "EMAIL", "string_value": "v@example.com"},
            {"column_id": "CITY", "string_value": "Mumbai"},
            {"column_id": "POSTAL_CODE", "string_value": "400001"},
            {"column_name": "Budget?", "column_id": "QUESTION_1", "string_value": "1 Cr"},
            {"column_id": "EMAIL"},
            "not a column",
        ]
    )
    assert fields == {
        "name": "Vikram",
        "primaryPhone": "+919845022002",
        "email": "v@example.com",
        "location.city": "Mumbai",
        "location.locality": "400001",
        "note": "Budget?: 1 Cr",
    }
    assert fieldmap.google_fields("not a list") == {}


@given(st.integers(min_value=6_000_000_000, max_value=9_999_999_999), st.sampled_from(["", "0", "+91 ", "91", "+91-"]))
def test_any_indian_mobile_written_any_way_normalizes_to_one_e164(number: int, prefix: str) -> None:
    text = str(number)
    spaced = f"{prefix}{text[:5]} {text[5:]}"
    normalized = fieldmap.normalize({"primaryPhone": spaced}, default_country_code="+91")
    if normalized.primary is not None:
        assert normalized.primary.e164 == f"+91{text}"
    else:
        assert normalized.problems == ("primaryPhone is not a valid phone number",)


@given(st.emails())
def test_any_valid_email_is_kept_lower_cased(email: str) -> None:
    normalized = fieldmap.normalize({"email": email}, default_country_code="+91")
    assert normalized.emails in ((email.lower(),), ())
    assert all(e == e.lower() for e in normalized.emails)


@given(
    st.recursive(
        st.text(max_size=20) | st.integers() | st.booleans() | st.none(),
        lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
    )
)
def test_mapping_any_payload_never_raises_and_yields_bounded_text(payload: Any) -> None:
    mapped = fieldmap.map_payload(
        payload if isinstance(payload, dict) else {"x": payload}, {"x": "name", "y.z": "primaryPhone"}
    )
    assert all(isinstance(v, str) and 0 < len(v) <= fieldmap.MAX_VALUE for v in mapped.values())
    fieldmap.normalize(mapped, default_country_code="+91")


@given(
    st.integers(min_value=1_000_000, max_value=99_999_999_999_999),
    st.sampled_from(["{}", "call {} now", "+{}", "{}-x"]),
)
def test_mask_numbers_hides_every_digit_run_of_seven_or_more(number: int, template: str) -> None:
    text = template.format(number)
    digits = str(number)
    masked = fieldmap.mask_numbers({"a": [text], "b": number, "c": {"d": text}})
    hidden = digits[:2] + "X" * (len(digits) - 4) + digits[-2:]
    for value in (masked["a"][0], masked["b"], masked["c"]["d"]):
        assert digits not in str(value) and hidden in str(value)
    assert fieldmap.mask_numbers("flat 12, block 3") == "flat 12, block 3"
