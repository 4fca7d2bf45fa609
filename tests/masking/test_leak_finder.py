"""The leak finder the no-leak tests rely on sees a number in any format and nothing in a mask."""

from __future__ import annotations

import pytest

from tests.masking.leaks import found, windows
from tests.masking.test_no_leak import SECRETS, TYPED

pytestmark = pytest.mark.unit


def test_the_leak_finder_sees_a_number_in_any_format_and_nothing_in_a_mask() -> None:
    number = SECRETS["primary"]
    for shown in (
        number,
        f"+91{number}",
        f"+91 {number[:5]} {number[5:]}",
        f"0{number[:3]}-{number[3:6]}-{number[6:]}",
        f'{{"e164": "+91{number}"}}',
        f"<Number>91{number}</Number>",
        f"tel:+91{number}",
    ):
        assert found(shown, SECRETS) == ["primary"], shown
    for masked in ("+91 98XXXXXX56", '{"number": "98XXXXXX56", "masked": "+91 98XXXXXX56"}', "l_Zk9847381956abQ"):
        assert found(masked, SECRETS) == [], masked
    others = [*TYPED.values(), "918035103083", "20261125", "1795590000"]
    assert all(not (windows(secret) & windows(other)) for secret in SECRETS.values() for other in others)
