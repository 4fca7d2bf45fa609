"""Every input model of every route, by introspection: each value a client can send is bounded so that it can
be stored and read back (issue 12, class 3). A new route, model or field that breaks a rule fails here with
its path named, before any request is made:

- text has a maximum length (a document stays under Firestore's 1 MiB; a filter value under 1,500 bytes);
- integers lie within 64 bits (Firestore's), floats between finite bounds (no inf, no NaN);
- lists and maps have a maximum size;
- times are `core.models.Instant` (an offset is required; stored in UTC, so year 1 or 9999 cannot overflow);
- every id (`id`, `...Id`, `...Ids`) is `core.models.DocId`: the one validator of what may become a path;
- patterns use ASCII classes (`[0-9]`, not `\\d`: Unicode digits such as "²" pass `\\d`-like checks and then
  fail int());
- a PATCH body is a `core.models.ApiPatch`: null on a field is a 400 naming it unless the field is declared
  clearable, and a clearable field is nullable in the route's response model (a stored null never breaks a
  read).
"""

from __future__ import annotations

import re
import typing
from typing import Any

import pytest
from pydantic import BaseModel, RootModel, ValidationError

from core.models import INT64_MAX, INT64_MIN, ApiPatch, _doc_id, _instant
from tests.support.routes import Leaf, constraint, input_models, is_datetime, leaves, nullable, routes, validators

pytestmark = pytest.mark.unit

UNICODE_CLASSES = re.compile(r"\\[dwsDWS]")
# Names that end in "Id" without naming a document.
NOT_DOCUMENT_IDS = {
    "phoneNumberId": "Meta's numeric phone number id (digits pattern)",
    "wabaId": "Meta's numeric WhatsApp Business Account id (digits pattern)",
    "dltEntityId": "a DLT principal entity id (19 digits pattern)",
    "dltTemplateId": "a DLT template id (19 digits pattern)",
    "senderIds": "DLT headers (6 letters or 6 digits)",
    "callerIds": "phone numbers, normalized to E.164",
}


def _all_leaves() -> list[Leaf]:
    found: list[Leaf] = []
    for model in input_models():
        if issubclass(model, RootModel):  # the CSV body: bounded by MAX_BODY_BYTES, read row by row as LeadCreate
            continue
        found.extend(leaves(model))
    return found


def _kind(leaf: Leaf) -> str:
    annotation = leaf.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return "literal"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model"
    origin = typing.get_origin(annotation)
    if origin in (list, dict):
        return origin.__name__
    if is_datetime(annotation):
        return "datetime"
    name = getattr(annotation, "__name__", str(annotation))
    return {"EmailStr": "email"}.get(name, name)


def _problems(leaf: Leaf) -> list[str]:
    kind = _kind(leaf)
    name = str(leaf.path[-1])
    problems = []
    if kind in {"str", "list", "dict"} and constraint(leaf, "max_length") is None:
        problems.append(f"{kind} without max_length")
    if kind == "int":
        low, high = constraint(leaf, "ge"), constraint(leaf, "le")
        low = low if low is not None else constraint(leaf, "gt")
        high = high if high is not None else constraint(leaf, "lt")
        if low is None or high is None or low < INT64_MIN or high > INT64_MAX:
            problems.append("int without bounds within 64 bits (core.models.Count, Money)")
    if kind == "float" and (
        (constraint(leaf, "ge") is None and constraint(leaf, "gt") is None)
        or (constraint(leaf, "le") is None and constraint(leaf, "lt") is None)
    ):
        problems.append("float without finite bounds (ge/le refuse inf and NaN)")
    if kind == "datetime" and _instant not in validators(leaf):
        problems.append("time that is not core.models.Instant")
    is_id = name == "id" or name.endswith(("Id", "Ids"))
    if (
        kind not in {"model", "list", "dict"}
        and is_id
        and name not in NOT_DOCUMENT_IDS
        and _doc_id not in validators(leaf)
    ):
        problems.append("id that is not core.models.DocId")
    if (
        kind == "str"
        and leaf.path[-1] == 0
        and str(leaf.path[-2]).endswith("Ids")
        and _doc_id not in validators(leaf)
        and str(leaf.path[-2]) not in NOT_DOCUMENT_IDS
    ):
        problems.append("id that is not core.models.DocId")
    pattern = constraint(leaf, "pattern")
    if pattern and UNICODE_CLASSES.search(str(pattern)):
        problems.append(f"pattern {pattern!r} uses a Unicode class; use [0-9] and the like")
    return problems


def test_the_introspection_finds_the_routes_and_their_models() -> None:
    found = routes()
    assert len(found) > 50 and any(str(ref) == "PATCH /org/teams/{team_id}" for ref in found)
    paths = {leaf.dotted for leaf in _all_leaves()}
    assert {"budget.max", "primaryPhone.countryCode", "emails.0", "rolePermissions.<key>", "cursor"} <= paths


def test_every_input_value_is_bounded_typed_and_storable() -> None:
    problems = {
        f"{leaf.model.__name__}.{leaf.dotted} ({_kind(leaf)})": why for leaf in _all_leaves() for why in _problems(leaf)
    }
    assert not problems, "\n".join(f"{where}: {why}" for where, why in sorted(problems.items()))


def _patch_routes() -> list[Any]:
    return [ref for ref in routes() if ref.method == "PATCH" and ref.route.doc.body is not None]


def test_every_patch_body_refuses_null_except_on_clearable_fields_and_those_read_back_as_null() -> None:
    assert len(_patch_routes()) >= 7
    problems: list[str] = []
    for ref in _patch_routes():
        body, response = ref.route.doc.body, ref.route.doc.response
        if not issubclass(body, ApiPatch):
            problems.append(f"{ref}: {body.__name__} is not a core.models.ApiPatch")
            continue
        for name, field in body.model_fields.items():
            alias = field.alias or name
            if name in body.clearable:
                out = response.model_fields.get(name) if response is not None else None
                if out is not None and not nullable(out.annotation):
                    problems.append(f"{ref}: {alias} is clearable but {response.__name__}.{name} cannot be null")
                continue
            try:
                body.model_validate({alias: None})
            except ValidationError as error:
                if not any(tuple(item["loc"]) == (alias,) for item in error.errors()):
                    problems.append(f"{ref}: null {alias} refused without naming it: {error.errors()}")
            else:
                problems.append(f"{ref}: {alias}: null accepted (would be stored and break reads)")
        for name in body.clearable:
            if name not in body.model_fields:
                problems.append(f"{ref}: clearable names {name}, not a field of {body.__name__}")
    assert not problems, "\n".join(problems)
