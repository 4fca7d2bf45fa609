"""GET /audit: the organization's trail for its admins, filtered and paged, newest first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from core import audit
from core.clock import rfc3339
from devtools.inproc import call
from tests.support.factory import add_person, make_org

pytestmark = pytest.mark.http


def test_admin_reads_the_trail_newest_first_with_hashes(db: Any) -> None:
    admin = make_org()
    agent = add_person("org1", "agent", "north")
    audit.record("org1", "login", actor=agent.uid)

    response = call("GET", "/audit", token=admin.token())

    assert response.status == 200, response.body
    items = response.body["items"]
    assert [i["action"] for i in items] == ["login", "member.added", "member.added", "org.created"]
    assert items[0]["actorId"] == agent.uid and items[0]["seq"] == 4 and items[0]["id"] == "000000000004"
    assert items[0]["prevHash"] == items[1]["hash"] and items[-1]["prevHash"] == "0" * 64
    assert items[1]["targetId"] == agent.uid and items[1]["details"] == {"role": "agent", "teamId": "north"}
    assert response.body["nextCursor"] is None


def test_filters_by_action_actor_and_time(db: Any, clock: Any) -> None:
    admin = make_org()
    agent = add_person("org1", "agent", "north")
    start = clock.now()
    for minutes in range(1, 4):
        clock.at = start + timedelta(minutes=minutes)
        audit.record("org1", "login.failed", actor=agent.uid, attemptsLeft=5 - minutes)
    audit.record("org1", "login", actor=admin.uid)

    failed = call("GET", "/audit?action=login.failed", token=admin.token()).body["items"]
    assert [i["details"]["attemptsLeft"] for i in failed] == [2, 3, 4]
    mine = call("GET", f"/audit?actorId={agent.uid}", token=admin.token()).body["items"]
    assert {i["action"] for i in mine} == {"login.failed"} and len(mine) == 3
    since = quote(rfc3339(start + timedelta(minutes=2)))
    until = quote(rfc3339(start + timedelta(minutes=3)))
    window = call("GET", f"/audit?action=login.failed&since={since}&until={until}", token=admin.token()).body
    assert [i["details"]["attemptsLeft"] for i in window["items"]] == [3]
    both = call("GET", f"/audit?action=login.failed&actorId={admin.uid}", token=admin.token()).body
    assert both["items"] == []


def test_pages_follow_the_cursor_without_gaps(db: Any) -> None:
    admin = make_org()
    for i in range(7):
        audit.record("org1", "settings.changed", actor=admin.uid, fields=[f"f{i}"])
    seen: list[str] = []
    url = "/audit?action=settings.changed&limit=3"
    cursor = None
    for _ in range(4):
        page = call("GET", url + (f"&cursor={cursor}" if cursor else ""), token=admin.token()).body
        seen += [i["id"] for i in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and seen == sorted(seen, reverse=True)


def test_only_admins_of_the_organization_read_it(db: Any) -> None:
    make_org()
    other = make_org("org2")
    manager = add_person("org1", "manager", "north")
    assert call("GET", "/audit", token=manager.token()).status == 403
    items = call("GET", "/audit", token=other.token()).body["items"]
    assert {i["action"] for i in items} == {"org.created", "member.added"} and len(items) == 2
    assert call("GET", "/audit").status == 401


def test_bad_filters_are_400_with_the_field(db: Any) -> None:
    admin = make_org()
    assert call("GET", "/audit?since=yesterday", token=admin.token()).error["fields"].keys() == {"since"}
    naive = call("GET", "/audit?since=2026-01-01T00:00:00", token=admin.token())
    assert naive.status == 400 and "since" in naive.error["fields"]
    backwards = call("GET", "/audit?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", token=admin.token())
    assert backwards.status == 400 and "until" in backwards.error["fields"]
    assert call("GET", "/audit?limit=500", token=admin.token()).status == 400


def test_the_trail_as_exported_verifies_offline(db: Any) -> None:
    from core.audit import verify_entries

    admin = make_org()
    for i in range(4):
        audit.record("org1", "settings.changed", actor=admin.uid, fields=[f"f{i}"])
    items = call("GET", "/audit", token=admin.token()).body["items"]
    entries = [(item["id"], {k: v for k, v in item.items() if k != "id"}) for item in reversed(items)]
    assert verify_entries(entries).ok
    entries[2][1]["details"] = {"fields": ["tampered"]}
    verdict = verify_entries(entries)
    assert not verdict.ok and verdict.entry_id == entries[2][0]
