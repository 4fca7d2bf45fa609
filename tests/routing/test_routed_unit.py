"""A create that loses the race for a rotation counter picks again from fresh counts: it keeps going for a time
budget (so a slow machine or a burst on one rule costs rounds, not refusals) and only then answers 503."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from google.api_core.exceptions import FailedPrecondition

from core.errors import ApiError
from routing import engine
from tests.support.fake_time import FakeTime

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


class _Plan:
    def __init__(self) -> None:
        self.picks = 0

    def pick(self, moment: datetime) -> Any:
        self.picks += 1
        return f"candidate-{self.picks}"


def _clock(monkeypatch: pytest.MonkeyPatch, step: float) -> FakeTime:
    fake = FakeTime(step)
    monkeypatch.setattr(engine, "time", fake)
    return fake


def test_a_claim_lost_many_times_is_picked_again_until_it_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _clock(monkeypatch, step=0.1)
    plan = _Plan()

    def attempt(candidate: Any) -> str:
        if plan.picks < 60:  # more rounds than any fixed count the engine used to allow
            raise FailedPrecondition("update time precondition failed")
        return str(candidate)

    assert engine.routed(plan, attempt, now=NOW) == "candidate-60"  # type: ignore[arg-type]
    assert len(fake.pauses) == 59
    assert max(fake.pauses) <= engine.PICK_PAUSE_SEC * engine.PICK_PAUSE_GROWTH


def test_a_claim_still_losing_when_the_budget_is_spent_answers_503_with_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clock(monkeypatch, step=5.0)
    plan = _Plan()

    def attempt(candidate: Any) -> str:
        raise FailedPrecondition("update time precondition failed")

    with pytest.raises(ApiError) as raised:
        engine.routed(plan, attempt, now=NOW)  # type: ignore[arg-type]
    assert raised.value.code == "UNAVAILABLE" and raised.value.headers == {"Retry-After": "1"}
    # the deadline is set at 5 s (25 s); losses seen at 10, 15 and 20 s pick again, the one seen at 25 s ends it
    assert plan.picks == 4


def test_other_errors_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _clock(monkeypatch, step=0.1)
    plan = _Plan()

    def attempt(candidate: Any) -> str:
        raise ValueError("not a race")

    with pytest.raises(ValueError):
        engine.routed(plan, attempt, now=NOW)  # type: ignore[arg-type]
    assert plan.picks == 1 and fake.pauses == []
