"""Projects through the real `projects` handler: admin writes, members read."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.inproc import call
from tests.support.leads import create, make_team

pytestmark = pytest.mark.http

BODY = {
    "name": "Skyline",
    "city": "Pune",
    "address": "Baner",
    "location": {"lat": 18.56, "lng": 73.78},
    "checkinRadiusM": 300,
}


def test_admin_creates_and_changes_projects_members_read_them(db: Any) -> None:
    team = make_team()
    assert call("POST", "/projects", token=team.manager.token(), json_body=BODY).status == 403
    created = call("POST", "/projects", token=team.admin.token(), json_body=BODY)
    assert (
        created.status == 201
        and created.body["location"] == {"lat": 18.56, "lng": 73.78}
        and created.body["version"] == 1
    )
    project_id = created.body["id"]
    listed = call("GET", "/projects", token=team.agent1.token())
    assert [p["id"] for p in listed.body["items"]] == [project_id]
    changed = call(
        "PATCH",
        f"/projects/{project_id}",
        token=team.admin.token(),
        json_body={"checkinRadiusM": 150},
        headers={"If-Match": "1"},
    )
    assert changed.status == 200 and changed.body["checkinRadiusM"] == 150 and changed.body["version"] == 2
    stale = call(
        "PATCH", f"/projects/{project_id}", token=team.admin.token(), json_body={"name": "X"}, headers={"If-Match": "1"}
    )
    assert stale.status == 412
    assert call("PATCH", f"/projects/{project_id}", token=team.agent1.token(), json_body={"name": "X"}).status == 403
    assert create(team.agent1, projectId=project_id).status == 201
    assert call("PATCH", f"/projects/{project_id}", token=team.admin.token(), json_body={"active": False}).status == 200
    retired = create(team.agent1, "9000000009", projectId=project_id)
    assert retired.status == 400 and "projectId" in retired.error["fields"]
    other = make_team("org2")
    assert call("GET", f"/projects/{project_id}", token=other.admin.token()).status == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"location": {"lat": 95, "lng": 0}}, "location.lat"),
        ({"checkinRadiusM": 1}, "checkinRadiusM"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_project_input_names_the_field(db: Any, change: dict[str, Any], field: str) -> None:
    team = make_team()
    response = call("POST", "/projects", token=team.admin.token(), json_body=BODY | change)
    assert response.status == 400 and field in response.error["fields"], response.body
