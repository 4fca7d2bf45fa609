"""Per-client login limits key on the address Google's front end appends, not on what the client writes."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.inproc import call

pytestmark = pytest.mark.http

CLIENT = "203.0.113.7"


def _request_code(forwarded_for: str, n: int) -> int:
    return call(
        "POST",
        "/auth/otp/request",
        json_body={"email": f"nobody{n}@example.com"},
        headers={"X-Forwarded-For": forwarded_for},
    ).status


def test_a_forged_forwarded_for_does_not_move_a_client_to_another_throttle_bucket(db: Any) -> None:
    from auth.service import PER_CLIENT

    for n in range(PER_CLIENT.count):
        assert _request_code(f"198.51.100.{n}, {CLIENT}", n) == 202
    refused = call(
        "POST",
        "/auth/otp/request",
        json_body={"email": "someone-else@example.com"},
        headers={"X-Forwarded-For": f"10.9.8.7, 192.0.2.{PER_CLIENT.count}, {CLIENT}"},
    )
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    assert _request_code("203.0.113.8", 999) == 202, "another real client keeps its own budget"
