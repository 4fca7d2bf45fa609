"""Unit tests of the production log shape, the trusted client address and the 500 body's request id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Request
from werkzeug.test import EnvironBuilder

from core import logs
from core.http import Router, client_address

pytestmark = pytest.mark.unit

TRACE = "105445aa7843bc8bf206b12000100000"


def _request(path: str, headers: dict[str, str] | None = None, remote_addr: str = "10.0.0.1") -> Request:
    builder = EnvironBuilder(
        path=path, method="GET", headers=list((headers or {}).items()), environ_base={"REMOTE_ADDR": remote_addr}
    )
    return Request(builder.get_environ())


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The justo logger's JSON lines, as Cloud Logging would read them."""
    stream = io.StringIO()
    monkeypatch.setenv("K_SERVICE", "leads")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.CloudFormatter("justo-prod"))
    logger = logging.getLogger("justo")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_an_unexpected_error_logs_its_stack_once_with_the_request_id_the_client_sees(captured: io.StringIO) -> None:
    router = Router("leads")

    @router.get("/boom", public=True)
    def boom(call: Any) -> None:
        raise RuntimeError("lead agent1@demo.example.com phone +91 98765 43210 broke")

    status, _, body, _, _ = router.dispatch(_request("/boom", {"X-Cloud-Trace-Context": f"{TRACE}/1;o=1"}))
    assert status == 500
    request_id = body["error"]["requestId"]
    assert body["error"] == {
        "code": "INTERNAL",
        "message": "Something went wrong; it has been logged",
        "requestId": request_id,
    }
    (entry,) = _lines(captured)
    assert entry["severity"] == "ERROR" and entry["function"] == "leads" and entry["requestId"] == request_id
    assert entry["logging.googleapis.com/trace"] == f"projects/justo-prod/traces/{TRACE}"
    assert "RuntimeError" in entry["stack_trace"] and "Traceback" in entry["stack_trace"]
    assert "agent1@demo.example.com" not in json.dumps(entry) and "98765" not in json.dumps(entry)


def test_client_errors_are_not_logged_as_errors_and_a_bad_trace_header_is_ignored(captured: io.StringIO) -> None:
    router = Router("leads")
    status, _, body, _, _ = router.dispatch(_request("/nowhere", {"X-Cloud-Trace-Context": "../etc;o=1"}))
    assert status == 404 and "requestId" not in body["error"]
    assert _lines(captured) == []
    assert logs.trace_id("../etc") is None and logs.trace_id(f"{TRACE}/9") == TRACE


@pytest.mark.parametrize(
    ("forwarded", "remote", "expected"),
    [
        (None, "10.0.0.1", "10.0.0.1"),
        ("203.0.113.7", "169.254.1.1", "203.0.113.7"),
        ("1.2.3.4, 203.0.113.7", "169.254.1.1", "203.0.113.7"),
        ("forged, 5.6.7.8, 203.0.113.7", "169.254.1.1", "203.0.113.7"),
        ("203.0.113.7,", "169.254.1.1", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "169.254.1.1", "2001:db8:1:2::/64"),
        ("not an address", "169.254.1.1", "unknown"),
    ],
)
def test_the_client_address_is_the_hop_googles_front_end_appends(
    forwarded: str | None, remote: str, expected: str
) -> None:
    assert client_address(forwarded, remote) == expected


def test_a_forged_forwarded_for_never_moves_a_client_to_another_bucket() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    hop = st.one_of(st.ip_addresses().map(str), st.text(alphabet="0123456789abcdef.:, x", max_size=40))

    @given(forged=st.lists(hop, max_size=5))
    def check(forged: list[str]) -> None:
        header = ", ".join([*forged, "203.0.113.7"])
        assert client_address(header, "169.254.1.1") == "203.0.113.7"

    check()


def test_scrub_removes_emails_and_phone_numbers_but_keeps_dates_and_ids() -> None:
    text = "org=demo lead=abc123 at 2026-12-01T10:00:00 by a.b+c@x.example.in from +91 98765 43210 or 9876543210"
    assert logs.scrub(text) == "org=demo lead=abc123 at 2026-12-01T10:00:00 by [email] from [number] or [number]"
