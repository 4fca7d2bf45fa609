"""Tasks through the real `tasks` handler: reachable assignees, visibility, filters, versions."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.inproc import call
from tests.support.leads import create, make_team

pytestmark = pytest.mark.http


def task(person: Any, **body: Any) -> Any:
    return call(
        "POST", "/tasks", token=person.token(), json_body={"title": "Call back", "dueAt": "2026-12-01T10:00:00Z"} | body
    )


def test_assignee_must_be_reachable_and_the_lead_visible(db: Any) -> None:
    team = make_team()
    own = task(team.agent1)
    assert own.status == 201 and own.body["assigneeId"] == team.agent1.uid and own.body["teamId"] == "north"
    assert task(team.agent1, assigneeId=team.agent2.uid).status == 403
    assert task(team.manager, assigneeId=team.south.uid).status == 403
    assert task(team.manager, assigneeId=team.agent2.uid).status == 201
    assert task(team.admin, assigneeId=team.south.uid).body["teamId"] == "south"
    assert task(team.admin, assigneeId="nobody").status == 400
    theirs = create(team.agent2, "9000000002").body["id"]
    assert task(team.agent1, leadId=theirs).status == 403
    mine = create(team.agent1, "9000000001").body["id"]
    assert task(team.agent1, leadId=mine).body["leadId"] == mine
    assert task(team.agent1, title="").status == 400


def test_lists_follow_visibility_filters_and_newest_due_first(db: Any) -> None:
    team = make_team()
    early = task(team.agent1, dueAt="2026-12-01T09:00:00Z").body["id"]
    late = task(team.agent1, dueAt="2026-12-03T09:00:00Z").body["id"]
    other = task(team.admin, assigneeId=team.agent2.uid, dueAt="2026-12-02T09:00:00Z").body["id"]
    south = task(team.south).body["id"]

    def ids(person: Any, query: str = "") -> list[str]:
        response = call("GET", f"/tasks?{query}", token=person.token())
        assert response.status == 200, response.body
        return [item["id"] for item in response.body["items"]]

    assert ids(team.agent1) == [late, early]
    assert ids(team.agent1, f"assigneeId={team.agent2.uid}") == []
    assert ids(team.manager) == [late, other, early]
    assert set(ids(team.admin)) == {early, late, other, south}
    assert ids(team.manager, "dueBefore=2026-12-02T12:00:00Z") == [other, early]
    assert ids(team.manager, f"assigneeId={team.agent2.uid}&status=open") == [other]
    assert call("GET", f"/tasks/{other}", token=team.agent1.token()).status == 403


def test_completing_a_task_checks_the_version(db: Any) -> None:
    team = make_team()
    created = task(team.agent1).body
    done = call(
        "PATCH",
        f"/tasks/{created['id']}",
        token=team.agent1.token(),
        json_body={"status": "done"},
        headers={"If-Match": "1"},
    )
    assert (
        done.status == 200 and done.body["status"] == "done" and done.body["completedAt"] and done.body["version"] == 2
    )
    stale = call(
        "PATCH",
        f"/tasks/{created['id']}",
        token=team.agent1.token(),
        json_body={"title": "x"},
        headers={"If-Match": "1"},
    )
    assert stale.status == 412
    assert (
        call("PATCH", f"/tasks/{created['id']}", token=team.agent2.token(), json_body={"status": "open"}).status == 403
    )
    moved = call(
        "PATCH", f"/tasks/{created['id']}", token=team.manager.token(), json_body={"assigneeId": team.agent2.uid}
    )
    assert moved.status == 200 and moved.body["assigneeId"] == team.agent2.uid
    assert call("GET", "/tasks?status=done", token=team.agent2.token()).body["items"][0]["id"] == created["id"]


def test_a_given_team_id_must_be_the_assignees_team(db: Any) -> None:
    """API.md lists teamId among a task's fields: it is taken from the assignee, and a given one must agree."""
    team = make_team()
    agreed = task(team.admin, assigneeId=team.agent1.uid, teamId="north")
    assert agreed.status == 201 and agreed.body["teamId"] == "north"
    refused = task(team.admin, assigneeId=team.agent1.uid, teamId="south")
    assert refused.status == 400 and refused.body["error"]["fields"] == {"teamId": "must be the assignee's team"}
