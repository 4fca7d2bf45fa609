"""The router validates and serializes each route's declared `response=` / `items=` model: handlers return data
(a mapping, a model, a Page, or a Reply around one), and what the client gets is exactly what
`Model.model_validate(data).json_body()` gave when handlers did it by hand. A reply that does not match its
model is our bug: logged (without the values) and answered 500 with the request id, never half sent."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Request
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field
from werkzeug.test import EnvironBuilder

from core import http, idempotency
from core.http import Call, Page, Reply, Router, created, no_content
from core.models import ApiOut
from tests.support.routes import routes

pytestmark = pytest.mark.unit

WHEN = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


class Place(ApiOut):
    """A nested output model."""

    postal_code: str = Field(description="PIN")


class Thing(ApiOut):
    """An output model with aliases, a time, a nested model and defaults."""

    id: str = Field(description="id")
    display_name: str = Field(description="name")
    created_at: datetime = Field(description="when")
    place: Place | None = Field(None, description="where")
    tags: list[str] = Field(default_factory=list, description="tags")


# A stored document: snake and camel keys both read (populate_by_name), private fields the reply must drop.
STORED: dict[str, Any] = {
    "id": "t1",
    "displayName": "Ravi",
    "created_at": WHEN,
    "place": {"postalCode": "560001", "geo": {"lat": 1.0}},
    "privateContact": {"phone": "+919876543210"},
    "searchTokens": ["98765"],
}
EXPECTED = Thing.model_validate(STORED).model_dump(by_alias=True, mode="json")


def request(path: str, method: str = "GET", headers: dict[str, str] | None = None, data: bytes = b"") -> Request:
    """A flask request as the Functions runtime hands it to the router."""
    builder = EnvironBuilder(path=path, method=method, headers=list((headers or {}).items()), data=data)
    return Request(builder.get_environ())


def router_answering(result: Callable[[], Any], **doc: Any) -> Router:
    """A router whose one public route `/r` returns result() and declares doc (response=, items=, status=)."""
    router = Router("probe")
    router.route(doc.pop("method", "GET"), "/r", public=True, **doc)(lambda call: result())
    return router


def dispatch(result: Callable[[], Any], **doc: Any) -> tuple[int, dict[str, str], Any]:
    """(status, headers, body) of the probe route answering result()."""
    status, headers, body, _, _ = router_answering(result, **doc).dispatch(request("/r", doc.get("method", "GET")))
    return status, headers, body


# ---- single resources ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "result", "status", "headers"),
    [
        ("a mapping", lambda: dict(STORED), 200, {}),
        ("a model instance", lambda: Thing.model_validate(STORED), 200, {}),
        ("created(mapping)", lambda: created(dict(STORED)), 201, {}),
        ("created(model)", lambda: created(Thing.model_validate(STORED)), 201, {}),
        (
            "Reply(mapping) with status and headers",
            lambda: Reply(dict(STORED), 202, {"ETag": '"3"'}),
            202,
            {"ETag": '"3"'},
        ),
    ],
)
def test_a_declared_response_is_validated_and_serialized_as_by_hand(
    name: str, result: Callable[[], Any], status: int, headers: dict[str, str]
) -> None:
    """Whatever form the handler returns, the body is the model's JSON (aliases, RFC 3339, extra keys dropped);
    the reply's own status and headers are kept."""
    got = dispatch(result, response=Thing)
    assert got == (status, headers, EXPECTED), name
    assert EXPECTED == {
        "id": "t1",
        "displayName": "Ravi",
        "createdAt": "2030-01-02T03:04:05Z",
        "place": {"postalCode": "560001"},
        "tags": [],
    }


def test_the_wire_bytes_are_those_of_hand_serialization() -> None:
    """Through flask, the response carries the same JSON text hand validation produced."""
    response = router_answering(lambda: dict(STORED), response=Thing)(request("/r"))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_data() == json.dumps(EXPECTED, ensure_ascii=False, separators=(",", ":")).encode()


