"""The capture provider clients: the exact Graph API and 99acres requests, and their answers read from
recorded real-shape payloads (the Graph API lead of Meta's "Retrieving Leads" guide; 99acres' pull XML as
public integrations receive it), each checked against a local stub server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.provider_calls import ProviderError
from leads.capture import providers
from tests.comms.stub import (
    Scripted,
    Stub,
)

pytestmark = pytest.mark.unit

GRAPH_LEAD = {
    "created_time": "2026-11-30T08:49:14+0000",
    "id": "1234567890123456",
    "ad_id": "23851234567890123",
    "ad_name": "Skyline 2BHK launch",
    "adset_id": "23851234567890000",
    "campaign_id": "23851234567800000",
    "campaign_name": "Skyline Nov",
    "form_id": "987654321098765",
    "is_organic": False,
    "platform": "fb",
    "field_data": [
        {"name": "full_name", "values": ["Asha Rao"]},
        {"name": "phone_number", "values": ["+919876543210"]},
        {"name": "email", "values": ["asha@example.com"]},
        {"name": "city", "values": ["Pune"]},
        {"name": "which_configuration_are_you_looking_for?", "values": ["2BHK", "3BHK"]},
    ],
}

ACRES99_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Xml ActionStatus="true">
  <Resp>
    <QryDtl ResType="ProjectResponse" QueryId="Q-88001">
      <CmpctLabl>Skyline Residency, Baner</CmpctLabl>
      <QryInfo>I am interested in 2 BHK, please call</QryInfo>
      <RcvdOn>2026-12-01 10:15:30</RcvdOn>
      <ProjId>PRJ551</ProjId>
      <ProjName>Skyline Residency</ProjName>
    </QryDtl>
    <CntctDtl>
      <Name>Ravi Kumar</Name>
      <Email>ravi@example.com</Email>
      <Phone>+91-9812345678</Phone>
    </CntctDtl>
  </Resp>
  <Resp>
    <QryDtl ResType="PropertyResponse" QueryId="Q-88002">
      <CmpctLabl>3 BHK Flat, Wakad</CmpctLabl>
      <QryInfo></QryInfo>
      <RcvdOn>2026-12-01 10:20:00</RcvdOn>
      <ProdId Status="Active" Type="Property">R51234567</ProdId>
    </QryDtl>
    <CntctDtl>
      <Name>Meena</Name>
      <Email></Email>
      <Mobile>9822001122</Mobile>
    </CntctDtl>
  </Resp>
</Xml>"""

ACRES99_REFUSED = """<?xml version="1.0"?><Xml ActionStatus="false"><ErrorDetail><Code>101</Code>
<Message>Incorrect Username/Password</Message></ErrorDetail></Xml>"""


# ---- Meta Graph API ----------------------------------------------------------------------------


def test_the_graph_read_asks_for_the_lead_with_the_page_token_and_its_appsecret_proof() -> None:
    """The token travels as a bearer header, never in the URL (URLs are logged)."""
    client = providers.MetaGraphClient(api_base="https://graph.facebook.com/v21.0/", app_secret="app-secret")
    url, headers = client.request("1234567890123456", access_token="page-token")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "graph.facebook.com", "/v21.0/1234567890123456")
    query = parse_qs(parts.query)
    assert set(query) == {"fields", "appsecret_proof"} and "page-token" not in url
    assert headers["Authorization"] == "Bearer page-token"
    assert query["appsecret_proof"] == [providers.appsecret_proof("app-secret", "page-token")]
    assert set(query["fields"][0].split(",")) >= {"id", "created_time", "ad_id", "form_id", "field_data", "campaign_id"}
    assert headers["Accept"] == "application/json"


def test_a_leadgen_id_cannot_reach_another_graph_path() -> None:
    client = providers.MetaGraphClient(api_base="https://graph.facebook.com/v21.0", app_secret="s")
    url, _ = client.request("../me/accounts?x=1", access_token="t")
    assert urlsplit(url).path == "/v21.0/..%2Fme%2Faccounts%3Fx%3D1"


def test_a_graph_lead_reads_its_answers_and_its_ad() -> None:
    lead = providers.parse_meta_lead(GRAPH_LEAD)
    assert (lead.id, lead.form_id, lead.ad_id, lead.campaign_id, lead.campaign_name) == (
        "1234567890123456",
        "987654321098765",
        "23851234567890123",
        "23851234567800000",
        "Skyline Nov",
    )
    assert lead.fields() == {
        "full_name": "Asha Rao",
        "phone_number": "+919876543210",
        "email": "asha@example.com",
        "city": "Pune",
        "which_configuration_are_you_looking_for?": "2BHK, 3BHK",
    }
    assert lead.raw == GRAPH_LEAD


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=10,
    )
)
def test_any_field_data_is_read_or_refused_never_crashes(field_data: Any) -> None:
    payload = {"id": "1", "field_data": field_data}
    try:
        lead = providers.parse_meta_lead(payload)
    except ProviderError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in lead.fields().items())


@pytest.mark.parametrize("payload", [None, [], {}, {"id": ""}, {"id": "  "}, {"field_data": []}])
def test_an_answer_without_a_lead_is_a_provider_error(payload: Any) -> None:
    with pytest.raises(ProviderError, match="without a lead"):
        providers.parse_meta_lead(payload)


