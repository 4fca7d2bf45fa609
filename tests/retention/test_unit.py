"""The retention rules as pure functions, the settings, and the schedules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from privacy import retention

pytestmark = pytest.mark.unit


def test_audit_is_kept_a_year_and_removed_by_whole_months() -> None:
    now = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    assert retention.audit_cutoff(now, 12) == datetime(2025, 11, 1, tzinfo=UTC)
    assert retention.audit_cutoff(datetime(2026, 1, 1, tzinfo=UTC), 12) == datetime(2025, 1, 1, tzinfo=UTC)
    assert retention.audit_cutoff(datetime(2026, 3, 31, 23, 59, tzinfo=UTC), 14) == datetime(2025, 1, 1, tzinfo=UTC)
    # every entry younger than a year is kept, whatever the day of the month
    for day in (1, 15, 28):
        moment = datetime(2026, 2, day, tzinfo=UTC)
        assert retention.audit_cutoff(moment, 12) <= moment.replace(year=2025)


def test_periods_default_and_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from core import ttl

    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert ttl.outbox_expiry(now) - now == timedelta(days=30)
    assert ttl.notification_expiry(now) - now == timedelta(days=90)
    monkeypatch.setenv("RETENTION_OUTBOX_DAYS", "7")
    assert ttl.outbox_expiry(now) - now == timedelta(days=7)
    retention.periods.cache_clear()
    assert retention.periods() == retention.Periods(audit_months=12)
    retention.periods.cache_clear()
    monkeypatch.setenv("RETENTION_AUDIT_MONTHS", "0")
    with pytest.raises(retention.RetentionSettingsError):
        retention.periods()
    retention.periods.cache_clear()
    monkeypatch.setenv("RETENTION_NOTIFICATION_DAYS", "ninety")
    with pytest.raises(retention.RetentionSettingsError, match="RETENTION_NOTIFICATION_DAYS"):
        ttl.notification_expiry(now)


def test_every_expiring_collection_has_a_ttl_policy_for_the_deploy() -> None:
    import json

    from core import ttl
    from tests.conftest import ROOT

    overrides = json.loads((ROOT / "firestore.indexes.json").read_text())["fieldOverrides"]
    with_ttl = {o["collectionGroup"] for o in overrides if o.get("ttl") is True and o["fieldPath"] == ttl.FIELD}
    assert with_ttl == set(ttl.COLLECTION_GROUPS)


def test_the_audit_job_is_scheduled_and_deployed() -> None:
    from registry import FUNCTIONS, SCHEDULES

    assert FUNCTIONS["retentiondaily"] == "triggers.retention" and "retentiondaily" in SCHEDULES
    assert "retentionexpiry" not in FUNCTIONS, "what simply expires goes by Firestore TTL, not a sweep"
    from triggers import retention as jobs

    assert callable(jobs.retentiondaily)


def test_capture_periods_default_and_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    retention.periods.cache_clear()
    assert (retention.periods().rejected_capture_days, retention.periods().capture_days) == (30, 365)
    retention.periods.cache_clear()
    monkeypatch.setenv("RETENTION_REJECTED_CAPTURE_DAYS", "7")
    monkeypatch.setenv("RETENTION_CAPTURE_DAYS", "90")
    assert (retention.periods().rejected_capture_days, retention.periods().capture_days) == (7, 90)
    for name in ("RETENTION_REJECTED_CAPTURE_DAYS", "RETENTION_CAPTURE_DAYS"):
        retention.periods.cache_clear()
        monkeypatch.setenv(name, "-1")
        with pytest.raises(retention.RetentionSettingsError):
            retention.periods()
        monkeypatch.setenv(name, "30")
    retention.periods.cache_clear()