_keys = st.sampled_from(["privateContact", "searchTokens", "e164", "raw", "x"]) | st.text(min_size=1, max_size=8)
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None)
@given(
    extra=st.dictionaries(_keys, _values, max_size=4),
    name=st.text(max_size=20),
    camel=st.booleans(),
    when=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    tags=st.lists(st.text(max_size=5), max_size=3),
)
def test_any_stored_shape_serializes_exactly_as_model_validate_json_body(
    extra: dict[str, Any], name: str, camel: bool, when: datetime, tags: list[str]
) -> None:
    """Property: for any stored document (either key spelling, any extra fields), the router's body equals
    `Thing.model_validate(doc).json_body()` and holds only the model's aliases."""
    known = {"displayName" if camel else "display_name": name, "createdAt" if camel else "created_at": when}
    stored = {**{key: value for key, value in extra.items() if key not in Thing.model_fields}, **known}
    stored.update({"id": "t1", "tags": tags})
    status, _, body = dispatch(lambda: stored, response=Thing)
    assert status == 200
    assert body == Thing.model_validate(stored).model_dump(by_alias=True, mode="json")
    assert set(body) == {field.alias for field in Thing.model_fields.values()}


# ---- lists -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "result", "cursor"),
    [
        ("Page of mappings", lambda: Page([dict(STORED), dict(STORED, id="t2")], "next"), "next"),
        (
            "Page of models",
            lambda: Page([Thing.model_validate(STORED), Thing.model_validate(STORED | {"id": "t2"})]),
            None,
        ),
        ("Page from a generator", lambda: Page(tuple(dict(STORED, id=i) for i in ("t1", "t2")), None), None),
        (
            "Reply({items, nextCursor}) with extra keys",
            lambda: Reply({"items": [dict(STORED), dict(STORED, id="t2")], "nextCursor": "c", "total": 9}),
            "c",
        ),
    ],
)
def test_declared_items_are_each_validated_and_serialized(
    name: str, result: Callable[[], Any], cursor: str | None
) -> None:
    """A list route's body is exactly `{items: [model JSON], nextCursor}` whatever the handler returned."""
    status, _, body = dispatch(result, items=Thing)
    assert status == 200, name
    assert body == {"items": [EXPECTED, {**EXPECTED, "id": "t2"}], "nextCursor": cursor}, name


def test_an_empty_page_keeps_its_cursor_shape() -> None:
    """An empty list answers `{items: [], nextCursor: null}` (API.md's list shape), never a bare list."""
    assert dispatch(lambda: Page([]), items=Thing) == (200, {}, {"items": [], "nextCursor": None})


def test_a_created_page_keeps_its_status() -> None:
    """A Reply around a Page keeps its status and headers."""
    status, headers, body = dispatch(lambda: Reply(Page([STORED], None), 207, {"X-Y": "1"}), items=Thing)
    assert (status, headers, body) == (207, {"X-Y": "1"}, {"items": [EXPECTED], "nextCursor": None})


# ---- replies that do not match their model --------------------------------------------------------

SECRET = "+91 98765 43210"

