"""The emulator never asks for indexes: the ones privacy, audit and retention queries need are declared."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.unit


def _declared() -> dict[str, list]:
    return json.loads((ROOT / "firestore.indexes.json").read_text())


def _fields(index: dict) -> list[tuple[str, str]]:
    return [(f["fieldPath"], f.get("order") or f.get("arrayConfig")) for f in index["fields"]]


def test_audit_filters_and_login_history_have_composite_indexes() -> None:
    audit = [_fields(i) for i in _declared()["indexes"] if i["collectionGroup"] == "audit"]
    for filters in (["action"], ["actorId"], ["action", "actorId"]):
        assert [(f, "ASCENDING") for f in filters] + [("createdAt", "DESCENDING")] in audit


def test_pending_deletions_have_an_index() -> None:
    members = [_fields(i) for i in _declared()["indexes"] if i["collectionGroup"] == "members"]
    assert [("deletionPending", "ASCENDING"), ("deletionRequestedAt", "ASCENDING")] in members


def test_the_feed_is_searchable_across_users_for_erasure_and_retention() -> None:
    overrides = {(o["collectionGroup"], o["fieldPath"]): o["indexes"] for o in _declared()["fieldOverrides"]}
    assert {"arrayConfig": "CONTAINS", "queryScope": "COLLECTION_GROUP"} in overrides[("notifications", "refs")]
    assert {"order": "ASCENDING", "queryScope": "COLLECTION_GROUP"} in overrides[("notifications", "createdAt")]
    assert {"order": "ASCENDING", "queryScope": "COLLECTION_GROUP"} in overrides[("notifications", "data.leadId")]


def test_the_register_lists_by_status_kind_subject_and_overdue_with_indexes() -> None:
    register = [_fields(i) for i in _declared()["indexes"] if i["collectionGroup"] == "privacyRequests"]
    assert [("status", "ASCENDING"), ("dueAt", "ASCENDING")] in register  # overdue, and the daily reminder
    for filters in (["status"], ["kind"], ["subjectId"], ["kind", "subjectId"]):
        assert [(f, "ASCENDING") for f in filters] + [("createdAt", "DESCENDING")] in register
