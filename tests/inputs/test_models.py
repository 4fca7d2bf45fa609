"""Every model a route reads its body or query with, found by introspection (a new model is covered without
editing this file): unknown fields are refused naming them, and the wire names are the camelCase API.md documents."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, RootModel, ValidationError
from pydantic.alias_generators import to_camel

from tests.support.routes import input_models

pytestmark = pytest.mark.unit

MODELS = sorted(input_models(), key=lambda model: f"{model.__module__}.{model.__name__}")
OBJECT_MODELS = [model for model in MODELS if not issubclass(model, RootModel)]


def _errors(model: type[BaseModel], value: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(value)
    return [dict(error) for error in caught.value.errors()]


def test_the_introspection_found_the_models() -> None:
    names = {model.__name__ for model in MODELS}
    assert {"LeadCreate", "MemberCreate"} <= names and len(OBJECT_MODELS) >= 20


@pytest.mark.parametrize("model", OBJECT_MODELS, ids=lambda model: model.__name__)
def test_an_unknown_field_is_refused_by_its_name(model: type[BaseModel]) -> None:
    errors = _errors(model, {"surpriseField": 1})
    assert ("surpriseField",) in [tuple(error["loc"]) for error in errors if error["type"] == "extra_forbidden"]


@pytest.mark.parametrize("model", OBJECT_MODELS, ids=lambda model: model.__name__)
def test_every_field_is_named_in_camel_case_on_the_wire(model: type[BaseModel]) -> None:
    assert {name: field.alias or name for name, field in model.model_fields.items()} == {
        name: to_camel(name.rstrip("_"))
        for name in model.model_fields  # from_: a Python keyword
    }