BROKEN: list[tuple[str, Callable[[], Any], dict[str, Any], str]] = [
    (
        "a required field missing",
        lambda: {"id": "t1", "createdAt": WHEN, "note": SECRET},
        {"response": Thing},
        "displayName",
    ),
    ("a field of the wrong type", lambda: dict(STORED, displayName=[SECRET]), {"response": Thing}, "displayName"),
    ("a nested field wrong", lambda: dict(STORED, place={"postalCode": {"n": SECRET}}), {"response": Thing}, "place"),
    ("a list for one resource", lambda: [dict(STORED)], {"response": Thing}, "Thing"),
    ("nothing for one resource", lambda: None, {"response": Thing}, "Thing"),
    ("a Page for one resource", lambda: Page([STORED]), {"response": Thing}, "Thing"),
    ("created() of a broken resource", lambda: created(dict(STORED, id=None)), {"response": Thing}, "id"),
    ("one broken item", lambda: Page([STORED, dict(STORED, createdAt=SECRET)]), {"items": Thing}, "items.1.createdAt"),
    ("a bare list for a list", lambda: [STORED], {"items": Thing}, "not a page"),
    ("a mapping without items", lambda: {"nextCursor": None}, {"items": Thing}, "not a page"),
    ("items that are a mapping", lambda: {"items": {"a": STORED}, "nextCursor": None}, {"items": Thing}, "not a list"),
    ("a cursor that is no string", lambda: Page([STORED], 12), {"items": Thing}, "nextCursor"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("name", "result", "doc", "named"), BROKEN, ids=[case[0] for case in BROKEN])
def test_a_reply_that_does_not_match_its_model_is_a_logged_500_without_the_values(
    name: str, result: Callable[[], Any], doc: dict[str, Any], named: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Our bug, answered as any unexpected error: INTERNAL with the request id, nothing of the reply sent; the
    log names the model and the field but never the stored values (personal data)."""
    with caplog.at_level(logging.ERROR, logger="justo"):
        status, headers, body = dispatch(result, **doc)
    assert status == 500, name
    assert headers == {}
    assert set(body) == {"error"} and body["error"]["code"] == "INTERNAL"
    assert body["error"]["requestId"]
    assert set(body["error"]) == {"code", "message", "requestId"}
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "ReplyInvalid" in logged and named in logged, logged
    assert "98765" not in logged and "Ravi" not in logged, logged


def test_a_broken_reply_through_flask_sends_only_the_error() -> None:
    """The wire body of a broken reply is the error alone: no part of the resource."""
    response = router_answering(lambda: dict(STORED, id=None), response=Thing)(request("/r"))
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Ravi" not in text and "560001" not in text and json.loads(text)["error"]["code"] == "INTERNAL"


# ---- what the router leaves alone ------------------------------------------------------------------


def test_no_content_streams_and_undeclared_routes_are_untouched() -> None:
    """204s, streamed bodies (CSV) and routes without a declared model answer as before."""
    assert dispatch(no_content, method="DELETE", status=204) == (204, {}, None)
    assert dispatch(no_content, method="DELETE", status=204, response=Thing) == (204, {}, None)
    lines = ["a,b\n", "1,2\n"]
    router = router_answering(lambda: Reply(None, 200, {}, "text/csv", stream=lines), content_type="text/csv")
    assert router.dispatch(request("/r"))[3:] == ("text/csv", lines)
    assert dispatch(lambda: {"status": "sent-if-eligible", "raw": WHEN}) == (
        200,
        {},
        {"status": "sent-if-eligible", "raw": WHEN},
    )
    assert dispatch(lambda: Thing.model_validate(STORED)) == (200, {}, EXPECTED)
    assert dispatch(lambda: Page([Thing.model_validate(STORED), {"k": 1}], "c")) == (
        200,
        {},
        {"items": [EXPECTED, {"k": 1}], "nextCursor": "c"},
    )


def test_input_validation_errors_stay_400() -> None:
    """A body the client got wrong is still its 400 naming the field, not our 500."""
    router = Router("probe")

    @router.post("/r", public=True, body=Thing, response=Thing)
    def handler(call: Call) -> Thing:
        return call.body(Thing)

    status, _, body, _, _ = router.dispatch(
        request("/r", "POST", {"Content-Type": "application/json"}, json.dumps({"id": "t1"}).encode())
    )
    assert status == 400 and "displayName" in body["error"]["fields"]


# ---- idempotency replays the serialized body ---------------------------------------------------------


class _Doc:
    """A stored document of the fake idempotency collection."""

    def __init__(self, store: dict[str, dict[str, Any]], key: str) -> None:
        self.store, self.key = store, key

    def create(self, data: dict[str, Any]) -> None:
        from google.api_core.exceptions import AlreadyExists

        if self.key in self.store:
            raise AlreadyExists("exists")
        self.store[self.key] = dict(data)

    def get(self) -> Any:
        data = self.store.get(self.key)
        return type("Snapshot", (), {"to_dict": lambda _: None if data is None else dict(data)})()

    def update(self, data: dict[str, Any]) -> None:
        self.store[self.key].update(data)

    def delete(self) -> None:
        self.store.pop(self.key, None)


class _Db:
    """Just what core.idempotency uses of Firestore: one collection of documents."""

    def __init__(self) -> None:
        self.store: dict[str, dict[str, Any]] = {}

    def collection(self, name: str) -> Any:
        return type("Collection", (), {"document": lambda _, key: _Doc(self.store, key)})()


@pytest.fixture
def fake_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Db]:
    """core.idempotency on an in-memory collection, with a caller on every request."""
    db = _Db()
    monkeypatch.setattr(idempotency.clients, "db", lambda: db)
    caller = type("Caller", (), {"uid": "u1", "org_id": "org1"})()
    monkeypatch.setattr(http, "authenticate", lambda header, fresh=False: caller)
    yield db


def test_an_idempotent_replay_is_byte_identical_to_the_first_answer(fake_db: _Db) -> None:
    """The idempotency step stores the body the router serialized, so a retry's bytes equal the first reply's,
    and the handler runs once."""
    runs: list[int] = []

    def handler(call: Call) -> Reply:
        runs.append(1)
        return created({**STORED, "createdAt": WHEN + timedelta(microseconds=123456), "displayName": "Rāvi ✓"})

    router = Router("probe")
    router.post("/r", idempotent=True, body=Thing, response=Thing, status=201)(handler)
    sent = {"Idempotency-Key": "k1", "Content-Type": "application/json", "Authorization": "Bearer x"}
    first = router(request("/r", "POST", sent, b'{"a": 1}'))
    again = router(request("/r", "POST", sent, b'{"a": 1}'))
    assert first.status_code == again.status_code == 201 and runs == [1]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.get_data() == again.get_data()
    assert "privateContact" not in first.get_data(as_text=True)
    stored = json.loads(next(iter(fake_db.store.values()))["body"])
    assert stored == json.loads(first.get_data())


def test_a_broken_reply_stores_nothing_to_replay(fake_db: _Db) -> None:
    """A reply that failed validation leaves no idempotency record: the retry runs again, never replays a 500."""
    router = Router("probe")
    router.post("/r", idempotent=True, response=Thing, status=201)(lambda call: created({"id": "t1"}))
    sent = {"Idempotency-Key": "k2", "Content-Type": "application/json", "Authorization": "Bearer x"}
    assert router(request("/r", "POST", sent, b"{}")).status_code == 500
    assert fake_db.store == {}


# ---- every route of every deployed function ---------------------------------------------------------

# Routes answering JSON without a declared model, and why nothing stored can reach their replies.
UNDECLARED = {
    "POST /auth/otp/request": "a constant body ({status: sent-if-eligible}), the same whatever the email",
    "webhooks": "answers the providers (handshakes, acknowledgements, dial XML), not the app",
}


def test_every_json_route_declares_the_model_the_router_serializes() -> None:
    """A new route answering JSON must declare response= or items=, or the router sends what the handler
    returned, stored private fields included."""
    missing = [
        str(ref)
        for ref in routes()
        if ref.route.doc.response is None
        and ref.route.doc.items is None
        and ref.route.doc.status != 204
        and ref.route.doc.content_type == "application/json"
        and str(ref) not in UNDECLARED
        and ref.function not in UNDECLARED
    ]
    assert missing == []


def _hand_validations(module: Any, declared: set[str]) -> list[str]:
    """`json_body()` calls, and `Model.model_validate(...)` of a declared reply model, in a module's source."""
    found = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
            if node.func.attr == "json_body" or (
                node.func.attr == "model_validate" and isinstance(target, ast.Name) and target.id in declared
            ):
                found.append(f"{module.__name__}:{node.lineno}")
    return found


def test_no_handler_validates_its_reply_by_hand() -> None:
    """The router is the one place replies are validated: a handler doing it again is dead weight that drifts
    (and once turned a broken reply into a client's 400)."""
    modules: dict[str, set[str]] = {}
    for ref in routes():
        models = {model.__name__ for model in (ref.route.doc.response, ref.route.doc.items) if model is not None}
        modules.setdefault(ref.route.handler.__module__, set()).update(models)
    assert len(modules) >= 10
    found = [
        hit for name, declared in modules.items() for hit in _hand_validations(importlib.import_module(name), declared)
    ]
    assert found == []
