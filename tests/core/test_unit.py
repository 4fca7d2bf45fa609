"""Unit tests of core/: errors, permissions, settings, cursors, routing (no emulator)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import deploy, permissions, secrets, settings
from core.errors import STATUS_BY_CODE, ApiError
from core.pagination import decode_cursor, encode_cursor
from devtools.inproc import call

pytestmark = pytest.mark.unit


def test_every_api_md_code_maps_to_its_status() -> None:
    expected = {
        "INVALID_ARGUMENT": 400,
        "UNAUTHENTICATED": 401,
        "PERMISSION_DENIED": 403,
        "NOT_FOUND": 404,
        "ALREADY_EXISTS": 409,
        "FAILED_PRECONDITION": 409,
        "CONFLICT": 412,
        "PAYLOAD_TOO_LARGE": 413,
        "RESOURCE_EXHAUSTED": 429,
        "INTERNAL": 500,
        "UNAVAILABLE": 503,
    }
    assert {code: STATUS_BY_CODE[code] for code in expected} == expected


def test_error_body_has_api_md_shape_with_fields_and_extras() -> None:
    error = ApiError("ALREADY_EXISTS", "duplicate", fields={"primaryPhone": "taken"}, duplicateOf="abc")
    assert error.status == 409
    assert error.body() == {
        "error": {
            "code": "ALREADY_EXISTS",
            "message": "duplicate",
            "fields": {"primaryPhone": "taken"},
            "duplicateOf": "abc",
        }
    }


def test_permission_overrides_apply_but_never_touch_admin_only_powers() -> None:
    assert "leads.export" not in permissions.effective("agent", None)
    granted = permissions.effective("agent", {"agent": {"leads.export": True, "members.manage": True}})
    assert "leads.export" in granted and "members.manage" not in granted
    assert "comms.send" not in permissions.effective("rm", {"rm": {"comms.send": False}})
    assert "members.manage" in permissions.effective("admin", {"admin": {"members.manage": False}})


def test_override_validation_names_bad_entries() -> None:
    problems = permissions.validate_overrides({"agent": {"nope": True, "audit.read": True}, "boss": {}})
    assert set(problems) == {"rolePermissions.agent.nope", "rolePermissions.agent.audit.read", "rolePermissions.boss"}


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings as a deployed function sees them: a real project id, no emulator, no secrets at all."""
    monkeypatch.setenv("GCLOUD_PROJECT", "justo-prod")
    for secret in secrets.ALL:
        monkeypatch.delenv(secret.name, raising=False)
    production = dataclasses.replace(settings.load(environ_is_emulator=False), emulator=False)
    monkeypatch.setattr(settings, "get", lambda: production)
    yield


@pytest.mark.parametrize("secret", secrets.ALL, ids=lambda s: s.name)
def test_production_refuses_a_missing_or_development_secret_naming_it(
    production: None, monkeypatch: pytest.MonkeyPatch, secret: secrets.Secret
) -> None:
    with pytest.raises(settings.SettingsError, match=f"{secret.name} is not available to this function"):
        secrets.value(secret)
    monkeypatch.setenv(secret.name, secret.dev_value)
    with pytest.raises(settings.SettingsError, match=f"{secret.name} holds its development value"):
        secrets.value(secret)
    monkeypatch.setenv(secret.name, "real-" + secret.name.lower())
    assert secrets.value(secret) == "real-" + secret.name.lower()


