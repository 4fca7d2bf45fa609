"""Pushes through the real FCM adapter with FCM faked at the HTTP boundary: dead tokens are removed after a
send; the feed entry is written once; a delivery that failed is retried, one that succeeded never is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from core import clients, notify
from core.caller import caller_from_claims
from core.push_tokens import devices_of
from devices.models import DeviceRegister
from devices.service import register
from tests.support.factory import add_person, make_org
from tests.support.outbox import feed

pytestmark = pytest.mark.service

FCM_ERRORS = {
    "dead-token": (404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
    "bad-token": (
        400,
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
    ),
    "busy-token": (503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
}


class FakeFcm(requests.adapters.BaseAdapter):
    """FCM's HTTP v1 `messages:send` as seen on the wire: success, or the error body FCM sends per token."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, Any]] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        assert isinstance(request.body, bytes | str)
        body = json.loads(request.body)
        message = body["message"]
        self.seen.append(message)
        response = requests.Response()
        response.request, response.url = request, str(request.url)
        response.headers["Content-Type"] = "application/json"
        if message["token"] in FCM_ERRORS:
            status, code, fcm_code, text = FCM_ERRORS[message["token"]]
            detail = {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}
            payload: dict[str, Any] = {"error": {"code": status, "message": text, "status": code, "details": [detail]}}
        else:
            status, payload = 200, {"name": f"projects/demo-justo/messages/{len(self.seen)}"}
        response.status_code = status
        response._content = json.dumps(payload).encode()
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def fcm(db: Any) -> Iterator[FakeFcm]:
    """The real FcmNotifier, its HTTP calls answered by FakeFcm."""
    from firebase_admin import messaging

    fake = FakeFcm()
    service = messaging._get_messaging_service(clients.firebase_app())
    service._client.session.mount("https://fcm.googleapis.com", fake)
    notify.install(notify.FcmNotifier())
    yield fake
    notify.install(None)
    service._client.session.mount("https://fcm.googleapis.com", requests.adapters.HTTPAdapter())


def _member_with_devices(*tokens: str) -> str:
    make_org()
    agent = add_person("org1", "agent", "north")
    caller = caller_from_claims({"orgId": "org1", "uid": agent.uid, "role": "agent", "teamId": "north"}, fresh=True)
    for index, token in enumerate(tokens):
        register(
            caller=caller,
            data=DeviceRegister.model_validate(
                {
                    "deviceId": f"d{index}",
                    "fcmToken": token,
                    "platform": "android",
                    "model": "P",
                    "osVersion": "14",
                    "appVersion": "1.0",
                }
            ),
        )
    return agent.uid


def _push(uid: str) -> notify.Push:
    return notify.Push(
        uid, "visit-reminder", "Site visit soon", "Ravi at Skyline, 10:30", {"visitId": "v1"}, ("lead1", "v1")
    )


def test_tokens_fcm_reports_unregistered_or_invalid_are_removed_after_a_send(fcm: FakeFcm) -> None:
    uid = _member_with_devices("good-token", "dead-token", "bad-token", "busy-token")
    assert notify.send(_push(uid), dedupe_key="event-1") is True
    assert sorted(m["token"] for m in fcm.seen) == ["bad-token", "busy-token", "dead-token", "good-token"]
    sent = next(m for m in fcm.seen if m["token"] == "good-token")
    assert sent["notification"] == {"title": "Site visit soon", "body": "Ravi at Skyline, 10:30"}
    assert sent["data"] == {"visitId": "v1", "kind": "visit-reminder"}
    left = sorted(s.get("fcmToken") for s in devices_of(uid).stream())
    assert left == ["busy-token", "good-token"]  # unavailable is not dead
    held = {(s.to_dict() or {})["deviceId"] for s in clients.db().collection("fcmTokens").stream()}
    assert held == {"d0", "d3"}
    (entry,) = feed(uid)
    assert entry["delivery"] == "sent" and entry["refs"] == ["lead1", "v1"] and entry["read"] is False
    assert notify.send(_push(uid), dedupe_key="event-1") is False  # a retried event sends nothing
    assert len(fcm.seen) == 4


class FailingOnce:
    """A notifier whose first delivery fails (the provider was down)."""

    def __init__(self) -> None:
        self.calls = 0

    def deliver(self, push: notify.Push, tokens: list[str]) -> list[str]:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("provider down")
        return []


def test_a_failed_delivery_is_delivered_by_the_retry_and_only_once(db: Any, clock: Any) -> None:
    uid = _member_with_devices("good-token")
    flaky = FailingOnce()
    notify.install(flaky)
    try:
        with pytest.raises(ConnectionError):
            notify.send(_push(uid), dedupe_key="event-2")
        assert feed(uid)[0]["delivery"] == "pending"
        assert notify.send(_push(uid), dedupe_key="event-2") is False  # the first attempt may still be running
        clock.at = clock.at + timedelta(seconds=31)
        assert notify.send(_push(uid), dedupe_key="event-2") is True
        assert notify.send(_push(uid), dedupe_key="event-2") is False
    finally:
        notify.install(None)
    assert flaky.calls == 2 and len(feed(uid)) == 1 and feed(uid)[0]["delivery"] == "sent"
