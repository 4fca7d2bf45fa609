"""Pure rules of the leads feature, without an emulator: phone parsing and masking, search tokens, purging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ApiError
from leads import phones, search
from leads.store import LeadRecord
from privacy import archived as purge

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lead", "purgeable"),
    [
        ({"archived": True, "archivedAt": NOW - timedelta(days=30)}, True),  # exactly 30 days: due
        ({"archived": True, "archivedAt": NOW - timedelta(days=30) + timedelta(seconds=1)}, False),
        ({"archived": True, "archivedAt": NOW - timedelta(days=400)}, True),
        ({"archived": True, "archivedAt": None}, False),
        ({"archived": True}, False),
        ({"archived": False, "archivedAt": NOW - timedelta(days=400)}, False),  # restored after archiving
        ({"archivedAt": NOW - timedelta(days=400)}, False),
    ],
)
def test_only_leads_archived_30_days_or_more_are_purged(lead: dict[str, object], purgeable: bool) -> None:
    assert purge.is_purgeable(LeadRecord.from_document("l1", lead), NOW) is purgeable


@pytest.mark.parametrize(
    ("number", "country_code", "e164"),
    [
        ("98765 43210", None, "+919876543210"),
        ("9876543210", "+91", "+919876543210"),
        ("+91 98765 43210", None, "+919876543210"),
        ("098765 43210", "+91", "+919876543210"),  # national prefix
        ("91 98765 43210", "+91", "+919876543210"),  # country code repeated in the number
        ("(987) 654-3210", "+91", "+919876543210"),
        ("  98765-43210  ", "+91", "+919876543210"),
        ("+1 415 555 2671", "+91", "+14155552671"),  # an explicit + wins over the country code
        ("415 555 2671", "+1", "+14155552671"),
        ("20 7946 0958", "+44", "+442079460958"),
    ],
)
def test_phones_written_any_way_parse_to_one_e164(number: str, country_code: str | None, e164: str) -> None:
    parsed = phones.parse(number, country_code, default_country_code="+91", field="primaryPhone")
    assert parsed.e164 == e164
    assert parsed.country_code + parsed.national == e164


@pytest.mark.parametrize("number", ["", "abc", "12", "98765", "+999 1234567", "0000000000", "98765 43210 99999"])
@pytest.mark.parametrize("field", ["primaryPhone", "alternatePhone"])
def test_a_number_that_is_not_valid_is_a_400_naming_its_field(number: str, field: str) -> None:
    with pytest.raises(ApiError) as caught:
        phones.parse(number, "+91", default_country_code="+91", field=field)
    assert caught.value.status == 400
    assert f"{field}.number" in caught.value.body()["error"]["fields"]


@pytest.mark.parametrize(
    ("e164", "code", "shown"),
    [
        ("+919876543210", "+91", "+91 98XXXXXX10"),
        ("+14155552671", "+1", "+1 41XXXXXX71"),
        ("+442079460958", "+44", "+44 20XXXXXX58"),
        ("+9112345", "+91", "+91 12X45"),
        ("+911234", "+91", "+91 XXXX"),
    ],
)
def test_a_mask_shows_the_country_code_and_two_digits_at_each_end(e164: str, code: str, shown: str) -> None:
    assert phones.mask(e164, code) == shown


@given(st.text())
def test_digits_keeps_only_ascii_digits_in_order(text: str) -> None:
    kept = phones.digits(text)
    assert kept == "".join(ch for ch in text if ch in "0123456789")
    assert kept == "" or int(kept) >= 0


def test_the_stored_form_hides_the_number_only_where_the_organization_masks() -> None:
    parsed = phones.parse("98765 43210", "+91", default_country_code="+91", field="primaryPhone")
    plain, masked = parsed.stored(masked=False), parsed.stored(masked=True)
    assert plain == {"countryCode": "+91", "number": "9876543210", "e164": "+919876543210", "masked": "+91 98XXXXXX10"}
    assert masked == {"countryCode": "+91", "number": "98XXXXXX10", "e164": None, "masked": "+91 98XXXXXX10"}
    assert parsed.raw() == {"countryCode": "+91", "number": "9876543210", "e164": "+919876543210"}


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("Ravi Kumar", "ravi"),
        ("Ravi Kumar", "KUM"),
        ("Ravi Kumar", "ravi k"),
        ("José Álvarez", "jose"),
        ("José Álvarez", "alv"),
        ("Ravi   Kumar", "ravi kumar"),  # runs of spaces fold to one
    ],
)
def test_a_name_is_found_by_a_prefix_of_it_or_of_any_word(name: str, query: str) -> None:
    assert search.query_token(query) in search.name_tokens(name)


@pytest.mark.parametrize(("name", "query"), [("Ravi Kumar", "umar"), ("Ravi Kumar", "kumari"), ("Asha", "ravi")])
def test_a_name_is_not_found_by_what_is_not_a_prefix(name: str, query: str) -> None:
    assert search.query_token(query) not in search.name_tokens(name)


@pytest.mark.parametrize(
    ("query", "found_plain", "found_masked"),
    [
        ("9876543210", True, True),
        ("+91 98765 43210", True, True),
        ("919876543210", True, True),
        ("98765", True, False),  # a prefix finds it only where numbers are not masked
        ("987", True, False),
        ("98", False, False),  # too short to be a phone query: a name prefix, which no digits match
        ("9876543211", False, False),
    ],
)
def test_a_phone_is_found_by_its_prefixes_unless_masked_then_only_whole(
    query: str, found_plain: bool, found_masked: bool
) -> None:
    token = search.query_token(query)
    assert (token in search.phone_tokens("+919876543210", "9876543210")) is found_plain
    assert (token in search.phone_tokens("+919876543210", "9876543210", masked=True)) is found_masked


def test_tokens_never_hold_the_text_they_stand_for() -> None:
    tokens = search.lead_tokens("Ravi Kumar", [("+919876543210", "9876543210")])
    assert tokens == sorted(set(tokens)) and len(tokens) > 20
    assert not [t for t in tokens if "ravi" in t.lower() or "98765" in t or "kumar" in t.lower()]
