"""Capture tests share the provider stub fixture of the comms tests, and keep Cloud Tasks in memory: a routed
capture sets `slaDueAt`, and the SLA scheduler trigger, when a test runs the triggers, enqueues its task."""

from typing import Any

import pytest

from tests.comms.stub import stub  # noqa: F401 - a fixture, found by name
from tests.support.ports import tasks_queue  # noqa: F401 - a fixture, found by name


@pytest.fixture(autouse=True)
def _tasks_in_memory(request: pytest.FixtureRequest) -> Any:
    """Every emulator-tier capture test gets the in-memory queue (unit tests need none)."""
    if request.node.get_closest_marker("unit") is None:
        return request.getfixturevalue("tasks_queue")
    return None
