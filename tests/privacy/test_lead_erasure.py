"""DELETE /privacy/leads/{id}: every trace of the lead is gone, from every collection and the bucket."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core import audit, clients, tenancy
from devtools.inproc import call
from tests.privacy.world import LEAD_ID, OTHER_LEAD_ID, every_document, populate
from tests.support.factory import add_person, make_org

pytestmark = pytest.mark.http


def _mentions(needles: list[str], path: str, data: dict[str, Any]) -> list[str]:
    text = path + " " + json.dumps(data, default=str, ensure_ascii=False)
    return [needle for needle in needles if needle in text]


def test_erasure_leaves_nothing_but_the_audit_entry(db: Any, bucket: Any) -> None:
    world = populate(bucket)
    before = [path for path, data in every_document() if _mentions(world.needles, path, data)]
    assert len(before) > 25, "the world should hold the lead in many places"

    response = call("DELETE", f"/privacy/leads/{LEAD_ID}", token=world.admin.token())

    assert response.status == 204, response.body
    leftovers = [
        (path, _mentions(world.needles, path, data))
        for path, data in every_document()
        if _mentions(world.needles, path, data)
    ]
    assert len(leftovers) == 1, leftovers
    path, names = leftovers[0]
    assert path.startswith("orgs/org1/audit/") and names == [LEAD_ID]
    entry = db.document(path).get().to_dict()
    assert entry["action"] == "privacy.lead.erased"
    assert entry["actorId"] == world.admin.uid and entry["targetId"] == LEAD_ID
    assert entry["details"]["objects"] == 3 and entry["details"]["documents"] >= 25
    for blob in bucket.list_blobs():
        content = blob.download_as_bytes()
        assert not _mentions(world.needles, blob.name, {"bytes": content.decode("latin-1")}), blob.name
    assert list(bucket.list_blobs()) == []
    assert audit.verify("org1").ok


def test_erasure_keeps_everything_else(db: Any, bucket: Any) -> None:
    world = populate(bucket)
    assert call("DELETE", f"/privacy/leads/{LEAD_ID}", token=world.admin.token()).status == 204
    org = tenancy.org_ref("org1")
    assert org.collection("leads").document(OTHER_LEAD_ID).get().exists
    assert org.collection("leads").document(OTHER_LEAD_ID).collection("notes").document("n1").get().exists
    assert org.collection("tasks").document("t9").get().exists
    assert org.collection("leadKeys").document("+919900011122").get().exists
    feed = clients.db().collection("users").document(world.agent.uid).collection("notifications").stream()
    assert [entry.get("refs") for entry in feed] == [[OTHER_LEAD_ID]]
    assert tenancy.member_ref("org1", world.agent.uid).get().exists


def test_only_admins_erase_and_other_organizations_see_404(db: Any, bucket: Any) -> None:
    world = populate(bucket)
    other_admin = make_org("org2")
    assert call("DELETE", f"/privacy/leads/{LEAD_ID}", token=world.agent.token()).status == 403
    assert call("DELETE", f"/privacy/leads/{LEAD_ID}", token=world.manager.token()).status == 403
    assert call("DELETE", f"/privacy/leads/{LEAD_ID}", token=other_admin.token()).status == 404
    assert tenancy.org_ref("org1").collection("leads").document(LEAD_ID).get().exists
    assert call("DELETE", "/privacy/leads/nope", token=world.admin.token()).status == 404


def test_erasing_twice_is_404_the_second_time(db: Any, bucket: Any) -> None:
    world = populate(bucket)
    assert call("DELETE", f"/privacy/leads/{LEAD_ID}", token=world.admin.token()).status == 204
    again = call("DELETE", f"/privacy/leads/{LEAD_ID}", token=world.admin.token())
    assert again.status == 404 and again.error["code"] == "NOT_FOUND"


def test_a_deactivated_admin_cannot_erase_even_with_a_cached_session(db: Any, bucket: Any) -> None:
    world = populate(bucket)
    second = add_person("org1", "admin")
    token = second.token()
    assert call("GET", "/privacy/policy", token=token).status == 200  # member now cached on this instance
    tenancy.member_ref("org1", second.uid).update({"active": False})
    assert call("DELETE", f"/privacy/leads/{LEAD_ID}", token=token).status == 401
    assert tenancy.org_ref("org1").collection("leads").document(LEAD_ID).get().exists
    assert world.admin.uid != second.uid
