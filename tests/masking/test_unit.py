"""The masking rules as pure functions, over generated numbers: search tokens, the stored form, replies, the
backstop's decision and the XML that rings an agent."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.caller import Caller
from core.org_settings import OrgSettings
from leads import phones, search, store
from tests.masking.leaks import found
from tests.support.callers import make_caller

pytestmark = pytest.mark.unit

# (country code, national length): India, the US, the UK, the UAE, Singapore (8 digits: 4 of them hidden).
COUNTRIES = [("+91", 10), ("+1", 10), ("+44", 10), ("+971", 9), ("+65", 8)]


@st.composite
def numbers(draw: Any) -> phones.ParsedPhone:
    """A phone as the parser stores it: country code, national digits and E.164."""
    code, length = draw(st.sampled_from(COUNTRIES))
    national = draw(st.sampled_from("6789")) + draw(st.text("0123456789", min_size=length - 1, max_size=length - 1))
    return phones.ParsedPhone(code, national, code + national)


def contact_of(*parsed: phones.ParsedPhone) -> dict[str, Any]:
    """A private contact with these phones (primary, then alternate)."""
    raw = [p.raw() for p in parsed]
    return {"primaryPhone": raw[0], "alternatePhone": raw[1] if len(raw) > 1 else None, "emails": []}


def hidden_prefixes(phone: phones.ParsedPhone) -> list[str]:
    """Every digit prefix a search could try that goes beyond what the mask shows and is not the whole number."""
    national, with_code = phone.national, phones.digits(phone.e164)
    shown = len(phone.country_code) - 1 + 2  # the country code and the first two digits are on display
    out = [national[:end] for end in range(search.PHONE_PREFIX_MIN, len(national)) if end > 2]
    return out + [with_code[:end] for end in range(max(search.PHONE_PREFIX_MIN, shown + 1), len(with_code))]


@settings(max_examples=60, deadline=None)
@given(phone=numbers(), name=st.text(min_size=1, max_size=30))
def test_where_masked_no_prefix_query_finds_a_lead_and_the_whole_number_does(
    phone: phones.ParsedPhone, name: str
) -> None:
    tokens = set(store.Contact.of(contact_of(phone)).masked_view(name, masked=True)["searchTokens"])
    assert not {search.query_token(prefix) for prefix in hidden_prefixes(phone)} & tokens
    for query in (phone.national, phone.e164, f"{phone.country_code} {phone.national[:5]} {phone.national[5:]}"):
        assert search.query_token(query) in tokens, query
    plain = set(store.Contact.of(contact_of(phone)).masked_view(name, masked=False)["searchTokens"])
    assert search.query_token(phone.national[:5]) in plain  # control: where not masked, prefixes do find it


@settings(max_examples=60, deadline=None)
@given(first=numbers(), second=numbers(), name=st.text(min_size=1, max_size=30))
def test_where_masked_two_numbers_share_no_token_so_comparing_leads_tells_nothing(
    first: phones.ParsedPhone, second: phones.ParsedPhone, name: str
) -> None:
    # The listener shows an agent the tokens of its leads, including one it created with a number of its choice:
    # two leads may share a phone token only when a whole number is the same (a full guess, nothing less).
    shared = set(store.Contact.of(contact_of(first)).masked_view(name, masked=True)["searchTokens"]) & set(
        store.Contact.of(contact_of(second)).masked_view(name, masked=True)["searchTokens"]
    )
    whole = {phones.digits(n) for n in (first.national, first.e164)} & {
        phones.digits(n) for n in (second.national, second.e164)
    }
    assert shared - search.name_tokens(name) == {search.query_token(number) for number in whole}


@settings(max_examples=60, deadline=None)
@given(primary=numbers(), alternate=st.none() | numbers(), name=st.text(min_size=1, max_size=30))
def test_a_raw_document_is_conformed_from_itself_and_a_conformed_one_is_left_alone(
    primary: phones.ParsedPhone, alternate: phones.ParsedPhone | None, name: str
) -> None:
    contact = contact_of(primary, *([alternate] if alternate else []))
    raw_doc = {"name": name, **store.Contact.of(contact).masked_view(name, masked=False)}
    fixed = store.conform(store.LeadRecord.from_document("", raw_doc), masked=True)
    assert fixed == store.Contact.of(contact).masked_view(name, masked=True)
    secrets = {"primary": primary.national} | ({"alternate": alternate.national} if alternate else {})
    visible = {field: fixed[field] for field in store.PHONE_FIELDS}
    assert found(visible, {k: v for k, v in secrets.items() if len(v) >= 9}) == []
    assert (
        not store.LeadRecord.from_document("", {**raw_doc, **fixed}).holds_raw
        and store.conform(store.LeadRecord.from_document("", {**raw_doc, **fixed}), masked=True) == {}
    )
    assert (
        store.conform(store.LeadRecord.from_document("", raw_doc), masked=False) == {}
    )  # unmasking needs the private contact


def caller(role: str, *, masks: bool) -> Caller:
    """A caller of an organization that masks (or not)."""
    return make_caller(role, uid="u1", settings={"phoneMasking": masks})


@pytest.mark.parametrize("role", ["admin", "manager", "agent", "rm"])
@pytest.mark.parametrize("masks", [True, False])
@pytest.mark.parametrize("stored_masked", [True, False])
def test_every_role_gets_raw_numbers_exactly_where_allowed(role: str, masks: bool, stored_masked: bool) -> None:
    phone = phones.ParsedPhone("+91", "9847381956", "+919847381956")
    contact = store.Contact.of(contact_of(phone))
    lead = store.LeadRecord.from_document("l1", {"name": "Asha", **contact.masked_view("Asha", masked=stored_masked)})
    who = caller(role, masks=masks)
    shown = store.present(lead, who, contact=contact if store.sees_raw(who) else None).reply()
    leaked = bool(found(shown, {"primary": phone.national}))
    if role in {"agent", "rm"}:
        assert leaked is (not masks and not stored_masked)
        assert not leaked or not masks
    else:
        assert leaked  # admins and managers always see the number (from the private contact when masked)


def test_the_backstop_looks_only_at_writes_that_can_store_a_number() -> None:
    from triggers.masking import needs_guard

    lead = {"name": "Asha", "primaryPhone": {"e164": None}, "searchTokens": ["a"], "stage": "new"}
    assert needs_guard(None, lead)  # created
    for field in ("primaryPhone", "alternatePhone", "searchTokens", "name"):
        assert needs_guard(lead, {**lead, field: "changed"}), field
    assert not needs_guard(lead, {**lead, "stage": "booked", "tags": ["hot"]})
    assert not needs_guard(lead, None)  # deleted


@settings(max_examples=40, deadline=None)
@given(phone=numbers(), recording=st.booleans())
@example(phone=phones.ParsedPhone("+65", "60804500", "+6560804500"), recording=False)  # "8045": the org's too
def test_an_inbound_call_rings_the_agent_with_the_organizations_number_where_masked(
    phone: phones.ParsedPhone, recording: bool
) -> None:
    from comms.inbound import ring_display
    from comms.providers import PlivoVoice

    voice = PlivoVoice(auth_id="MA", auth_token="t")
    for masks in (True, False):
        org = OrgSettings.of({"settings": {"phoneMasking": masks}})
        caller_id, name = ring_display(org, calling=phone.e164, called="+918035103083", caller_id="+918045678900")
        _, xml = voice.ring_agent(
            call_id="call_1",
            uid="u1",
            caller_id=caller_id,
            caller_name=name,
            record=recording,
            callback_base="https://x",
        )
        if masks:
            # the organization's number rings; the caller's shows only masked (its hidden digits may occur by
            # chance in the organization's number or the SIP user's hash, so only the shown name is searched)
            shown = re.search(r'callerName="([^"]*)"', xml)
            assert 'callerId="918045678900"' in xml and shown is not None
            assert phone.e164.lstrip("+") not in xml and phone.national not in xml
            assert phone.national[2:-2] not in shown.group(1).replace(" ", "")
        else:
            assert f'callerId="{phone.e164.lstrip("+")}"' in xml and "callerName" not in xml


def test_message_lists_read_the_flag_again_only_when_an_agent_would_see_a_raw_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from comms import contact

    reads: list[str] = []

    def now(org_id: str) -> bool:
        reads.append(org_id)
        return True

    monkeypatch.setattr(store, "masks_now", now)
    raw, masked = [{"to": "+919847381956"}], [{"to": "+91 98XXXXXX56"}]
    assert contact.hides_numbers(caller("agent", masks=False), raw) and reads == ["org1"]
    assert contact.hides_numbers(caller("rm", masks=True), raw) and reads == ["org1"]  # no read needed
    assert not contact.hides_numbers(caller("agent", masks=False), masked) and reads == ["org1"]
    assert not contact.hides_numbers(caller("admin", masks=True), raw) and reads == ["org1"]
