"""The lead store's pure parts: the typed record and its stored form, the contact and its keys, presenting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.caller import SYSTEM, Caller
from leads import phones, store
from leads.merge import merged_contact
from leads.store import Contact, LeadRecord, StoredPhone

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
ASHA = phones.ParsedPhone("+91", "9847381956", "+919847381956")
RAVI = phones.ParsedPhone("+91", "9876543210", "+919876543210")
LONDON = phones.ParsedPhone("+44", "7911123456", "+447911123456")

labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
moments = st.datetimes(timezones=st.just(UTC))
phone_maps = (
    st.sampled_from([ASHA, RAVI, LONDON])
    .flatmap(
        lambda p: st.sampled_from([StoredPhone.from_parsed(p, masked=True), StoredPhone.from_parsed(p, masked=False)])
    )
    .map(StoredPhone.document)
)


@st.composite
def documents(draw: Any) -> dict[str, Any]:
    """Lead documents as writers store them, with fields this version does not know."""
    document = {
        "orgId": draw(labels),
        "name": draw(st.text(max_size=30)),
        "stage": draw(labels),
        "source": draw(st.none() | labels),
        "primaryPhone": draw(phone_maps),
        "alternatePhone": draw(st.none() | phone_maps),
        "emails": draw(st.lists(st.emails(), max_size=3)),
        "searchTokens": draw(st.lists(labels, max_size=4)),
        "tags": draw(st.lists(labels, max_size=3)),
        "doNotContact": draw(st.lists(st.sampled_from(["sms", "call", "email", "whatsapp"]), max_size=2)),
        "optIns": [{"channel": "whatsapp", "at": draw(moments), "by": draw(st.none() | labels)}],
        "location": draw(st.none() | st.fixed_dictionaries({"city": labels})),
        "budget": draw(st.none() | st.fixed_dictionaries({"min": st.integers(0, 10**9), "currency": st.just("INR")})),
        "assigneeId": draw(st.none() | labels),
        "teamId": draw(st.none() | labels),
        "archived": draw(st.booleans()),
        "archivedAt": draw(st.none() | moments),
        "mergedFrom": draw(st.lists(labels, max_size=2)),
        "sourceId": draw(st.none() | labels),
        "campaign": draw(st.none() | st.fixed_dictionaries({"id": labels, "formId": labels})),
        "firstSource": draw(st.none() | labels),
        "enquiries": draw(st.lists(st.fixed_dictionaries({"captureId": labels, "at": moments}), max_size=2)),
        "lastEnquiredAt": draw(st.none() | moments),
        "assignmentHistory": draw(
            st.lists(st.fixed_dictionaries({"assigneeId": labels, "at": moments, "reason": labels}), max_size=2)
        ),
        "queue": draw(st.none() | st.sampled_from(["team", "managers"])),
        "firstContactAt": draw(st.none() | moments),
        "slaReassignments": draw(st.integers(0, 5)),
        "createdAt": draw(moments),
        "updatedAt": draw(moments),
        "version": draw(st.integers(1, 10_000)),
    }
    document.update(draw(st.dictionaries(st.sampled_from(["futureField", "kycStatus", "score"]), labels)))
    return document


@settings(max_examples=80, deadline=None)
@given(document=documents())
def test_a_stored_document_survives_the_record_unchanged(document: dict[str, Any]) -> None:
    lead = LeadRecord.from_document("l1", document)
    assert lead.document() == {**LeadRecord(id="l1").document(), **document}  # absent fields: their defaults
    assert lead.reply() == {"id": "l1", **lead.document()}
    assert LeadRecord.from_document("l1", lead.document()) == lead


@settings(max_examples=40, deadline=None)
@given(document=documents(), stage=labels, version=st.integers(1, 99))
def test_an_update_reads_back_as_firestore_would_store_it(document: dict[str, Any], stage: str, version: int) -> None:
    lead = LeadRecord.from_document("l1", document)
    changed = lead.updated({"stage": stage, "version": version, "firstContactAt": NOW, "futureField": "x"})
    assert (changed.stage, changed.version, changed.first_contact_at) == (stage, version, NOW)
    assert changed.extra["futureField"] == "x"
    expected = {**lead.document(), "stage": stage, "version": version, "firstContactAt": NOW, "futureField": "x"}
    assert changed.document() == expected


def test_a_partial_or_hand_edited_document_still_makes_a_record() -> None:
    lead = LeadRecord.from_document("l1", {"name": "Asha", "primaryPhone": {"countryCode": "+91"}, "version": None})
    assert (lead.name, lead.stage, lead.version, lead.created_at) == ("Asha", "", 1, None)
    assert lead.primary_phone == StoredPhone("+91", "", None, None) and lead.holds_masked and not lead.holds_raw
    assert LeadRecord.from_document("l2", {"primaryPhone": "98473 81956"}).primary_phone is None


def test_contactable_and_opted_in_read_the_buyers_choices() -> None:
    lead = LeadRecord.from_document("l1", {"doNotContact": ["sms"], "optIns": [{"channel": "whatsapp", "at": NOW}]})
    assert not lead.contactable("sms") and lead.contactable("call")
    assert lead.opted_in("whatsapp") and not lead.opted_in("email")


def test_a_contact_claims_one_key_per_phone_and_email_lowercased_once() -> None:
    contact = Contact.build(ASHA, LONDON, ["Asha@Example.com", "asha@example.com", "a2@example.com"])
    assert contact.emails == ("asha@example.com", "a2@example.com")
    assert contact.keys() == {
        store.contact_key("phone", ASHA.e164): "primaryPhone",
        store.contact_key("phone", LONDON.e164): "alternatePhone",
        store.contact_key("email", "asha@example.com"): "emails.0",
        store.contact_key("email", "a2@example.com"): "emails.1",
    }
    with pytest.raises(Exception, match="same as primaryPhone") as refused:
        Contact.build(ASHA, ASHA, [])
    assert getattr(refused.value, "fields", None) == {"alternatePhone.number": "the same as primaryPhone"}


def test_a_private_contact_reads_back_from_its_document() -> None:
    contact = Contact.build(ASHA, None, ["asha@example.com"])
    document = contact.document("l1", NOW)
    assert document == {
        "primaryPhone": ASHA.raw(),
        "alternatePhone": None,
        "emails": ["asha@example.com"],
        "leadId": "l1",
        "updatedAt": NOW,
    }
    assert Contact.of(document) == contact
    # a masked email (as a message record shows it) is never taken for an address to send to
    assert Contact.of({"emails": ["a***@example.com", {"address": "b@example.com"}]}).emails == ("b@example.com",)


@pytest.mark.parametrize("masked", [True, False])
def test_the_document_view_of_a_contact_masks_exactly_where_asked(masked: bool) -> None:
    view = Contact.build(ASHA, LONDON, []).view("Asha", masked=masked)
    primary = StoredPhone.of(view["primaryPhone"])
    assert primary is not None and (primary.e164 is None) is masked
    assert primary.masked == "+91 98XXXXXX56"
    assert (ASHA.national in str(view)) is not masked and (LONDON.national in str(view)) is not masked
    assert view["emails"] == [] and view["searchTokens"]


def test_merging_keeps_the_targets_phones_and_adds_the_duplicates_where_there_is_room() -> None:
    target = Contact.build(ASHA, None, ["a@example.com"])
    duplicate = Contact.build(ASHA, RAVI, ["b@example.com", "a@example.com"])
    merged = merged_contact(target, duplicate)
    assert merged == Contact(ASHA, RAVI, ("a@example.com", "b@example.com"))
    full = Contact.build(ASHA, LONDON, [f"{i}@example.com" for i in range(5)])
    assert merged_contact(full, duplicate) == Contact(ASHA, LONDON, full.emails)  # at most five emails


def caller(role: str, *, masks: bool) -> Caller:
    """A member of an organization that masks (or not)."""
    org = {"settings": {"phoneMasking": masks}}
    return Caller("u1", "org1", role, "north", "U", "u@example.com", frozenset(), org)


@pytest.mark.parametrize("role", ["admin", "manager", "agent", "rm", "system"])
@pytest.mark.parametrize("masks", [True, False])
def test_present_shows_raw_numbers_only_to_those_who_may_see_them(role: str, masks: bool) -> None:
    contact = Contact.build(ASHA, RAVI, [])
    stored = LeadRecord.from_document("l1", {"name": "Asha", **contact.view("Asha", masked=masks)})
    actor = SYSTEM if role == "system" else caller(role, masks=masks)
    needed = store.sees_raw(actor) and stored.holds_masked  # what contact_for_reply would read
    shown = store.present(stored, actor, contact=contact if needed else None)
    raw = role in {"admin", "manager", "system"} or not masks
    assert (ASHA.e164 in str(shown.reply())) is raw and (RAVI.national in str(shown.reply())) is raw
    assert shown.primary_phone is not None and shown.primary_phone.masked == "+91 98XXXXXX56"


def test_a_fresh_flag_overrides_the_instances_copy_both_ways() -> None:
    stored = LeadRecord.from_document(
        "l1", {"name": "Asha", **Contact.build(ASHA, None, []).view("Asha", masked=False)}
    )
    agent = caller("agent", masks=False)
    assert store.present(stored, agent, org_masks=True).primary_phone == StoredPhone.from_parsed(ASHA, masked=True)
    assert store.present(stored, caller("agent", masks=True), org_masks=False) == stored


def test_conform_and_wanted_changes_bring_a_document_to_the_flag() -> None:
    contact = Contact.build(ASHA, None, [])
    raw = LeadRecord.from_document("l1", {"name": "Asha", **contact.view("Asha", masked=False)})
    masked = raw.updated(store.conform(raw, masked=True))
    assert masked.holds_masked and not masked.holds_raw
    assert store.conform(masked, masked=True) == {} and store.conform(raw, masked=False) == {}
    assert store.wanted_changes(masked, contact, masked=True) == {}
    back = store.wanted_changes(masked, contact, masked=False)
    assert masked.updated(back).document() == raw.document()
    assert store.wanted_changes(masked, None, masked=False) == {}  # unmasking needs the private contact


@pytest.mark.parametrize(
    ("number", "code", "shown"),
    [
        ("+919847381956", "+91", "+91 98XXXXXX56"),
        ("+919847381956", None, "+91 98XXXXXX56"),
        ("+14155550123", None, "+1 41XXXXXX23"),
        ("+447911123456", "+44", "+44 79XXXXXX56"),
        ("+9112", "+91", "+91 XX"),
        ("not a number 98473", None, "98X73"),
    ],
)
def test_the_one_mask(number: str, code: str | None, shown: str) -> None:
    assert phones.mask(number, code) == shown
