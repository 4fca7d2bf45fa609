"""Captured payloads hold the buyer's data (`raw`): the daily retention job deletes rejected captures after
RETENTION_REJECTED_CAPTURE_DAYS and every capture after RETENTION_CAPTURE_DAYS, in every organization, and
leaves the leads they made; the queries it issues are indexed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import tenancy
from leads import store
from privacy import retention
from tests.leads.capture.test_api import push, website
from tests.support import indexes
from tests.support.leads import make_team

pytestmark = pytest.mark.http

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
PERIODS = retention.Periods(rejected_capture_days=30, capture_days=365)


def _captured(clock: Any, source: dict[str, Any], days_ago: int, payload: dict[str, Any]) -> dict[str, Any]:
    clock.at = NOW - timedelta(days=days_ago)
    answer = push(source, payload)
    assert answer.status == 200, answer.body
    return dict(answer.body)


def _left(org_id: str) -> set[str]:
    return {s.id for s in tenancy.org_ref(org_id).collection("captures").stream()}


def test_rejected_captures_go_after_their_period_and_every_capture_after_the_longer_one(db: Any, clock: Any) -> None:
    teams = {"org1": make_team("org1"), "org2": make_team("org2")}
    made: dict[str, dict[str, dict[str, Any]]] = {}
    for org_id, team in teams.items():
        source = website(team)
        made[org_id] = {
            "rejected-old": _captured(clock, source, 31, {"name": "No contact", "note": "a"}),
            "rejected-young": _captured(clock, source, 29, {"name": "No contact", "note": "b"}),
            "created-old": _captured(clock, source, 366, {"name": "Asha", "phone": "9845022001"}),
            "enquired-old": _captured(clock, source, 366, {"name": "Asha R", "phone": "9845022001"}),
            "created-young": _captured(clock, source, 364, {"name": "Ravi", "phone": "9845022002"}),
            "enquired-young": _captured(clock, source, 1, {"name": "Ravi K", "phone": "9845022002"}),
        }
        outcomes = {label: body["outcome"] for label, body in made[org_id].items()}
        assert outcomes == {
            "rejected-old": "rejected",
            "rejected-young": "rejected",
            "created-old": "created",
            "enquired-old": "enquired-again",
            "created-young": "created",
            "enquired-young": "enquired-again",
        }
    clock.at = NOW
    with indexes.recording() as recorder:
        counts = retention.run_daily(NOW, PERIODS)
    assert indexes.missing(recorder.shapes) == []
    assert counts["rejectedCaptures"] == 2 and counts["oldCaptures"] == 4
    for org_id, bodies in made.items():
        kept = {bodies[label]["captureId"] for label in ("rejected-young", "created-young", "enquired-young")}
        assert _left(org_id) == kept
        old_lead = store.get(org_id, bodies["created-old"]["leadId"])
        assert old_lead is not None and len(old_lead.enquiries) == 1  # the lead and its enquiries stay
    again = retention.run_daily(NOW, PERIODS)  # and the sweeps by purpose (none set here) count nothing either
    assert {"audit", "rejectedCaptures", "oldCaptures"} <= again.keys() and not any(again.values()), again
