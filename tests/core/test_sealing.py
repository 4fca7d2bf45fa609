"""core.sealing: what is sealed opens only with its secret and its context, and never shows its text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import sealing, secrets

pytestmark = pytest.mark.unit

text = st.text(min_size=1, max_size=200)


@settings(max_examples=60, deadline=None)
@given(plain=text, context=text, other=text)
def test_sealed_text_opens_in_its_context_only_and_does_not_show_itself(plain: str, context: str, other: str) -> None:
    sealed = sealing.seal(secrets.CAPTURE_KEY_PEPPER, plain, context=context)
    assert sealing.unseal(secrets.CAPTURE_KEY_PEPPER, sealed, context=context) == plain
    if other != context:
        assert sealing.unseal(secrets.CAPTURE_KEY_PEPPER, sealed, context=other) is None
    assert sealing.unseal(secrets.OTP_PEPPER, sealed, context=context) is None  # another secret's key
    if len(plain) >= 4:
        assert plain not in sealed
    assert sealing.seal(secrets.CAPTURE_KEY_PEPPER, plain, context=context) != sealed  # a fresh nonce each time


@pytest.mark.parametrize("damage", ["flip", "truncate", "version", "garbage"])
def test_a_tampered_sealed_value_does_not_open(damage: str) -> None:
    sealed = sealing.seal(secrets.CAPTURE_KEY_PEPPER, "the-source-key", context="record")
    broken = {
        "flip": sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1],
        "truncate": sealed[:20],
        "version": "v0" + sealed[2:],
        "garbage": "v1.%%%",
    }[damage]
    assert sealing.unseal(secrets.CAPTURE_KEY_PEPPER, broken, context="record") is None
