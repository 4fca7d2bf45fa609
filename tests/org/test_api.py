"""Organization settings and teams through the real `org` handler."""

from __future__ import annotations

from typing import Any

import pytest

from core import tenancy
from devtools.inproc import call
from tests.support.factory import add_person, make_org

pytestmark = pytest.mark.http


def test_every_member_reads_settings_with_defaults(db: Any) -> None:
    make_org()
    agent = add_person("org1", "agent", "north")
    response = call("GET", "/org/settings", token=agent.token())
    assert response.status == 200
    assert response.body["stages"][0] == "new" and "booked" in response.body["stages"]
    assert response.body["timeZone"] == "Asia/Kolkata" and response.body["defaultCountryCode"] == "+91"
    assert response.body["version"] == 1


def test_admin_changes_settings_with_if_match_and_it_is_audited(db: Any) -> None:
    admin = make_org()
    response = call(
        "PATCH",
        "/org/settings",
        token=admin.token(),
        headers={"If-Match": "1"},
        json_body={
            "phoneMasking": True,
            "timeZone": "Asia/Dubai",
            "rolePermissions": {"agent": {"leads.export": True}},
        },
    )
    assert response.status == 200, response.body
    assert response.body["phoneMasking"] is True and response.body["version"] == 2
    stale = call(
        "PATCH", "/org/settings", token=admin.token(), headers={"If-Match": "1"}, json_body={"callRecording": True}
    )
    assert stale.status == 412
    stored = tenancy.org_ref("org1").get().to_dict()
    assert stored["settings"]["timeZone"] == "Asia/Dubai" and stored["settings"]["callRecording"] is False
    actions = [s.get("action") for s in tenancy.org_ref("org1").collection("audit").stream()]
    assert "settings.changed" in actions


def test_overrides_take_effect_for_the_role(db: Any) -> None:
    admin = make_org()
    agent = add_person("org1", "agent", "north")
    call(
        "PATCH", "/org/settings", token=admin.token(), json_body={"rolePermissions": {"agent": {"leads.export": True}}}
    )
    tenancy.cache.clear()
    assert "leads.export" in call("GET", "/members/me", token=agent.token()).body["permissions"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"timeZone": "Mars/Olympus"}, "timeZone"),
        ({"stages": ["new", "new"]}, "stages"),
        ({"defaultCountryCode": "91"}, "defaultCountryCode"),
        ({"rolePermissions": {"agent": {"members.manage": True}}}, "rolePermissions.agent.members.manage"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_settings_are_400_naming_the_field_and_change_nothing(db: Any, body: dict[str, Any], field: str) -> None:
    admin = make_org()
    response = call("PATCH", "/org/settings", token=admin.token(), json_body=body)
    assert response.status == 400 and field in response.error["fields"]
    assert tenancy.org_ref("org1").get().get("settingsVersion") == 1


def test_only_admins_change_settings_and_teams(db: Any) -> None:
    make_org()
    manager = add_person("org1", "manager", "north")
    assert call("PATCH", "/org/settings", token=manager.token(), json_body={"phoneMasking": True}).status == 403
    assert call("POST", "/org/teams", token=manager.token(), json_body={"name": "East"}).status == 403


def test_admin_creates_and_renames_a_team_with_a_manager(db: Any) -> None:
    admin = make_org()
    manager = add_person("org1", "manager", "north")
    created = call(
        "POST", "/org/teams", token=admin.token(), json_body={"id": "east", "name": "East", "managerIds": [manager.uid]}
    )
    assert created.status == 201 and created.body["managerIds"] == [manager.uid]
    again = call("POST", "/org/teams", token=admin.token(), json_body={"id": "east", "name": "East 2"})
    assert again.status == 409
    renamed = call(
        "PATCH", "/org/teams/east", token=admin.token(), json_body={"name": "East Wing"}, headers={"If-Match": "1"}
    )
    assert renamed.status == 200 and renamed.body["name"] == "East Wing" and renamed.body["version"] == 2
    listed = call("GET", "/org/teams", token=manager.token())
    assert [t["id"] for t in listed.body["items"]] == ["east", "north", "south"]


def test_team_manager_must_be_a_manager_of_the_org(db: Any) -> None:
    admin = make_org()
    agent = add_person("org1", "agent", "north")
    response = call("POST", "/org/teams", token=admin.token(), json_body={"name": "X", "managerIds": [agent.uid]})
    assert response.status == 400 and "managerIds.0" in response.error["fields"]
    assert call("PATCH", "/org/teams/missing", token=admin.token(), json_body={"name": "Y"}).status == 404


def test_settings_stored_badly_read_as_their_defaults_and_a_change_writes_them_back_whole(db: Any) -> None:
    admin = make_org()
    agent = add_person("org1", "agent", "north")
    junk = {"stages": [], "timeZone": "Mars/Olympus", "defaultCountryCode": 91, "visitStageMoves": "no"}
    tenancy.org_ref("org1").update({"settings": {**junk, "callRecording": True, "legacyKey": 1}})
    tenancy.cache.clear()
    read = call("GET", "/org/settings", token=agent.token())
    assert read.status == 200, read.body
    assert read.body["stages"][0] == "new" and read.body["timeZone"] == "Asia/Kolkata"
    assert read.body["defaultCountryCode"] == "+91" and read.body["visitStageMoves"] is True
    assert read.body["callRecording"] is True and "callerId" not in read.body  # retired: voice.callerIds
    changed = call("PATCH", "/org/settings", token=admin.token(), json_body={"phoneMasking": True})
    assert changed.status == 200 and changed.body["phoneMasking"] is True
    stored = tenancy.org_ref("org1").get().to_dict()["settings"]
    assert stored == {key: value for key, value in changed.body.items() if key != "version"} | {"legacyKey": 1}
    assert stored["stages"][0] == "new" and stored["timeZone"] == "Asia/Kolkata" and stored["callRecording"] is True
