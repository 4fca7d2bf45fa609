"""The dev function's provider stubs (emulator only): the Graph API serves the Lead Ads leads registered with
POST /dev/meta/leads as the real one answers `GET /{leadgen_id}`, and the 99acres pull answers no enquiries."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.inproc import call
from leads.capture import providers

pytestmark = pytest.mark.http

LEAD = {
    "id": "9001",
    "field_data": [
        {"name": "full_name", "values": ["Asha Rao"]},
        {"name": "phone_number", "values": ["+919876543210"]},
    ],
}


def test_a_registered_lead_is_served_as_the_graph_api_answers_it(db: Any) -> None:
    registered = call("POST", "/dev/meta/leads", json_body={**LEAD, "form_id": "444", "ad_id": "555"})
    assert registered.status == 201, registered.text
    served = call("GET", "/dev/meta/graph/v21.0/9001?fields=id,field_data", headers={"Authorization": "Bearer t"})
    assert served.status == 200, served.text
    lead = providers.parse_meta_lead(served.body)
    assert (lead.id, lead.form_id, lead.ad_id) == ("9001", "444", "555")
    assert lead.fields() == {"full_name": "Asha Rao", "phone_number": "+919876543210"}
    assert served.body["created_time"].endswith("+0000")


def test_the_graph_stub_refuses_as_graph_does_without_a_token_or_for_an_unknown_lead(db: Any) -> None:
    call("POST", "/dev/meta/leads", json_body=LEAD)
    no_token = call("GET", "/dev/meta/graph/v21.0/9001")
    assert no_token.status == 400 and no_token.body["error"]["code"] == 104
    unknown = call("GET", "/dev/meta/graph/v21.0/404404?access_token=t")
    assert unknown.status == 400 and unknown.body["error"]["code"] == 100


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"field_data": LEAD["field_data"]}, "id"),
        ({"id": "a/b", "field_data": LEAD["field_data"]}, "id"),
        ({"id": "1"}, "field_data"),
        ({"id": "1", "field_data": [{"values": ["x"]}]}, "field_data.0.name"),
        ({"id": "1", "field_data": [{"name": "n", "values": "x"}]}, "field_data.0.values"),
        ({"id": "1", "field_data": [{"name": "n", "values": [1]}]}, "field_data.0.values"),
    ],
)
def test_a_bad_registration_is_400_naming_the_field(db: Any, body: dict[str, Any], field: str) -> None:
    response = call("POST", "/dev/meta/leads", json_body=body)
    assert response.status == 400 and field in response.body["error"]["fields"], response.text


def test_the_99acres_stub_answers_a_successful_pull_with_no_enquiries(db: Any) -> None:
    response = call(
        "POST", "/dev/99acres/pull", data="xml=%3Cquery%2F%3E", content_type="application/x-www-form-urlencoded"
    )
    assert response.status == 200
    assert providers.parse_acres99(response.text) == []
