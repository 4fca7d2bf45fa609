"""Every route of every deployed Router and the fields of its declared models, found by introspection, so
tests that walk "every route" or "every field" cover a new route or field without being edited."""

from __future__ import annotations

import importlib
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, RootModel
from pydantic.fields import FieldInfo


@dataclass(frozen=True)
class RouteRef:
    """A route and the function it belongs to."""

    function: str
    route: Any

    @property
    def method(self) -> str:
        """GET, POST, PATCH or DELETE."""
        return str(self.route.method)

    @property
    def params(self) -> list[str]:
        """The path parameters' names, in order."""
        return re.findall(r"\{(\w+)\}", self.route.path)

    def url(self, values: dict[str, str]) -> str:
        """`/function/sub/path` with the parameters filled in."""
        sub = self.route.path
        for name in self.params:
            sub = sub.replace("{" + name + "}", values[name])
        return f"/{self.function}{sub.rstrip('/')}" if sub != "/" else f"/{self.function}"

    def __str__(self) -> str:
        return f"{self.method} /{self.function}{self.route.path.rstrip('/')}"


def routes() -> list[RouteRef]:
    """Every route of every deployed HTTPS function (registry.FUNCTIONS), in a stable order."""
    from registry import FUNCTIONS

    found: list[RouteRef] = []
    for function, module_name in sorted(FUNCTIONS.items()):
        router = getattr(importlib.import_module(module_name), "router", None)
        if router is None or getattr(router, "name", None) != function:
            continue
        found.extend(RouteRef(function, route) for route in router.routes)
    return found


@dataclass(frozen=True)
class Leaf:
    """One value slot of an input model (`model`, the root): its wire path, type and constraints."""

    model: type[BaseModel]
    path: tuple[str | int, ...]
    annotation: Any
    constraints: tuple[Any, ...]

    @property
    def dotted(self) -> str:
        """The path as error bodies name it: `budget.max`, `emails.0`."""
        return ".".join(str(part) for part in self.path)


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """(the bare type, the constraints of the Annotated layers around it)."""
    constraints: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *meta = typing.get_args(annotation)
        for item in meta:
            constraints.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    return annotation, constraints


def _branches(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return [annotation]


def nullable(annotation: Any) -> bool:
    """True when the annotation admits None."""
    bare, _ = _unwrap(annotation)
    if typing.get_origin(bare) in (typing.Union, types.UnionType):
        return type(None) in typing.get_args(bare)
    return bare is type(None) or bare is Any


def leaves(
    model: type[BaseModel], prefix: tuple[str | int, ...] = (), root: type[BaseModel] | None = None
) -> Iterator[Leaf]:
    """Every value slot of model, nested models and list items included (list items at index 0, map keys and
    values as `<key>` and `<value>`); each Leaf names the root model it was reached from."""
    for name, field in model.model_fields.items():
        alias = field.alias or name
        yield from _slots(root or model, (*prefix, alias), field.annotation, list(field.metadata))


def _slots(model: type[BaseModel], path: tuple[str | int, ...], annotation: Any, outer: list[Any]) -> Iterator[Leaf]:
    bare, around = _unwrap(annotation)
    for branch in _branches(bare):  # field constraints apply to each non-None branch, as pydantic applies them
        kind, inner = _unwrap(branch)
        constraints = (*outer, *around, *inner)
        origin = typing.get_origin(kind)
        yield Leaf(model, path, kind, constraints)
        if isinstance(kind, type) and issubclass(kind, BaseModel) and not issubclass(kind, RootModel):
            yield from leaves(kind, path, model)
        elif origin is list:
            yield from _slots(model, (*path, 0), typing.get_args(kind)[0], [])
        elif origin is dict:
            key, value = typing.get_args(kind)
            yield from _slots(model, (*path, "<key>"), key, [])
            yield from _slots(model, (*path, "<value>"), value, [])


def constraint(leaf: Leaf, name: str) -> Any:
    """The first value of a constraint (max_length, ge, le, pattern, ...) on a leaf, or None."""
    for item in leaf.constraints:
        value = getattr(item, name, None)
        if value is not None:
            return value
    return None


def validators(leaf: Leaf) -> list[Any]:
    """The functions of the AfterValidators on a leaf."""
    return [item.func for item in leaf.constraints if type(item).__name__ == "AfterValidator"]


def input_models() -> dict[type[BaseModel], list[RouteRef]]:
    """Every model a route reads its body or query with, and the routes that do."""
    found: dict[type[BaseModel], list[RouteRef]] = {}
    for ref in routes():
        for model in (ref.route.doc.body, ref.route.doc.query):
            if model is not None:
                found.setdefault(model, []).append(ref)
    return found


def is_datetime(annotation: Any) -> bool:
    """True for datetime types (pydantic's AwareDatetime included)."""
    return isinstance(annotation, type) and issubclass(annotation, datetime)
