"""Unit tests of core/: errors, permissions, settings, cursors, routing (no emulator)."""

from __future__ import annotations

import pytest

from core import permissions, settings
from core.errors import STATUS_BY_CODE, ApiError
from core.pagination import decode_cursor, encode_cursor
from tests.support.http import call

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


def test_production_refuses_development_or_missing_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GCLOUD_PROJECT", "justo-prod")
    monkeypatch.setenv("SMTP_HOST", "smtp.example.com")
    for name, _value in settings.DEV_SECRETS.items():
        monkeypatch.setenv(name, "real-" + name.lower())
    assert settings.load(environ_is_emulator=False).production
    monkeypatch.setenv("WHATSAPP_APP_SECRET", settings.DEV_SECRETS["WHATSAPP_APP_SECRET"])
    with pytest.raises(settings.SettingsError, match="WHATSAPP_APP_SECRET"):
        settings.load(environ_is_emulator=False)
    monkeypatch.delenv("WHATSAPP_APP_SECRET")
    with pytest.raises(settings.SettingsError, match="WHATSAPP_APP_SECRET"):
        settings.load(environ_is_emulator=False)


def test_emulator_settings_use_the_local_development_secrets() -> None:
    loaded = settings.load(environ_is_emulator=True)
    assert loaded.whatsapp_app_secret == "local-whatsapp-secret"
    assert loaded.whatsapp_verify_token == "local-verify-token"


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
