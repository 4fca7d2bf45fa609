"""Every query these tests make the code issue must have its index in firestore.indexes.json."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import indexes


@pytest.fixture(autouse=True)
def queries_have_indexes() -> Iterator[None]:
    """Record the test's queries; fail it when one has no declared index."""
    with indexes.recording() as recorder:
        yield
    unserved = indexes.missing(recorder.shapes)
    assert not unserved, "queries without a composite index in firestore.indexes.json:\n" + "\n".join(unserved)
