"""Routing of sub-paths inside one HTTPS function, request parsing, and the one error-to-HTTP mapping."""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core import idempotency, logs
from core.caller import Caller, authenticate
from core.errors import ApiError, invalid
from core.jsonutil import parse_client_json, to_json
from core.models import valid_doc_id
from core.reply import Page as Page  # handlers build both from here, with created() and no_content()
from core.reply import Reply as Reply

log = logging.getLogger("justo")

M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 1_000_000


def created(body: Any) -> Reply:
    """201 with the stored resource."""
    return Reply(body, 201)


def no_content() -> Reply:
    """204 with no body."""
    return Reply(None, 204)


def _field_path(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "body"


def validation_error(error: ValidationError, prefix: str = "") -> ApiError:
    """A 400 naming every failing field of a pydantic error."""
    fields: dict[str, str] = {}
    for item in error.errors():
        path = _field_path(tuple(item["loc"]))
        fields.setdefault(f"{prefix}{path}", item["msg"])
    first = next(iter(fields.items()))
    return ApiError("INVALID_ARGUMENT", f"{first[0]}: {first[1]}", fields=fields)


class Call:
    """One request as a handler sees it: path parameters, the caller, parsed body and query."""

    def __init__(self, request: Any, params: dict[str, str], caller: Caller | None) -> None:
        self.request = request
        self.params = params
        self._caller = caller

    @property
    def caller(self) -> Caller:
        """The authenticated caller (only on routes that require one)."""
        assert self._caller is not None, "route is public"
        return self._caller

    def header(self, name: str) -> str | None:
        """A request header, or None."""
        value = self.request.headers.get(name)
        return str(value) if value is not None else None

    @property
    def client_ip(self) -> str:
        """The client's address as Google's front end saw it: the last X-Forwarded-For hop, which the front end
        appends (everything before it is whatever the client sent, so it is never trusted). An IPv6 client is
        bucketed by its /64, the block one subscriber holds, so rotating addresses within it gains nothing."""
        return client_address(self.header("X-Forwarded-For"), self.request.remote_addr)

    def raw_body(self) -> bytes:
        """The request body, bounded: 413 past MAX_BODY_BYTES (told by Content-Length before reading)."""
        declared = self.request.content_length
        if declared is not None and declared > MAX_BODY_BYTES:
            raise too_large()
        data: bytes = self.request.get_data(cache=True)
        if len(data) > MAX_BODY_BYTES:
            raise too_large()
        return data

    def json(self) -> Any:
        """The JSON body, bounded (core.jsonutil.parse_client_json); {} when empty; 415 unless it is JSON."""
        data = self.raw_body()
        if not data.strip():
            return {}
        content_type = self.header("Content-Type")
        if content_type is not None and not _is_json(content_type):
            raise ApiError(
                "UNSUPPORTED_MEDIA_TYPE",
                "Send the body as application/json",
                fields={"Content-Type": "must be application/json"},
            )
        return parse_client_json(data)

    def body(self, model: type[M]) -> M:
        """The JSON body validated by model; 400 naming each failing field."""
        payload = self.json()
        if not isinstance(payload, dict):
            raise invalid("body", "must be a JSON object")
        try:
            return model.model_validate(payload)
        except ValidationError as error:
            raise validation_error(error) from error

    def query(self, model: type[M]) -> M:
        """The query string validated by model; 400 naming each failing parameter."""
        args = {key: value for key, value in self.request.args.items() if value != ""}
        try:
            return model.model_validate(args)
        except ValidationError as error:
            raise validation_error(error) from error

    def if_match(self) -> int | None:
        """The version of an `If-Match` header (quoted or bare, ASCII digits), or None."""
        value = self.header("If-Match")
        if value is None or value.strip() in {"", "*"}:
            return None
        found = _VERSION.fullmatch(value.strip())
        if found is None:
            raise invalid("If-Match", "must be the resource's version number")
        return int(found.group(1))


# A version as an entity tag: W/"12", "12" or 12; ASCII digits only (str.isdigit would take "²"), 64-bit.
_VERSION = re.compile(r'(?:W/)?"?([0-9]{1,18})"?', re.ASCII)


def _is_json(content_type: str) -> bool:
    """True for application/json (or a +json type) in UTF-8, the only body the JSON routes read."""
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        return False
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in {"utf-8", "utf8"}:
            return False
    return True


def too_large() -> ApiError:
    """A 413 for a body past MAX_BODY_BYTES."""
    return ApiError("PAYLOAD_TOO_LARGE", f"Request body too large (at most {MAX_BODY_BYTES} bytes)")


Handler = Callable[[Call], Reply | Any]
# A step around a route's handler: it gets the call and the rest of the chain, and answers (or raises).
Middleware = Callable[[Call, Callable[[], Reply]], Reply]


@dataclass
class Route:
    """A method and path pattern bound to a handler, with its access options."""

    method: str
    path: str
    pattern: re.Pattern[str]
    handler: Handler
    public: bool
    fresh: bool
    idempotent: bool
    doc: RouteDoc
    middlewares: tuple[Middleware, ...] = ()


@dataclass(frozen=True)
class RouteDoc:
    """What docs/openapi.json says of a route: its models and success status."""

    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    items: type[BaseModel] | None = None
    status: int = 200
    content_type: str = "application/json"
    body_content_type: str = "application/json"


def _compile(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path.rstrip("/") or "/")
    return re.compile(f"^{regex}/?$")


class Router:
    """The sub-path router of one HTTPS function (`/leads/{id}` is function `leads`, path `/{id}`)."""

    def __init__(self, name: str, middlewares: Iterable[Middleware] = ()) -> None:
        """A router for function name; middlewares wrap every route's handler, the first outermost."""
        self.name = name
        self.middlewares = tuple(middlewares)
        self.routes: list[Route] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        public: bool = False,
        fresh: bool = False,
        idempotent: bool = False,
        **doc: Any,
    ) -> Callable[[Handler], Handler]:
        """Register a handler; public skips authentication, fresh re-reads the member record,
        idempotent honours Idempotency-Key; doc (body, query, response, items, status) feeds OpenAPI."""

        # Idempotency needs a caller to key its records by, so a public route has none.
        steps = (self._idempotency,) if idempotent and not public else ()

        def register(handler: Handler) -> Handler:
            route = Route(method, path, _compile(path), handler, public, fresh, idempotent, RouteDoc(**doc), steps)
            self.routes.append(route)
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Register a GET handler."""
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Register a POST handler."""
        return self.route("POST", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Register a PATCH handler."""
        return self.route("PATCH", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Register a PUT handler."""
        return self.route("PUT", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Register a DELETE handler."""
        return self.route("DELETE", path, **options)

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                if route.method == method:
                    params = found.groupdict()
                    if not all(valid_doc_id(value) for value in params.values()):
                        raise ApiError("NOT_FOUND", "No such resource")
                    return route, params
                allowed = True
        if allowed:
            raise ApiError("METHOD_NOT_ALLOWED", f"{method} is not allowed on this path")
        raise ApiError("NOT_FOUND", "No such endpoint")

    def dispatch(self, request: Any) -> tuple[int, dict[str, str], Any, str, Iterable[str] | None]:
        """Run the matching handler; every failure becomes API.md's error shape."""
        with logs.request(trace_header=request.headers.get("X-Cloud-Trace-Context")) as context:
            try:
                return self._dispatch(request)
            except Exception as error:
                mapped = unavailable_or_none(error)
                if mapped is not None:
                    log.warning("backing service unavailable: %s", type(error).__name__)
                    return mapped.status, mapped.headers, mapped.body(), "application/json", None
                log.exception("unhandled %s in %s %s", type(error).__name__, self.name, request.method)
                body = ApiError(
                    "INTERNAL", "Something went wrong; it has been logged", requestId=context.request_id
                ).body()
                return 500, {}, body, "application/json", None

    def _dispatch(self, request: Any) -> tuple[int, dict[str, str], Any, str, Iterable[str] | None]:
        try:
            path = request.path or "/"
            if path == "/__/health":
                return 200, {}, {"status": "ok"}, "application/json", None
            route, params = self._match(request.method, path)
            caller = None if route.public else authenticate(request.headers.get("Authorization"), fresh=route.fresh)
            call = Call(request, params, caller)
            reply = self._run(route, call)
            return reply.status, reply.headers, reply.body, reply.content_type, reply.stream
        except ApiError as error:
            return error.status, error.headers, error.body(), "application/json", None
        except ValidationError as error:
            api_error = validation_error(error)
            return api_error.status, {}, api_error.body(), "application/json", None

    def _run(self, route: Route, call: Call) -> Reply:
        """The handler wrapped in the router's middlewares, then the route's own."""

        # Serialized inside the chain, so the idempotency step stores (and replays) the body as first answered.
        def proceed() -> Reply:
            return _serialize(route.doc, route.handler(call))

        chain = proceed
        for step in reversed((*self.middlewares, *route.middlewares)):
            chain = partial(step, call, chain)
        return chain()

    def _idempotency(self, call: Call, proceed: Callable[[], Reply]) -> Reply:
        """The Idempotency-Key step of idempotent routes: keyed by this function's name."""
        return idempotency.run(call, self.name, proceed)

    def __call__(self, request: Any) -> Any:
        """Serve a flask request: the entry point the HTTPS function hands requests to."""
        from flask import Response

        status, headers, body, content_type, stream = self.dispatch(request)
        if stream is not None:
            return Response(stream, status=status, headers=headers, content_type=content_type)
        if status == 204 or body is None:
            return Response(status=status, headers=headers)
        if content_type == "application/json":
            payload = json.dumps(to_json(body), ensure_ascii=False, separators=(",", ":"))
            return Response(payload, status=status, headers=headers, content_type=content_type)
        return Response(body, status=status, headers=headers, content_type=content_type)


def client_address(forwarded_for: str | None, remote_addr: str | None) -> str:
    """The trusted client address: the last hop of X-Forwarded-For (appended by Google's front end), else the
    socket's peer (local runs); IPv6 as its /64 network."""
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    candidate = hops[-1] if hops else str(remote_addr or "")
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def unavailable_or_none(error: Exception) -> ApiError | None:
    """503 for a backing service that is down or timing out, or a transaction that lost to concurrent writers
    (`transactions.run` already tried it again for its budget); None for anything else."""
    from google.api_core import exceptions as gexc

    from core import transactions

    if transactions.lost(error):
        return transactions.busy()
    retryable = (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.RetryError, gexc.InternalServerError)
    if isinstance(error, retryable) or type(error).__name__ in {"_InactiveRpcError", "TransportError"}:
        return ApiError("UNAVAILABLE", "A backing service is unavailable; retry", headers={"Retry-After": "2"})
    return None


class ReplyInvalid(Exception):
    """A handler's reply that does not match its route's declared model: our bug, answered 500 like any other."""


def _serialize(doc: RouteDoc, result: Any) -> Reply:
    """The handler's result as a Reply whose body is API JSON: validated against the declared `response=` or
    `items=` model (by alias, JSON mode, extra stored fields dropped); 204s, streams and raw text untouched."""
    reply = result if isinstance(result, Reply) else Reply(result)
    if reply.stream is not None or reply.status == 204:
        return reply
    if doc.response is not None:
        return replace(reply, body=_validated(doc.response, reply.body, "body"))
    if doc.items is not None:
        return replace(reply, body=_page(doc.items, reply.body))
    if isinstance(reply.body, BaseModel):
        return replace(reply, body=reply.body.model_dump(by_alias=True, mode="json"))
    if isinstance(reply.body, Page):
        items = [
            item.model_dump(by_alias=True, mode="json") if isinstance(item, BaseModel) else item
            for item in reply.body.items
        ]
        return replace(reply, body={"items": items, "nextCursor": reply.body.next_cursor})
    return reply


def _validated(model: type[BaseModel], value: Any, where: str) -> dict[str, Any]:
    """value (a mapping or a model instance) as model's API JSON, or ReplyInvalid naming where it failed."""
    try:
        return model.model_validate(value).model_dump(by_alias=True, mode="json")
    except ValidationError as error:
        # Only locations and error types: the values are stored data (personal data must not reach the logs).
        problems = ", ".join(
            f"{'.'.join(str(part) for part in (where, *item['loc']))} ({item['type']})" for item in error.errors()
        )
        raise ReplyInvalid(f"reply does not match {model.__name__}: {problems}") from None


def _page(model: type[BaseModel], value: Any) -> dict[str, Any]:
    """A Page, or a mapping `{items, nextCursor}`, as `{items: [model JSON], nextCursor}`."""
    if isinstance(value, Page):
        items, cursor = value.items, value.next_cursor
    elif isinstance(value, Mapping) and "items" in value:
        items, cursor = value["items"], value.get("nextCursor")
    else:
        raise ReplyInvalid(f"reply of a list of {model.__name__} is not a page: {type(value).__name__}")
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Iterable):
        raise ReplyInvalid(f"items of a list of {model.__name__} are not a list: {type(items).__name__}")
    if cursor is not None and not isinstance(cursor, str):
        raise ReplyInvalid(f"nextCursor of a list of {model.__name__} is not a string: {type(cursor).__name__}")
    return {
        "items": [_validated(model, item, f"items.{index}") for index, item in enumerate(items)],
        "nextCursor": cursor,
    }
