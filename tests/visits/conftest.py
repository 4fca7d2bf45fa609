"""Fixtures shared by the visit and reminder tests; every query they make the code issue must have its index."""

from tests.support.indexes import queries_have_indexes
from tests.support.ports import mailer, tasks_queue

__all__ = ["mailer", "queries_have_indexes", "tasks_queue"]
