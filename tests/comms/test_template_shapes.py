"""WhatsApp template components as Meta takes them, and what a send must fill, without an emulator."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from comms import templates
from comms.models import TemplateCreate
from core.errors import ApiError

pytestmark = pytest.mark.unit

BODY = {"type": "BODY", "text": "Hello {{1}}, your visit is at {{2}}"}
URL = {"type": "URL", "text": "Open", "url": "https://x.example.com/p/{{1}}"}
REPLY = {"type": "QUICK_REPLY", "text": "Yes"}
CALL = {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+918045678900"}


def checked(components: list[dict[str, Any]]) -> str | None:
    """The field a registration of these components is refused for, or None."""
    model = TemplateCreate.model_validate(
        {"channel": "whatsapp", "name": "t", "category": "utility", "components": components}
    )
    try:
        templates.check_components([c.model_dump(exclude_none=True) for c in model.components or []])
    except ApiError as error:
        return next(iter(error.fields or {}))
    return None


ACCEPTED: list[list[dict[str, Any]]] = [
    [BODY],
    [{"type": "HEADER", "format": "TEXT", "text": "News of {{1}}"}, BODY, {"type": "FOOTER", "text": "Bye"}],
    [{"type": "HEADER", "format": "DOCUMENT"}, BODY, {"type": "BUTTONS", "buttons": [REPLY, REPLY, URL, URL, CALL]}],
    [{"type": "HEADER", "format": "VIDEO"}, BODY, {"type": "BUTTONS", "buttons": [URL, CALL, REPLY]}],
    [BODY, {"type": "BUTTONS", "buttons": [REPLY] * 10}],
]

REFUSED: list[tuple[list[dict[str, Any]], str]] = [
    ([{"type": "FOOTER", "text": "no body"}], "components"),
    ([{"type": "HEADER", "format": "TEXT", "text": "x" * 61}, BODY], "components.0.text"),
    ([BODY, {"type": "FOOTER", "text": "x" * 61}], "components.1.text"),
    ([{"type": "HEADER", "text": "No format"}, BODY], "components.0.format"),
    ([BODY | {"buttons": [REPLY]}], "components.0.buttons"),
    ([BODY | {"format": "TEXT"}], "components.0.format"),
    ([BODY, {"type": "FOOTER", "text": "Bye", "example": {"body_text": [["x"]]}}], "components.1.example"),
    ([BODY, {"type": "BUTTONS"}], "components.1.buttons"),
    ([{"type": "BODY", "text": "Hi {{1}}", "example": {"header_text": ["x"]}}], "components.0.example.header_text"),
    (
        [{"type": "HEADER", "format": "IMAGE", "example": {"body_text": [["x"]]}}, BODY],
        "components.0.example.body_text",
    ),
    ([BODY, BODY], "components.1.type"),
    ([{"type": "HEADER", "format": "TEXT"}, BODY], "components.0.text"),
    ([{"type": "HEADER", "format": "TEXT", "text": "{{1}} and {{2}}"}, BODY], "components.0.text"),
    ([{"type": "HEADER", "format": "TEXT", "text": "Only {{2}}"}, BODY], "components.0.text"),
    ([{"type": "HEADER", "format": "IMAGE", "text": "caption"}, BODY], "components.0.text"),
    ([{"type": "BODY", "text": "Gap {{1}} {{3}}"}], "components.0.text"),
    ([BODY, {"type": "FOOTER", "text": "Hi {{1}}"}], "components.1.text"),
    ([BODY, {"type": "BUTTONS", "buttons": [URL, URL, URL]}], "components.1.buttons.2.type"),
    ([BODY, {"type": "BUTTONS", "buttons": [CALL, CALL]}], "components.1.buttons.1.type"),
    ([BODY, {"type": "BUTTONS", "buttons": [REPLY, URL, REPLY]}], "components.1.buttons"),
    ([BODY, {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Go"}]}], "components.1.buttons.0.url"),
    (
        [BODY, {"type": "BUTTONS", "buttons": [URL | {"url": "https://x.example.com/{{1}}/a"}]}],
        "components.1.buttons.0.url",
    ),
    (
        [BODY, {"type": "BUTTONS", "buttons": [URL | {"url": "https://x.example.com/{{1}}{{2}}"}]}],
        "components.1.buttons.0.url",
    ),
    ([BODY, {"type": "BUTTONS", "buttons": [URL | {"url": "ftp://x.example.com/a"}]}], "components.1.buttons.0.url"),
    (
        [BODY, {"type": "BUTTONS", "buttons": [{"type": "PHONE_NUMBER", "text": "Call"}]}],
        "components.1.buttons.0.phone_number",
    ),
    ([BODY, {"type": "BUTTONS", "buttons": [REPLY | {"url": "https://x.example.com"}]}], "components.1.buttons.0.url"),
]


@pytest.mark.parametrize("components", ACCEPTED)
def test_templates_meta_accepts_are_accepted(components: list[dict[str, Any]]) -> None:
    assert checked(components) is None


@pytest.mark.parametrize(("components", "field"), REFUSED)
def test_templates_meta_refuses_are_400_naming_the_field(components: list[dict[str, Any]], field: str) -> None:
    assert checked(components) == field


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "HEADER", "format": "LOCATION"},
        {"type": "BODY", "text": "x" * 1025},
        {"type": "BUTTONS", "buttons": [REPLY] * 11},
        {"type": "BUTTONS", "buttons": [REPLY | {"text": "x" * 26}]},
        {"type": "BUTTONS", "buttons": [CALL | {"phone_number": "8045678900"}]},
        {"type": "CAROUSEL"},
    ],
)
def test_meta_limits_are_refused_by_the_model(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TemplateCreate.model_validate({"channel": "whatsapp", "name": "t", "category": "utility", "components": [bad]})


def test_the_shape_says_what_a_send_fills_and_where_its_url_buttons_are() -> None:
    components: list[dict[str, Any]] = [
        {"type": "HEADER", "format": "DOCUMENT"},
        BODY,
        {"type": "BUTTONS", "buttons": [REPLY, URL, CALL, URL | {"url": "https://x.example.com/fixed"}]},
    ]
    assert templates.shape(components) == templates.Shape(body_params=2, header="document", url_buttons=(1,))
    fixed = [{"type": "HEADER", "format": "TEXT", "text": "Hello"}, {"type": "BODY", "text": "No variables"}]
    assert templates.shape(fixed) == templates.Shape(0, "text", ())
    # Meta lists components in its own case; a stored list reads alike
    assert templates.shape([{"type": "body", "text": "{{1}}"}]).body_params == 1
    assert templates.components_of(templates.encode(components)) == components
    assert templates.components_of("not json") == [] and templates.components_of(None) == []