def test_production_needs_no_secret_to_start_and_only_refuses_a_demo_project(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GCLOUD_PROJECT", "justo-prod")
    for secret in secrets.ALL:
        monkeypatch.delenv(secret.name, raising=False)
    assert settings.load(environ_is_emulator=False).production
    monkeypatch.setenv("GCLOUD_PROJECT", "demo-justo")
    with pytest.raises(settings.SettingsError, match="demo- project"):
        settings.load(environ_is_emulator=False)


def test_a_feature_setting_is_required_only_where_it_is_used(production: None) -> None:
    with pytest.raises(settings.SettingsError, match="SMTP_HOST is required for email"):
        settings.require("SMTP_HOST", "", "email")
    assert settings.require("SMTP_HOST", "smtp.example.com", "email") == "smtp.example.com"


def test_emulator_settings_use_the_local_development_secrets() -> None:
    assert secrets.value(secrets.WHATSAPP_APP_SECRET) == "local-whatsapp-secret"
    assert secrets.value(secrets.WHATSAPP_VERIFY_TOKEN) == "local-verify-token"


def test_the_bucket_comes_from_firebase_config_when_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORAGE_BUCKET", raising=False)
    monkeypatch.setenv(
        "FIREBASE_CONFIG", '{"projectId": "justo-prod", "storageBucket": "justo-prod.firebasestorage.app"}'
    )
    assert settings.load(environ_is_emulator=True).bucket == "justo-prod.firebasestorage.app"


@pytest.mark.parametrize(
    ("age", "max_age", "stale"),
    [
        (timedelta(0), deploy.PUSH_EVENTS, False),
        (deploy.PUSH_EVENTS, deploy.PUSH_EVENTS, False),
        (deploy.PUSH_EVENTS + timedelta(seconds=1), deploy.PUSH_EVENTS, True),
        (timedelta(hours=11), deploy.DATA_EVENTS, False),
        (timedelta(days=7), deploy.DATA_EVENTS, True),
    ],
)
def test_a_retried_event_older_than_its_bound_is_stale(age: timedelta, max_age: timedelta, stale: bool) -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert deploy.is_stale(now - age, max_age, now) is stale
    assert deploy.is_stale((now - age).replace(tzinfo=None), max_age, now) is stale, "naive times are UTC"


def test_cursor_round_trips_and_garbage_is_400() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert decode_cursor(encode_cursor(moment, "doc1")) == (moment, "doc1")
    with pytest.raises(ApiError) as raised:
        decode_cursor("not-a-cursor")
    assert raised.value.fields == {"cursor": "not a cursor this API issued"}


def test_health_probe_answers_without_authentication() -> None:
    response = call("GET", "/members/__/health")
    assert response.status == 200 and response.body == {"status": "ok"}


def test_unknown_path_is_404_and_wrong_method_405_in_api_shape() -> None:
    assert call("GET", "/members/x/y/z").error["code"] == "NOT_FOUND"
    response = call("PUT", "/members/me")
    assert response.status == 405 and response.error["code"] == "METHOD_NOT_ALLOWED"


def test_missing_or_malformed_token_is_401() -> None:
    assert call("GET", "/members/me").status == 401
    response = call("GET", "/members/me", headers={"Authorization": "Bearer garbage"})
    assert response.status == 401 and response.error["code"] == "UNAUTHENTICATED"


def test_validation_errors_name_every_failing_field() -> None:
    response = call("POST", "/auth/otp/verify", json_body={"email": "not-an-email", "code": "12", "extra": 1})
    assert response.status == 400
    assert set(response.error["fields"]) == {"email", "code", "extra"}


@pytest.mark.parametrize("bad", ["__main__", ".", "..", "a%2Fb"])
def test_ids_firestore_cannot_hold_are_404_before_any_read(bad: str) -> None:
    from core.models import valid_doc_id

    assert not valid_doc_id(bad.replace("%2F", "/"))
    assert call("GET", f"/members/{bad}", token="x").status == 404


def test_a_document_trigger_deploys_retried_and_acknowledges_a_stale_event_without_running() -> None:
    from types import SimpleNamespace

    from core import clock

    seen: list[str] = []
    options: dict[str, Any] = {}

    def sdk_decorator(**given: Any) -> Any:
        options.update(given)

        def register(function: Any) -> Any:
            function.__firebase_endpoint__ = SimpleNamespace(eventTrigger={"retry": False})
            return function

        return register

    @deploy.document_trigger(sdk_decorator, document="orgs/{orgId}", max_age=deploy.PUSH_EVENTS)
    def handler(event: Any) -> str:
        seen.append(event.id)
        return "ran"

    assert handler.__firebase_endpoint__.eventTrigger["retry"] is True
    assert options == {"document": "orgs/{orgId}", "region": "asia-south1"}
    now = clock.now()
    assert handler(SimpleNamespace(id="fresh", time=now - timedelta(minutes=59))) == "ran"
    assert handler(SimpleNamespace(id="stale", time=now - timedelta(hours=2))) is None
    assert seen == ["fresh"]
