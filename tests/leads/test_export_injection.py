"""CSV the API emits can never run as a spreadsheet formula, whatever is stored; phones stay readable."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from core import csvout, tenancy
from devtools.inproc import Response, call
from leads.store import LeadRecord
from tests.support.factory import make_org
from tests.support.leads import create, make_team

pytestmark = pytest.mark.http

STARTS = ["=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "'", " ="]
# Columns that hold no stored text: the document id, numbers and times the exporter formats itself.
NOT_TEXT = {"id", "budgetMin", "budgetMax", "nextFollowUpAt", "createdAt", "updatedAt"}
FULL_LEAD = {
    "salutation": "Ms",
    "alternatePhone": {"number": "98123 45678"},
    "emails": ["asha@example.com", "asha.work@example.com"],
    "location": {"city": "Pune", "locality": "Baner", "address": "12 Hill Road, Baner"},
    "budget": {"min": 5_000_000, "max": 8_000_000},
    "configurations": ["2BHK", "3BHK"],
    "source": "website",
    "stage": "qualified",
    "tags": ["hot", "nri"],
    "doNotContact": ["sms"],
    "optIns": ["whatsapp"],
    "purpose": "Price list",
    "nextFollowUpAt": "2031-01-05T10:00:00Z",
    "channelPartnerId": "broker-7",
}


def hostile(value: Any, path: str = "", counter: list[int] | None = None) -> Any:
    """The stored value with every string leaf replaced by a formula that names its own path."""
    counter = counter if counter is not None else [0]
    if isinstance(value, dict):
        return {key: hostile(item, f"{path}.{key}".lstrip("."), counter) for key, item in value.items()}
    if isinstance(value, list):
        return [hostile(item, f"{path}[{index}]", counter) for index, item in enumerate(value)]
    if isinstance(value, str):
        counter[0] += 1
        start = STARTS[counter[0] % len(STARTS)]
        return f'{start}HYPERLINK("https://evil.example/{path}","open");=cmd|\'/c calc\'!A1,@SUM(1)'
    return value


def rows(response: Response) -> list[list[str]]:
    assert response.status == 200, response.body
    assert response.headers["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text, newline="")))


def csv_routes() -> list[tuple[str, str, str]]:
    """(function, method, path) of every registered route that answers CSV."""
    import importlib

    from registry import FUNCTIONS

    found = []
    for name, module_name in FUNCTIONS.items():
        router = getattr(importlib.import_module(module_name), "router", None)
        for route in getattr(router, "routes", []):
            if "csv" in route.doc.content_type:
                found.append((name, route.method, route.path))
    return found


def hostile_org() -> tuple[Any, str]:
    """org1 with one fully populated lead whose every stored string is a live formula; (admin, lead id)."""
    team = make_team()
    tenancy.org_ref("org1").collection("projects").document("p1").set({"name": "Skyline", "city": "Pune"})
    lead_id = create(team.admin, "98765 43210", "Asha Rao", projectId="p1", **FULL_LEAD).body["id"]
    ref = tenancy.org_ref("org1").collection("leads").document(lead_id)
    ref.set(hostile(ref.get().to_dict()))
    ref.collection("private").document("contact").delete()  # a stored lead as an old import may have left it
    return team, lead_id


def test_every_column_of_the_lead_export_is_inert_and_round_trips(db: Any) -> None:
    from leads import transfer

    team, lead_id = hostile_org()
    header, row = rows(call("GET", "/leads/export", token=team.admin.token()))
    assert header == transfer.EXPORT_COLUMNS
    assert all(csvout.is_inert(cell) for cell in header + row), row
    snapshot = tenancy.org_ref("org1").collection("leads").document(lead_id).get()
    stored = LeadRecord.from_document(lead_id, snapshot.to_dict() or {})
    # what the exporter meant to write, cell by cell, comes back exactly once the neutralizing is undone
    assert [csvout.restore(cell) for cell in row] == transfer.export_row(stored)
    reached = {column for column, cell in zip(header, row, strict=True) if "evil.example" in cell}
    uncovered = sorted(set(header) - NOT_TEXT - reached)
    assert uncovered == [], "columns the hostile lead did not reach (add them to FULL_LEAD)"


def test_every_csv_route_emits_only_inert_cells(db: Any) -> None:
    """A new CSV route is walked too: it must answer inert cells over the hostile organization."""
    team, _ = hostile_org()
    routes = csv_routes()
    assert ("leads", "GET", "/export") in routes
    for function, method, path in routes:
        assert method == "GET" and "{" not in path, f"teach this test to call {method} /{function}{path}"
        table = rows(call(method, f"/{function}{path}", token=team.admin.token()))
        cells = [cell for line in table for cell in line]
        assert any("evil.example" in cell for cell in cells), f"/{function}{path} showed none of the stored text"
        live = [cell for cell in cells if not csvout.is_inert(cell)]
        assert live == [], f"/{function}{path} emits live formulas"


def test_phones_export_readable_and_import_back_unchanged(db: Any) -> None:
    team = make_team()
    create(team.admin, "98765 43210", "Asha Rao", **FULL_LEAD)
    create(team.admin, "+44 20 7946 0958", "Owen Hughes")
    response = call("GET", "/leads/export", token=team.admin.token())
    exported = list(csv.DictReader(io.StringIO(response.text, newline="")))
    by_name = {row["name"]: row for row in exported}
    assert by_name["Asha Rao"]["primaryPhone"] == "(+91) 98765 43210"
    assert by_name["Asha Rao"]["alternatePhone"] == "(+91) 98123 45678"
    assert by_name["Owen Hughes"]["primaryPhone"] == "(+44) 20 7946 0958"
    assert re.search(r'"\(\+91\) 98765 43210"', response.text)  # no apostrophe in front of a phone

    # our own export imports into another organization as the same people (the owner column is org1's)
    admin2 = make_org("org2")
    keep = [column for column in exported[0] if column not in {"assigneeId", "teamId", "projectId"}]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keep, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(exported)
    imported = call("POST", "/leads/import", token=admin2.token(), data=buffer.getvalue(), content_type="text/csv")
    assert imported.status == 200 and imported.body["created"] == 2, imported.body
    leads = {s.get("name"): s.to_dict() or {} for s in tenancy.org_ref("org2").collection("leads").stream()}
    asha = leads["Asha Rao"]
    assert asha["primaryPhone"]["e164"] == "+919876543210" and asha["alternatePhone"]["e164"] == "+919812345678"
    assert asha["emails"] == FULL_LEAD["emails"] and asha["location"] == FULL_LEAD["location"]
    assert asha["configurations"] == ["2BHK", "3BHK"] and asha["tags"] == ["hot", "nri"]
    assert leads["Owen Hughes"]["primaryPhone"]["e164"] == "+442079460958"
