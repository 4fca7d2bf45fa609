"""Fixtures the fault tests share with the visit and reminder tests (captured mail, an in-memory task queue)."""

from tests.support.ports import mailer, tasks_queue  # noqa: F401
