"""Fixtures of the first-response SLA tests: the comms world (an organization with templates, a manager, two
agents and a lead of the first), the provider stubs and the in-memory task queue."""

from tests.comms.conftest import _fresh_adapters, world
from tests.comms.stub import stub
from tests.support.ports import mailer, tasks_queue

__all__ = ["_fresh_adapters", "mailer", "stub", "tasks_queue", "world"]
