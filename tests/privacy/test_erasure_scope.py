"""DELETE /privacy/leads/{id} and its export reach a lead only: any other record's id is 404 and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from core import clients, tenancy
from devtools.inproc import call
from tests.privacy.world import LEAD_ID, OTHER_LEAD_ID, every_document, populate

pytestmark = pytest.mark.http


def _not_a_lead(path: str) -> bool:
    parts = path.split("/")
    return not (len(parts) == 4 and parts[:1] == ["orgs"] and parts[2] == "leads")


def test_the_id_of_any_record_that_is_not_a_lead_is_404_and_erases_nothing(db: Any, bucket: Any) -> None:
    """Every document id in the database (tasks, visits, messages, notes, attachments, keys, feeds, server
    records, and whatever a new feature adds) is tried; none may be erased or exported through these routes."""
    world = populate(bucket)
    before = every_document()
    objects = sorted(blob.name for blob in bucket.list_blobs())
    lead_ids = {path.split("/")[3] for path, _ in before if not _not_a_lead(path)}
    candidates = sorted({path.rsplit("/", 1)[1] for path, _ in before if _not_a_lead(path)} - lead_ids)
    assert {"t1", "v1", "m1", "call1", "att1", "n1", "c1", "contact"} <= set(candidates)
    for record_id in candidates:
        erased = call("DELETE", f"/privacy/leads/{record_id}", token=world.admin.token())
        exported = call("GET", f"/privacy/leads/{record_id}/export", token=world.admin.token())
        assert (erased.status, exported.status) == (404, 404), record_id
        assert erased.error["code"] == "NOT_FOUND"
    assert every_document() == before
    assert sorted(blob.name for blob in bucket.list_blobs()) == objects


def test_a_record_of_another_lead_sharing_the_erased_lead_id_survives(db: Any, bucket: Any) -> None:
    world = populate(bucket)
    org = tenancy.org_ref("org1")
    org.collection("tasks").document(LEAD_ID).set({"title": "Call Ravi", "leadId": OTHER_LEAD_ID})
    assert call("DELETE", f"/privacy/leads/{LEAD_ID}", token=world.admin.token()).status == 204
    assert not org.collection("leads").document(LEAD_ID).get().exists
    assert not org.collection("archivedLeads").document(LEAD_ID).get().exists  # the lead's own copy goes
    assert org.collection("tasks").document(LEAD_ID).get().to_dict() == {"title": "Call Ravi", "leadId": OTHER_LEAD_ID}
    assert clients.db().collection("voipCalls").document("call1").get().exists is False
