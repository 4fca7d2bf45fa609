"""Incoming calls ring an endpoint named from the member's uid: two members, of one organization or of two,
never share one, so no token (`sub`) and no ringing (`<User>sip:...`) reaches another member's app."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.providers import PlivoVoice, endpoint_username

pytestmark = pytest.mark.unit

UIDS = st.text(min_size=1, max_size=128)


@settings(max_examples=300, deadline=None)
@given(st.lists(UIDS, min_size=2, max_size=6, unique=True))
def test_distinct_members_have_distinct_endpoints_of_letters_and_digits(uids: list[str]) -> None:
    endpoints = [endpoint_username(uid) for uid in uids]
    assert len(set(endpoints)) == len(uids)
    assert all(e.isascii() and e.isalnum() and len(e) <= 40 for e in endpoints)


@pytest.mark.parametrize(
    ("first", "second"),
    [("org1-agent1", "org1agent1"), ("a.b", "ab"), ("x" * 41, "x" * 42), ("ağent", "aent"), ("u_1", "u1")],
)
def test_uids_that_differ_only_in_what_a_username_cannot_hold_get_their_own_endpoint(first: str, second: str) -> None:
    assert endpoint_username(first) != endpoint_username(second)


@given(UIDS, UIDS)
def test_a_members_token_and_the_xml_ringing_it_name_only_its_endpoint(uid: str, other: str) -> None:
    import base64
    import json

    voice = PlivoVoice(auth_id="MA", auth_token="t")
    token = voice.access_token(uid=uid, token_id="reg_1", now=1_764_000_000, lifetime_sec=60)
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    _, xml = voice.ring_agent(call_id="call_1", uid=uid, caller_id="+918045678900", record=False, callback_base="x")
    assert claims["sub"] == endpoint_username(uid) and f"<User>sip:{claims['sub']}@phone.plivo.com</User>" in xml
    if other != uid:
        assert endpoint_username(other) not in xml and claims["sub"] != endpoint_username(other)
