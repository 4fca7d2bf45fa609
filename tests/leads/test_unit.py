"""Pure rules of the leads feature, without an emulator: phone parsing and masking, search tokens, purging."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import secrets
from core.errors import ApiError
from core.ids import keyed_hash
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


# Search tokens are stored on every lead and looked up by query: a change of a single byte would make every
# stored lead unfindable. These values were computed by the implementation that hashed each token from scratch
# (keyed_hash(SEARCH_KEY, "lead-search:{kind}:{value}")[:20]) under the development key.
FIXED_TOKENS = [
    (lambda: search.query_token("9812"), "531d4d49d5586b2b6042"),
    (lambda: search.query_token("Ravi K"), "64b4d7ea517b283d71f4"),
    (lambda: sorted(search.name_tokens("Ab")), ["2f8529001da9a4377a3b", "e841963e5191a245be55"]),
    (
        lambda: sorted(search.phone_tokens("+14155550100", "4155550100", masked=True)),
        ["2f47da006ee5ea93f3ac", "5a524f54c0fa9b6a6c72"],
    ),
    (
        lambda: search.lead_tokens("Zoë Ñandú  x", [("+919812345678", "98123 45678")], masked=True),
        [
            "0c1206e68accc2a2151f", "12ba0e4295ae5f00a923", "1dc31726f95ecff16bf3", "1ef4c6140bc5532c03de",
            "2e0852b75b4e330d6c84", "309f0341c77a973a9ca7", "46ec0c378b3638befccb", "803b738891d2fd9cc47e",
            "869e5c4b13b7047d6167", "98ab8d78eae00f5f06cf", "9e263f29c908c1720cb1", "b5571f656c09855b6c1b",
            "c143b1d994780f41b8e8", "c61855c251ad1fa1c747", "ce1d17d9f904deed2114", "d2f7f6039713f843b333",
            "e80a690c9be11594db51", "eea463ee47c9c03ba142", "eeca414f41caff79fcf0",
        ],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("compute", "expected"), FIXED_TOKENS)
def test_search_tokens_are_byte_for_byte_those_already_stored(
    compute: Callable[[], object], expected: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SEARCH_KEY", raising=False)
    assert compute() == expected


def test_a_lead_has_the_tokens_it_had_before_under_the_development_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEARCH_KEY", raising=False)
    tokens = search.lead_tokens("Ravi Kumar", [("+919812345678", "09812345678")])
    assert len(tokens) == 34
    assert tokens[:3] == ["04c72042beb8ee4867a4", "0c8f99d020253f8b97e7", "0e0158b79042e941ee9f"]
    assert tokens[-3:] == ["ed3c849ca2bf1e609d8b", "fbf4ef1dab5fe610a846", "fe14fd5803882c1723c6"]


def _reference_token(kind: str, value: str) -> str:
    """The token as first defined: one keyed hash from scratch per token."""
    return keyed_hash(secrets.value(secrets.SEARCH_KEY), f"lead-search:{kind}:{value}")[:20]


def _reference_lead_tokens(name: str, phones_: list[tuple[str, str]], masked: bool) -> list[str]:
    """lead_tokens as first written, token by token from its definition."""
    folded = search._fold(name)
    tokens = {
        _reference_token("n", part[:end])
        for part in [folded, *folded.split(" ")]
        for end in range(1, min(len(part), search.NAME_PREFIX_MAX) + 1)
    }
    for e164, national in phones_:
        for number in (phones.digits(national), phones.digits(e164)):
            first = len(number) if masked else search.PHONE_PREFIX_MIN
            tokens |= {_reference_token("p", number[:end]) for end in range(first, len(number) + 1)}
    return sorted(tokens)


_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
_phone = st.tuples(st.text("0123456789 +-()", max_size=16), st.text("0123456789 +-()", max_size=16))


@given(name=_text, phone_pairs=st.lists(_phone, max_size=3), masked=st.booleans(), key=st.sampled_from(["", "k2"]))
def test_search_tokens_agree_with_the_reference_definition(
    name: str, phone_pairs: list[tuple[str, str]], masked: bool, key: str
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEARCH_KEY", key)  # "" is the development key on the emulators
        assert search.lead_tokens(name, phone_pairs, masked=masked) == _reference_lead_tokens(name, phone_pairs, masked)
        query = name or "x"
        text = query.strip()
        digits_only = re.fullmatch(r"[\d\s()+-]+", text) and len(phones.digits(text)) >= search.PHONE_PREFIX_MIN
        expected = (
            _reference_token("p", phones.digits(text))
            if digits_only
            else _reference_token("n", search._fold(text)[: search.NAME_PREFIX_MAX])
        )
        assert search.query_token(query) == expected
