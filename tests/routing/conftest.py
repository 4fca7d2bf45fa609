"""Every query these tests make the code issue must have its index in firestore.indexes.json."""

from tests.support.indexes import queries_have_indexes  # noqa: F401 - autouse fixture
