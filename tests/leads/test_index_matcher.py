"""The index matcher of tests/support/indexes.py, on hand-made shapes and on queries the client builds offline."""

from __future__ import annotations

import pytest

from tests.support import indexes

pytestmark = pytest.mark.unit


def test_the_matcher_refuses_an_undeclared_shape_and_accepts_merges() -> None:
    ordered = (("createdAt", "DESCENDING"),)
    shape = indexes.Shape("leads", False, frozenset({("archived", "eq"), ("stage", "eq")}), (), ordered)
    per_field = [
        {
            "collectionGroup": "leads",
            "queryScope": "COLLECTION",
            "fields": [{"fieldPath": field, "order": "ASCENDING"}, {"fieldPath": "createdAt", "order": "DESCENDING"}],
        }
        for field in ("archived", "stage")
    ]
    assert indexes.served(shape, per_field)
    assert not indexes.served(shape, per_field[:1])
    ascending = indexes.Shape("leads", False, shape.equalities, (), (("createdAt", "ASCENDING"),))
    assert not indexes.served(ascending, per_field)
    group = indexes.Shape("leads", True, shape.equalities, (), ordered)
    assert not indexes.served(group, per_field)
    equality_only = indexes.Shape("leads", False, shape.equalities, (), ())
    assert indexes.served(equality_only, [])
