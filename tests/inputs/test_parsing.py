"""The one reading layer for what clients send (issue 12, class 3), as properties over any input: the JSON
body reader, the cursor decoder, If-Match, webhook signatures and payload shapes, CSV amounts, time zones.
Each answers a 4xx naming the field or reads the value; none raises anything else."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from comms.config import DEV_SENDGRID_PUBLIC_KEY
from comms.payloads import SendGridEvent, WhatsAppDelivery
from core.errors import ApiError
from core.http import Call
from core.jsonutil import MAX_DEPTH, parse_client_json
from core.models import INT64_MAX
from core.pagination import PageQuery, decode_cursor, encode_cursor
from devtools.inproc import call
from webhooks import signatures

pytestmark = pytest.mark.unit

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


def _is_400_naming_a_field(error: ApiError) -> bool:
    return error.status == 400 and bool(error.fields) and all(isinstance(key, str) for key in error.fields or {})


# ---- the JSON body reader ----------------------------------------------------------------------

HOSTILE_BODIES = {
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "objects nested 100,000 deep": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "one level too deep": b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1),
    "a 5,000-digit number": b'{"n": ' + b"9" * 5000 + b"}",
    "a number past 64 bits": b'{"budget": {"max": 9223372036854775808}}',
    "1e999": b'{"n": 1e999}',
    "NaN": b'{"n": NaN}',
    "-Infinity": b'{"n": -Infinity}',
    "a lone surrogate escape": b'{"s": "\\ud800"}',
    "a surrogate encoded as UTF-8": b'{"s": "\xed\xa0\x80"}',
    "a surrogate key": b'{"\\udc00": 1}',
    "not UTF-8": b"\xff\xfe\xfd",
    "not JSON": b"{",
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_hostile_bodies_are_a_400_naming_where(body: bytes) -> None:
    with pytest.raises(ApiError) as raised:
        parse_client_json(body)
    assert _is_400_naming_a_field(raised.value), raised.value.body()


def test_the_400_names_the_field_holding_the_bad_value() -> None:
    with pytest.raises(ApiError) as raised:
        parse_client_json(b'{"budget": {"max": 9223372036854775808}, "emails": ["a", "\\udfff"]}')
    assert set(raised.value.fields or {}) <= {"budget.max", "emails.1"}
    deep = b'{"location": ' + b'{"a":' * 40 + b"1" + b"}" * 41
    with pytest.raises(ApiError) as raised:
        parse_client_json(deep)
    assert raised.value.fields == {"location": f"nested more than {MAX_DEPTH} levels deep"}


def test_bodies_within_the_bounds_read_as_json_does() -> None:
    body = {"a": [1, -(2**63), 2**63 - 1, 1.5e300, "text é ☃", None, True], "b": {"c": [[[]]]}}
    assert parse_client_json(json.dumps(body).encode()) == body
    assert parse_client_json(b'{"a":' * MAX_DEPTH + b"1" + b"}" * MAX_DEPTH) is not None


@FAST
@given(st.binary(max_size=200))
def test_any_bytes_read_or_are_a_400(data: bytes) -> None:
    try:
        parse_client_json(data)
    except ApiError as error:
        assert _is_400_naming_a_field(error)


@FAST
@given(json_values)
def test_any_json_value_reads_back_or_is_a_400_naming_where(value: Any) -> None:
    text = json.dumps(value)
    try:
        parsed = parse_client_json(text.encode("utf-8", "surrogatepass"))
    except ApiError as error:
        assert _is_400_naming_a_field(error)
    else:
        assert json.dumps(parsed) == text  # nothing altered: only refused


@pytest.mark.parametrize("path", ["/auth/otp/request", "/auth/otp/verify"])
@pytest.mark.parametrize("body", [HOSTILE_BODIES["nested 100,000 deep"], HOSTILE_BODIES["a 5,000-digit number"]])
def test_the_unauthenticated_otp_endpoints_answer_400_too(path: str, body: bytes) -> None:
    response = call("POST", path, data=body, content_type="application/json")
    assert response.status == 400 and response.error["fields"], response.body


def test_a_body_that_is_not_json_is_415_and_one_too_large_413() -> None:
    text = call("POST", "/auth/otp/request", data=b'{"email": "a@b.co"}', content_type="text/plain")
    assert text.status == 415 and "Content-Type" in text.error["fields"]
    latin = call("POST", "/auth/otp/request", data=b"{}", content_type="application/json; charset=latin-1")
    assert latin.status == 415
    huge = call("POST", "/auth/otp/request", data=b" " * 1_000_001, content_type="application/json")
    assert huge.status == 413 and huge.error["code"] == "PAYLOAD_TOO_LARGE"


# ---- If-Match ------------------------------------------------------------------------------------


def _call_with(headers: dict[str, str]) -> Call:
    return Call(SimpleNamespace(headers=headers), {}, None)


@pytest.mark.parametrize(
    ("header", "version"), [("3", 3), ('"3"', 3), ('W/"3"', 3), (" 12 ", 12), ("*", None), ("", None)]
)
def test_if_match_reads_versions(header: str, version: int | None) -> None:
    assert _call_with({"If-Match": header}).if_match() == version


@FAST
@given(st.text(max_size=30))
def test_if_match_is_a_version_or_a_400_naming_it(header: str) -> None:
    try:
        version = _call_with({"If-Match": header}).if_match()
    except ApiError as error:
        assert error.status == 400 and error.fields == {"If-Match": "must be the resource's version number"}
    else:
        assert version is None or 0 <= version < 10**18


@pytest.mark.parametrize("header", ["²", '"²"', "٣", "1" * 30, "-1", "1.0", "0x1"])
def test_if_match_takes_only_ascii_digits(header: str) -> None:
    with pytest.raises(ApiError) as raised:
        _call_with({"If-Match": header}).if_match()
    assert raised.value.fields == {"If-Match": "must be the resource's version number"}


# ---- cursors --------------------------------------------------------------------------------------


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor({"t": "2026-01-01T00:00:00+00:00", "id": "a/b"}),
        _cursor({"t": "2026-01-01T00:00:00+00:00", "id": ""}),
        _cursor({"t": "2026-01-01T00:00:00+00:00", "id": ".."}),
        _cursor({"t": "2026-01-01T00:00:00+00:00", "id": "__x__"}),
        _cursor({"t": "0001-01-01T00:00:00+01:00", "id": "x"}),
        _cursor({"v": {"nested": 1}, "id": "x"}),
        _cursor({"v": 2**70, "id": "x"}),
        _cursor({"v": 1}),
        _cursor([1]),
        base64.urlsafe_b64encode(b"[" * 1000).decode(),
        "²",
        "not base64 at all!",
    ],
)
def test_a_cursor_this_api_did_not_issue_is_a_400_naming_cursor(cursor: str) -> None:
    with pytest.raises(ApiError) as raised:
        decode_cursor(cursor)
    assert raised.value.fields == {"cursor": "not a cursor this API issued"}


@FAST
@given(st.text(max_size=300))
def test_any_cursor_decodes_or_is_a_400(cursor: str) -> None:
    try:
        PageQuery.model_validate({"cursor": cursor})
    except ApiError as error:
        assert error.fields == {"cursor": "not a cursor this API issued"}
    except ValidationError as error:
        assert [item["loc"] for item in error.errors()] == [("cursor",)]


def test_issued_cursors_round_trip() -> None:
    moment = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    assert decode_cursor(encode_cursor(moment, "l_abc")) == (moment, "l_abc")
    assert decode_cursor(encode_cursor("x", "doc")) == ("x", "doc")


# ---- webhooks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["sha256=²", "sha256=é" * 10, "\x85", "", "sha256=" + "0" * 64])
def test_signatures_of_any_text_compare_without_raising(header: str) -> None:
    body = b'{"object": "whatsapp_business_account"}'
    assert signatures.valid_hub_signature("secret", body, header) is False
    assert signatures.valid_plivo_signature("token", "POST", "https://x/y", {}, "nonce", header) is False
    for timestamp in ("1764000000", header):
        assert (
            signatures.valid_sendgrid_signature(DEV_SENDGRID_PUBLIC_KEY, timestamp, body, header, now=1764000000)
            is False
        )
    assert signatures.valid_hub_signature("secret", body, signatures.hub_signature("secret", body)) is True


@FAST
@given(json_values)
def test_any_json_reads_as_a_whatsapp_delivery_or_an_email_event(value: Any) -> None:
    shapes = [value, {"object": "whatsapp_business_account", "entry": value}]
    shapes += [{"object": "whatsapp_business_account", "entry": [{"changes": [{"value": value}]}]}]
    shapes += [{"entry": [{"changes": [{"value": {"statuses": value, "messages": value, "contacts": value}}]}]}]
    for shape in shapes:
        if isinstance(shape, dict):
            WhatsAppDelivery.model_validate(shape)
            SendGridEvent.model_validate(shape)


def test_entries_that_are_not_objects_are_skipped() -> None:
    delivery = WhatsAppDelivery.model_validate(
        {"object": "whatsapp_business_account", "entry": ["x", 1, None, {"changes": [7, {"value": []}]}]}
    )
    assert len(delivery.entry) == 1 and len(delivery.entry[0].changes) == 1
    assert delivery.entry[0].changes[0].value.statuses == []


# ---- CSV amounts, time zones ------------------------------------------------------------------------


@FAST
@given(st.text(max_size=40) | st.sampled_from(["inf", "nan", "1e999", "-1", "9" * 30, "1.5cr", "45L", "7.5E+06"]))
def test_a_csv_amount_is_a_storable_whole_number_or_a_value_error(cell: str) -> None:
    from leads.transfer import _money

    try:
        amount = _money(cell)
    except ValueError:
        return
    assert isinstance(amount, int) and 0 <= amount <= INT64_MAX


@pytest.mark.parametrize("zone", ["A" * 5000, "Asia/" + "x" * 300, "../../etc/passwd", "\x00", "zone.tab", "Nope/Here"])
def test_a_time_zone_is_a_name_of_the_tz_database(zone: str) -> None:
    from org.models import OrgSettingsUpdate

    with pytest.raises(ValidationError) as raised:
        OrgSettingsUpdate.model_validate({"timeZone": zone})
    assert [item["loc"] for item in raised.value.errors()] == [("timeZone",)]
    assert OrgSettingsUpdate.model_validate({"timeZone": "Asia/Dubai"}).time_zone == "Asia/Dubai"
