"""Proof that every query the code issues has its index: record the structured queries the Firestore client
sends during tests and match each against firestore.indexes.json (the emulator never asks for indexes).

The matching follows Firestore's index selection:
- a query on one field at most (besides `__name__`), or with equality / array-contains filters only, is
  served by the automatic single-field indexes (zig-zag merge join);
- otherwise it needs composite indexes ending with its sort order (inequality field first, then orderBy,
  `__name__` implied in the last direction), whose leading equality fields together cover the query's
  equality filters: one exact index, or several merged (Firestore's "index merging");
- an OR query is split into its AND branches, each checked alone; collection-group queries need
  COLLECTION_GROUP indexes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

INDEXES_FILE = Path(__file__).resolve().parents[2] / "firestore.indexes.json"
EQUALITY = {"EQUAL": "eq", "IN": "eq", "ARRAY_CONTAINS": "contains", "ARRAY_CONTAINS_ANY": "contains"}
INEQUALITY = {"LESS_THAN", "LESS_THAN_OR_EQUAL", "GREATER_THAN", "GREATER_THAN_OR_EQUAL", "NOT_EQUAL", "NOT_IN"}


@dataclass(frozen=True)
class Shape:
    """One AND branch of a query: where it runs, its filters and its sort order."""

    collection: str
    group: bool
    equalities: frozenset[tuple[str, str]]  # (field, "eq" | "contains")
    inequalities: tuple[str, ...]
    orders: tuple[tuple[str, str], ...]  # (field, ASCENDING | DESCENDING)

    def describe(self) -> str:
        """A readable line for failure messages."""
        scope = "group " if self.group else ""
        eq = ", ".join(f"{f} {m}" for f, m in sorted(self.equalities))
        return f"{scope}{self.collection}: where [{eq}] ineq {list(self.inequalities)} order {list(self.orders)}"


@dataclass
class Recorder:
    """Shapes of the queries sent while recording."""

    shapes: set[Shape] = field(default_factory=set)


def _branches(filter_pb: Any) -> list[list[tuple[str, str]]]:
    """The filter as OR of AND branches, each a list of (field, operator name)."""
    kind = filter_pb._pb.WhichOneof("filter_type") if filter_pb is not None else None
    if kind is None:
        return [[]]
    if kind == "field_filter":
        return [[(filter_pb.field_filter.field.field_path, filter_pb.field_filter.op.name)]]
    if kind == "unary_filter":
        return [[(filter_pb.unary_filter.field.field_path, "EQUAL")]]
    composite = filter_pb.composite_filter
    children = [_branches(child) for child in composite.filters]
    if composite.op.name == "OR":
        return [branch for child in children for branch in child]
    result: list[list[tuple[str, str]]] = [[]]
    for child in children:
        result = [left + right for left in result for right in child]
    return result


def shapes_of(structured: Any) -> list[Shape]:
    """The AND-branch shapes of a StructuredQuery protobuf."""
    source = structured.from_[0]
    orders = [(o.field.field_path, o.direction.name) for o in structured.order_by]
    shapes = []
    for branch in _branches(structured.where if structured._pb.HasField("where") else None):
        equalities = frozenset((f, EQUALITY[op]) for f, op in branch if op in EQUALITY and f != "__name__")
        inequalities = tuple(dict.fromkeys(f for f, op in branch if op in INEQUALITY))
        sort = list(orders)
        for inequality in inequalities:  # Firestore orders by inequality fields first when not ordered
            if inequality not in [f for f, _ in sort]:
                sort.insert(0, (inequality, "ASCENDING"))
        if sort and sort[-1][0] == "__name__" and (len(sort) == 1 or sort[-1][1] == sort[-2][1]):
            sort = sort[:-1]
        shapes.append(Shape(source.collection_id, bool(source.all_descendants), equalities, inequalities, tuple(sort)))
    return shapes


def declared(path: Path = INDEXES_FILE) -> list[dict[str, Any]]:
    """The composite indexes of firestore.indexes.json."""
    return list(json.loads(path.read_text()).get("indexes", []))


def needs_composite(shape: Shape) -> bool:
    """False where single-field indexes serve the query."""
    fields = {f for f, _ in shape.equalities} | set(shape.inequalities) | {f for f, _ in shape.orders}
    if len(fields) <= 1:
        return False
    return bool(shape.orders)  # equality / array-contains only: zig-zag merge of single-field indexes


def served(shape: Shape, indexes: list[dict[str, Any]]) -> bool:
    """True when the declared indexes serve the shape (exactly, or merged on its equality fields)."""
    if not needs_composite(shape):
        return True
    scope = "COLLECTION_GROUP" if shape.group else "COLLECTION"
    suffix = list(shape.orders)
    covered: set[tuple[str, str]] = set()
    for index in indexes:
        if index.get("collectionGroup") != shape.collection or index.get("queryScope", "COLLECTION") != scope:
            continue
        fields = [
            (f["fieldPath"], f.get("order") or "CONTAINS") for f in index["fields"] if f["fieldPath"] != "__name__"
        ]
        if len(fields) <= len(suffix) or fields[len(fields) - len(suffix) :] != suffix:
            continue
        prefix = {(f, "contains" if mode == "CONTAINS" else "eq") for f, mode in fields[: len(fields) - len(suffix)]}
        if prefix <= shape.equalities:
            covered |= prefix
    return covered == set(shape.equalities)


def missing(shapes: set[Shape], indexes: list[dict[str, Any]] | None = None) -> list[str]:
    """Descriptions of the shapes no declared index serves."""
    table = declared() if indexes is None else indexes
    return sorted(shape.describe() for shape in shapes if not served(shape, table))


@contextmanager
def recording() -> Iterator[Recorder]:
    """Record the shape of every query the Firestore client builds (queries, aggregations, transactions)."""
    from google.cloud.firestore_v1 import base_query

    recorder = Recorder()
    original = base_query.BaseQuery._to_protobuf

    def spy(self: Any) -> Any:
        structured = original(self)
        recorder.shapes.update(shapes_of(structured))
        return structured

    base_query.BaseQuery._to_protobuf = spy  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        base_query.BaseQuery._to_protobuf = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def queries_have_indexes() -> Iterator[None]:
    """Record the test's queries; fail it when one has no declared index (autouse where a conftest imports it)."""
    with recording() as recorder:
        yield
    unserved = missing(recorder.shapes)
    assert not unserved, "queries without a composite index in firestore.indexes.json:\n" + "\n".join(unserved)
