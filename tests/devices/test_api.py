"""Device registration through the real `devices` handler."""

from __future__ import annotations

from typing import Any

import pytest

from core.ids import sha256_hex
from devtools.inproc import call
from tests.support.factory import add_person, make_org

pytestmark = pytest.mark.http

DEVICE = {
    "deviceId": "pixel-1",
    "fcmToken": "tok-1",
    "platform": "android",
    "model": "Pixel 8",
    "osVersion": "15",
    "appVersion": "1.4.0",
}


def _devices(db: Any, uid: str) -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() for s in db.collection("users").document(uid).collection("devices").stream()}


def test_register_stores_the_device_and_a_repeat_updates_it(db: Any) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    first = call("POST", "/devices", token=agent.token(), json_body=DEVICE)
    assert first.status == 201 and first.body["deviceId"] == "pixel-1" and "fcmToken" not in first.body
    second = call(
        "POST", "/devices", token=agent.token(), json_body=DEVICE | {"fcmToken": "tok-2", "appVersion": "1.5.0"}
    )
    assert second.status == 201 and second.body["createdAt"] == first.body["createdAt"]
    stored = _devices(db, agent.uid)
    assert list(stored) == ["pixel-1"] and stored["pixel-1"]["fcmToken"] == "tok-2"
    assert not db.collection("fcmTokens").document(sha256_hex("tok-1")).get().exists


def test_a_token_moves_to_whoever_signs_in_on_the_device(db: Any) -> None:
    make_org()
    first = add_person("org1", "agent", "north")
    second = add_person("org1", "agent", "north")
    call("POST", "/devices", token=first.token(), json_body=DEVICE)
    call("POST", "/devices", token=second.token(), json_body=DEVICE | {"deviceId": "shared"})
    assert _devices(db, first.uid) == {} and list(_devices(db, second.uid)) == ["shared"]


def test_delete_forgets_the_device_and_is_idempotent(db: Any) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    call("POST", "/devices", token=agent.token(), json_body=DEVICE)
    assert call("DELETE", "/devices/pixel-1", token=agent.token()).status == 204
    assert call("DELETE", "/devices/pixel-1", token=agent.token()).status == 204
    assert _devices(db, agent.uid) == {}


def test_bad_platform_is_400_naming_the_field(db: Any) -> None:
    agent = add_person(make_org().org_id, "agent", "north")
    response = call("POST", "/devices", token=agent.token(), json_body=DEVICE | {"platform": "symbian"})
    assert response.status == 400 and "platform" in response.error["fields"]


def test_a_member_deactivated_on_another_instance_cannot_register_a_device_from_this_ones_cache(db: Any) -> None:
    """The member cache may still say active for 15 s; registering a push target re-reads the member."""
    agent = add_person(make_org().org_id, "agent", "north")
    token = agent.token()
    assert call("GET", "/devices/__/health").status == 200
    assert call("GET", "/members/me", token=token).status == 200  # this instance now caches the member as active
    db.collection("orgs").document("org1").collection("members").document(agent.uid).update({"active": False})
    assert call("GET", "/members/me", token=token).status == 200, "the cached read still trusts the member"
    refused = call("POST", "/devices", token=token, json_body=DEVICE)
    assert refused.status == 401 and _devices(db, agent.uid) == {}
