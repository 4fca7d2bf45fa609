"""`POST /leads/sources` honours Idempotency-Key: a retry gets the first reply, the key included, while no
document ever holds the key in clear (the idempotency record keeps it sealed, bound to that record)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core import clients, idempotency
from devtools.inproc import call
from tests.leads.capture.test_api import push
from tests.support.leads import make_team

pytestmark = pytest.mark.http

BODY = {"kind": "website", "name": "Site", "source": "website"}


def documents_holding(text: str) -> list[str]:
    """Paths of every document in the database whose data holds text."""

    def walk(collection: Any) -> list[str]:
        found = []
        for ref in collection.list_documents():
            snapshot = ref.get()
            if snapshot.exists and text in str(snapshot.to_dict()):
                found.append(ref.path)
            for sub in ref.collections():
                found += walk(sub)
        return found

    return [path for top in clients.db().collections() for path in walk(top)]


def test_a_retried_source_create_gets_the_first_reply_with_its_key_and_makes_one_source(db: Any) -> None:
    team = make_team()
    headers = {"Idempotency-Key": "create-site-retry"}
    first = call("POST", "/leads/sources", token=team.admin.token(), json_body=BODY, headers=headers)
    again = call("POST", "/leads/sources", token=team.admin.token(), json_body=BODY, headers=headers)
    assert first.status == again.status == 201, (first.body, again.body)
    assert again.body == first.body and again.headers.get("Idempotent-Replayed") == "true"
    assert len(first.body["key"]) >= 32
    listed = call("GET", "/leads/sources", token=team.admin.token()).body["items"]
    assert [s["id"] for s in listed] == [first.body["id"]]
    assert push(again.body, {"name": "Asha", "phone": "9845022001"}).body["outcome"] == "created"  # the key works
    assert documents_holding(first.body["key"]) == []
    other = call("POST", "/leads/sources", token=team.admin.token(), json_body=BODY | {"name": "Another"})
    assert other.status == 201 and other.body["id"] != first.body["id"]  # without the key: a new source


def test_a_sealed_key_moved_to_another_record_does_not_open(db: Any) -> None:
    team = make_team()
    token = team.admin.token()
    firsts = {
        name: call("POST", "/leads/sources", token=token, json_body=BODY, headers={"Idempotency-Key": name}).body
        for name in ("one", "two")
    }
    records = {r.get("subjectIds")[0]: r for r in clients.db().collection(idempotency.COLLECTION).stream()}
    one, two = records[firsts["one"]["id"]], records[firsts["two"]["id"]]
    assert "key" not in json.loads(one.get("body")) and set(one.get("sealed")) == {"key"}
    one.reference.update({"sealed": two.get("sealed")})  # bound to its record: it opens there only
    moved = call("POST", "/leads/sources", token=token, json_body=BODY, headers={"Idempotency-Key": "one"})
    assert moved.status == 409 and moved.error["code"] == "ALREADY_EXISTS", moved.body
    kept = call("POST", "/leads/sources", token=token, json_body=BODY, headers={"Idempotency-Key": "two"})
    assert kept.status == 201 and kept.body == firsts["two"]
