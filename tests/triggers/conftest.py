"""The trigger tests run the reminder queue in memory."""

from tests.support.ports import tasks_queue  # noqa: F401 - fixture
