"""Fixtures shared by the visit and reminder tests; every query they make the code issue must have its index."""

from collections.abc import Iterator

import pytest

from tests.support import indexes
from tests.visits.data import mailer, tasks_queue

__all__ = ["mailer", "queries_have_indexes", "tasks_queue"]


@pytest.fixture(autouse=True)
def queries_have_indexes() -> Iterator[None]:
    """Record the test's queries; fail it when one has no declared index."""
    with indexes.recording() as recorder:
        yield
    unserved = indexes.missing(recorder.shapes)
    assert not unserved, "queries without a composite index in firestore.indexes.json:\n" + "\n".join(unserved)
