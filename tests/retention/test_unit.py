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
    retention.periods.cache_clear()
    assert retention.periods() == retention.Periods(outbox_days=30, notification_days=90, audit_months=12)
    retention.periods.cache_clear()
    monkeypatch.setenv("RETENTION_OUTBOX_DAYS", "7")
    assert retention.periods().outbox_days == 7
    retention.periods.cache_clear()
    monkeypatch.setenv("RETENTION_AUDIT_MONTHS", "0")
    with pytest.raises(retention.RetentionSettingsError):
        retention.periods()
    retention.periods.cache_clear()


def test_the_jobs_are_scheduled_and_deployed() -> None:
    from registry import FUNCTIONS, SCHEDULES

    for name in ("retentionexpiry", "retentiondaily"):
        assert FUNCTIONS[name] == "triggers.retention" and name in SCHEDULES
    from triggers import retention as jobs

    assert callable(jobs.retentionexpiry) and callable(jobs.retentiondaily)