def test_the_stub_sees_the_exact_graph_request_and_the_lead_comes_back(stub: Stub) -> None:
    stub.reply(Scripted(200, GRAPH_LEAD))
    client = providers.MetaGraphClient(api_base=stub.base + "/v21.0", app_secret="app-secret", backoff_sec=0)
    lead = client.lead("1234567890123456", access_token="page-token")
    assert lead.fields()["full_name"] == "Asha Rao"
    [request] = stub.requests
    parts = urlsplit(request.path)
    assert (request.method, parts.path) == ("GET", "/v21.0/1234567890123456")
    assert request.headers["Authorization"] == "Bearer page-token"
    assert parse_qs(parts.query) == {
        "fields": [providers.LEAD_FIELDS],
        "appsecret_proof": [providers.appsecret_proof("app-secret", "page-token")],
    }


def test_graph_5xx_is_retried_and_a_refusal_names_graphs_reason_without_the_token(stub: Stub) -> None:
    stub.reply(Scripted(503, {}), Scripted(200, GRAPH_LEAD))
    client = providers.MetaGraphClient(api_base=stub.base, app_secret="s", backoff_sec=0)
    assert client.lead("1", access_token="page-token").id == GRAPH_LEAD["id"]
    assert len(stub.requests) == 2

    expired = {"error": {"message": "Error validating access token: Session has expired", "code": 190}}
    stub.reply(Scripted(400, expired))
    with pytest.raises(ProviderError) as caught:
        client.lead("1", access_token="page-token")
    assert not caught.value.retryable
    assert "Session has expired" in caught.value.reason and "page-token" not in caught.value.reason
    assert len(stub.requests) == 3  # refused: no retry


# ---- 99acres -----------------------------------------------------------------------------------


def test_the_99acres_query_carries_the_credentials_escaped_and_the_window_in_ist() -> None:
    start = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)
    query = providers.acres99_query(
        username="builder<1>", password="p&ss", start=start, end=start + timedelta(minutes=5)
    )
    assert query == (
        "<?xml version='1.0'?><query><user_name>builder&lt;1&gt;</user_name><pswd>p&amp;ss</pswd>"
        "<start_date>2026-12-01 10:00:00</start_date><end_date>2026-12-01 10:05:00</end_date></query>"
    )


def test_a_99acres_answer_reads_each_enquiry_by_its_query_id() -> None:
    first, second = providers.parse_acres99(ACRES99_XML)
    assert first.id == "Q-88001"
    assert first.received_at == datetime(2026, 12, 1, 4, 45, 30, tzinfo=UTC)
    assert first.fields == {
        "name": "Ravi Kumar",
        "email": "ravi@example.com",
        "phone": "+91-9812345678",
        "message": "I am interested in 2 BHK, please call",
        "listing": "Skyline Residency, Baner",
        "project": "Skyline Residency",
        "projectId": "PRJ551",
    }
    assert first.raw["QryDtl.ResType"] == "ProjectResponse"
    assert second.id == "Q-88002"
    assert second.fields == {
        "name": "Meena",
        "phone": "9822001122",
        "listing": "3 BHK Flat, Wakad",
        "listingId": "R51234567",
    }


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (ACRES99_REFUSED, "refused the pull (101: Incorrect Username/Password)"),
        ('<Xml ActionStatus="false"/>', "refused the pull"),
        ("<html>maintenance</html>", "not its XML"),
        ("not xml at all", "not its XML"),
        (
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
            '<Xml ActionStatus="true">&b;</Xml>',
            "not its XML",
        ),
    ],
)
def test_a_refused_or_foreign_99acres_answer_is_a_provider_error(body: str, why: str) -> None:
    with pytest.raises(ProviderError) as caught:
        providers.parse_acres99(body)
    assert why in caught.value.reason


def test_an_enquiry_without_a_query_id_is_skipped_and_an_empty_pull_is_empty() -> None:
    assert (
        providers.parse_acres99('<Xml ActionStatus="true"><Resp><CntctDtl><Name>x</Name></CntctDtl></Resp></Xml>') == []
    )
    assert providers.parse_acres99('<Xml ActionStatus="true"></Xml>') == []


def test_the_stub_sees_the_exact_99acres_pull_and_its_enquiries_come_back(stub: Stub) -> None:
    stub.reply(Scripted(200, ACRES99_XML, content_type="text/xml"))
    client = providers.Acres99Client(url=stub.base + "/99api/v1/getmy99Response/OeAuXClO43hwseaXEQ/uid/", backoff_sec=0)
    start = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)
    leads = client.pull(username="builder", password="secret", start=start, end=start + timedelta(minutes=5))
    assert [lead.id for lead in leads] == ["Q-88001", "Q-88002"]
    [request] = stub.requests
    assert (request.method, request.path) == ("POST", "/99api/v1/getmy99Response/OeAuXClO43hwseaXEQ/uid/")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.body.decode()) == {
        "xml": [
            providers.acres99_query(
                username="builder", password="secret", start=start, end=start + timedelta(minutes=5)
            )
        ]
    }


def test_99acres_5xx_is_retried_and_a_refusal_is_final(stub: Stub) -> None:
    stub.reply(Scripted(502, "", content_type="text/html"), Scripted(200, ACRES99_XML, content_type="text/xml"))
    client = providers.Acres99Client(url=stub.base + "/pull", backoff_sec=0)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    assert len(client.pull(username="u", password="p", start=start, end=start + timedelta(hours=1))) == 2
    stub.reply(Scripted(200, ACRES99_REFUSED, content_type="text/xml"))
    with pytest.raises(ProviderError, match="Incorrect Username/Password"):
        client.pull(username="u", password="p", start=start, end=start + timedelta(hours=1))
    assert len(stub.requests) == 3


def test_a_99acres_window_longer_than_two_days_is_never_sent(stub: Stub) -> None:
    client = providers.Acres99Client(url=stub.base + "/pull")
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="two days"):
        client.pull(username="u", password="p", start=start, end=start + timedelta(days=2, seconds=1))
    assert stub.requests == []
