"""No client input answers 5xx (issue 12, class 3): every route of every deployed Router, found by
introspection (tests/support/routes.py), takes a corpus of hostile values

- at every field of its declared `body=` model (nested models and list items included), on top of a valid
  body built from the model, and as raw JSON tokens no serializer writes (NaN, 1e999, 5,000 digits, deep
  nesting), plus whole hostile bodies (not JSON, not an object, too large, wrong Content-Type);
- at every parameter of its declared `query=` model, and an unknown one;
- at every path parameter;
- in every request header the code reads (found in the source: `header("...")`, `headers.get("...")`),
  forged ID tokens included;
- for the signed webhooks: hostile payloads signed with the local secrets, so they reach the parsers;

as each role in turn. Every answer is below 500 and in API.md's error shape; every 400 names the field (the
one changed, its parent or a child, or what the unchanged valid body was already refused for). Afterwards
every read of the seeded resources still answers (no 400, no 5xx): stored data never breaks a read (a team
PATCHed with `name: null` used to make `GET /org/teams` a 400 for everybody).

A new route, field, query parameter or header read is covered without editing this file; a new path
parameter name without a seeded resource gets only hostile values (and a new webhook needs a signer here).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import find
from hypothesis import strategies as st
from pydantic import BaseModel, RootModel, ValidationError

from core.models import _doc_id, _instant, _time_zone
from devtools.inproc import Response, call, id_token
from tests.comms.conftest import World, make_lead
from tests.conftest import ROOT
from tests.support.factory import Person, add_person
from tests.support.routes import Leaf, RouteRef, constraint, is_datetime, leaves, routes, validators

pytestmark = pytest.mark.http

ROLES = ("admin", "manager", "agent", "rm")
RAW = "__raw_json_token__"
SOON = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
# Valid values the constraints alone do not give (a phone number must be one).
MEANINGFUL = {"number": "98765 43210", "countryCode": "+91"}

# Values thrown at every body field (JSON values), rotating through the roles.
BODY_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**63,
    -(2**63) - 1,
    1.5,
    {},
    [],
    [[[[["deep"]]]]],
    {"a": {"b": {"c": None}}},
    "",
    " ",
    "x" * 100_000,
    "a/b",
    "..",
    ".",
    "__x__",
    "²",
    "٣٣٣",
    "\u0000\u0085\u2028",
    "\ud800",
    "💥" * 300,
    "inf",
    "1e999",
    "2026-13-45T99:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2026-11-25T10:00:00",
]
EMPTY: list[Any] = [None, "", [], {}]  # after these, the write's reads are checked even when it answered 4xx
# JSON tokens json.dumps never writes, spliced into the body where a field's value goes.
RAW_TOKENS = ["NaN", "-Infinity", "1e999", "9" * 5000, "[" * 60 + "]" * 60, '{"a":' * 60 + "1" + "}" * 60]
# Whole bodies of a JSON route.
WHOLE_BODIES: list[tuple[bytes, str]] = [
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (b'{"n": ' + b"9" * 5000 + b"}", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'"text"', "application/json"),
    (b"{", "application/json"),
    (b"\xff\xfe", "application/json"),
    (b'{"a": 1}', "text/plain"),
    (b'{"a": 1}', "application/json; charset=latin-1"),
    (b"a=1&b=2", "application/x-www-form-urlencoded"),
    (b" " * 1_000_001, "application/json"),
]
QUERY_VALUES = [
    " ",
    "a/b",
    "..",
    "__x__",
    "²",
    "x" * 5000,
    "-1",
    "99999999999999999999999",
    "1e999",
    "inf",
    "nan",
    "null",
    "2026-13-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "2026-11-25T10:00:00",
    "\x00",
    "💥",
]
PATH_VALUES = ["..", ".", "__x__", "__main__", "a%2Fb", "%00", "x" * 2000, "²", "%ed%a0%80", "%20", "%ff"]
HEADER_VALUES = ["²", '"²"', 'W/"x"', "9" * 100, "\x85", "é" * 300, " ", "a,b,c", "Bearer ²", "*"]
CSV_BODIES = [
    "Name,Phone,Budget Max\nA,9876543210,inf\nB,9876543211,1e999\nC,9876543212," + "9" * 30 + "\n",
    "Name,Phone,Project Id,Assignee Id\nA,9876543210,a/b,..\nB,9876543211,__x__,__main__\n",
    "Name,Phone\nA\rB,98765\r43210\n",
    'Name,Phone\n"unclosed,9876543210\n',
    "Name,Phone\nA,9876543210\x00\n",
    "Name,Phone\n" + "x" * 200_000 + ",1\n",
    "Name,Phone,Tags\nA,9876543210," + ";".join(["t" * 100] * 50) + "\n",
    "Name,Phone,Budget Min,Budget Max\n" + "".join(f"N{i},98765{i:05d},-5,nan\n" for i in range(50)),
    "",
    "\ufeff",
]


# ---- the world ---------------------------------------------------------------------------------------


@dataclass
class Seeded:
    """org1 with a member of every role, a victim member, and one resource of every kind."""

    people: dict[str, Person]
    ids: dict[str, str]
    failures: list[str] = field(default_factory=list)
    calls: int = 0
    capture_keys: dict[str, str] = field(default_factory=dict)  # receiver path -> its seeded source's key
    google_source: str = ""

    def token(self, role: str) -> str:
        """A fresh token of the role: issued after any logout the walk made (sessions revoked before now)."""
        return self.people[role].token(iat=int(time.time()) + 2)


def _created(response: Response, what: str) -> str:
    assert response.status in (200, 201), f"seeding {what}: {response.status} {response.body}"
    return str(response.body.get("id") or response.body.get("deviceId"))


@pytest.fixture
def seeded(world: World, storage_emulator: str, auth_emulator: str) -> Seeded:
    """The comms world plus an rm, a victim member and lead, a project, task, visit, note, message,
    attachment and device."""
    rm = add_person("org1", "rm", "north")
    people = {"admin": world.admin, "manager": world.manager, "agent": world.agent, "rm": rm}
    admin, agent = world.admin.token(), world.agent.token()
    project = _created(
        call(
            "POST",
            "/projects",
            token=admin,
            json_body={"name": "Skyline", "city": "Pune", "location": {"lat": 18.5, "lng": 73.8}},
        ),
        "project",
    )
    lead = world.lead_id
    victim_lead = make_lead("org1", assignee=world.agent.uid, phone="98765 43999", emails=("victim@example.com",))
    task = _created(call("POST", "/tasks", token=agent, json_body={"title": "Call", "dueAt": SOON}), "task")
    visit = _created(
        call("POST", "/visits", token=agent, json_body={"leadId": lead, "projectId": project, "scheduledAt": SOON}),
        "visit",
    )
    call("POST", f"/leads/{lead}/notes", token=agent, json_body={"text": "first note"})
    message = _created(
        call("POST", "/comms/email", token=agent, json_body={"leadId": lead, "subject": "Hi", "body": "Hello"}),
        "message",
    )
    attachment = _created(
        call(
            "POST",
            "/attachments",
            token=agent,
            json_body={"leadId": lead, "fileName": "a.pdf", "contentType": "application/pdf", "sizeBytes": 100},
        ),
        "attachment",
    )
    device = {"deviceId": "dev-1", "fcmToken": "token-1", "platform": "android"}
    _created(call("POST", "/devices", token=agent, json_body=device), "device")
    site = call("POST", "/leads/sources", token=admin, json_body={"kind": "website", "name": "S", "source": "website"})
    google = call("POST", "/leads/sources", token=admin, json_body={"kind": "google", "name": "G", "source": "google"})
    rejected = call(
        "POST", f"/webhooks/capture/{site.body['id']}", json_body={}, headers={"X-Justo-Key": site.body["key"]}
    )
    assert rejected.status == 200, rejected.body
    ids = {
        # path parameters: destructive routes act on the victims, so the walk keeps its callers and resources
        "source_id": _created(site, "capture source"),
        "capture_id": str(rejected.body["captureId"]),
        "sourceId": site.body["id"],
        "lead_id": lead,
        "id": victim_lead,
        "task_id": task,
        "visit_id": visit,
        "project_id": project,
        "team_id": "north",
        "uid": world.other_agent.uid,
        "attachment_id": attachment,
        "message_id": message,
        "device_id": "dev-1",
        # body and query fields
        "leadId": lead,
        "leadIds": lead,
        "visitId": visit,
        "projectId": project,
        "assigneeId": world.agent.uid,
        "agentId": world.agent.uid,
        "toAssigneeId": world.agent.uid,
        "fromAssigneeId": world.other_agent.uid,
        "duplicateId": victim_lead,
        "attachmentIds": attachment,
        "managerIds": world.manager.uid,
        "teamId": "north",
        "actorId": world.admin.uid,
    }
    return Seeded(
        people,
        ids,
        capture_keys={"/capture": site.body["key"], "/google": google.body["key"]},
        google_source=google.body["id"],
    )


# ---- valid bodies from the models ------------------------------------------------------------------


def _pattern_example(pattern: str) -> str:
    return str(find(st.from_regex(pattern, fullmatch=True), lambda _: True))


def example(leaf: Leaf, ids: dict[str, str]) -> Any:
    """A valid value for one slot of a model (the smallest the constraints allow)."""
    annotation, name = leaf.annotation, str(leaf.path[-1] if leaf.path[-1] != 0 else leaf.path[-2])
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return example_body(annotation, ids, leaf.path, leaf.model)
    if typing.get_origin(annotation) is list:
        size = constraint(leaf, "min_length") or 0
        item = next(child for child in _children(leaf) if child.path == (*leaf.path, 0))
        return [example(item, ids) for _ in range(size)]
    if typing.get_origin(annotation) is dict:
        return {}
    if annotation is bool:
        return False
    if annotation in (int, float):
        low = constraint(leaf, "ge")
        low = low if low is not None else (constraint(leaf, "gt") + 1 if constraint(leaf, "gt") is not None else 1)
        high = constraint(leaf, "le")
        value = min(max(low, 1), high) if high is not None else max(low, 1)
        return annotation(value)
    if is_datetime(annotation) or _instant in validators(leaf):
        return SOON
    if getattr(annotation, "__name__", "") == "EmailStr":
        return "someone@example.com"
    if _time_zone in validators(leaf):
        return "Asia/Kolkata"
    if _doc_id in validators(leaf) and name in ids:
        return ids[name]
    if name in MEANINGFUL:
        return MEANINGFUL[name]
    pattern = constraint(leaf, "pattern")
    if pattern:
        return _pattern_example(str(pattern))
    return "x" * max(constraint(leaf, "min_length") or 1, 1)


def _children(leaf: Leaf) -> list[Leaf]:
    return [child for child in leaves(leaf.model) if child.path[: len(leaf.path)] == leaf.path and child != leaf]


def example_body(
    model: type[BaseModel], ids: dict[str, str], prefix: tuple[str | int, ...] = (), root: type[BaseModel] | None = None
) -> dict[str, Any]:
    """A valid body of model: its required fields, plus optional ones where a model validator wants them."""
    slots = {leaf.path: leaf for leaf in leaves(model, prefix, root)}
    body: dict[str, Any] = {}
    optional: list[str] = []
    for name, info in model.model_fields.items():
        alias = info.alias or name
        leaf = slots[(*prefix, alias)]
        if info.is_required():
            body[alias] = example(leaf, ids)
        else:
            optional.append(alias)
    for candidate in [None, *optional]:
        trial = dict(body)
        if candidate is not None:
            trial[candidate] = example(slots[(*prefix, candidate)], ids)
        try:
            model.model_validate(trial)
        except (ValidationError, Exception):  # noqa: BLE001 - a model validator may raise ApiError
            continue
        return trial
    return body


def set_at(body: dict[str, Any], leaf: Leaf, value: Any, ids: dict[str, str]) -> dict[str, Any]:
    """A copy of body with value at leaf's path (parents filled in with valid values)."""
    result = json.loads(json.dumps(body))
    slots = {slot.path: slot for slot in leaves(leaf.model)}
    path = [part for part in leaf.path if part not in ("<key>", "<value>")]
    if leaf.path[-1] in ("<key>", "<value>"):
        value = {value: {}} if leaf.path[-1] == "<key>" and isinstance(value, str) else {"x": value}
    target: Any = result
    for depth, part in enumerate(path[:-1]):
        prefix = tuple(path[: depth + 1])
        if isinstance(part, int):
            if not target:
                target.append(example(slots[(*prefix[:-1], 0)], ids) if (*prefix[:-1], 0) in slots else {})
            target = target[0]
        else:
            if not isinstance(target.get(part), dict | list):
                slot = slots.get(prefix)
                target[part] = example(slot, ids) if slot is not None else {}
                if isinstance(target[part], list) and not target[part]:
                    target[part].append(example(slots[(*prefix, 0)], ids))
            target = target[part]
    last = path[-1]
    if isinstance(last, int):
        if target:
            target[0] = value
        else:
            target.append(value)
    else:
        target[last] = value
    return result


# ---- calling and judging ---------------------------------------------------------------------------


def _related(key: str, changed: str) -> bool:
    """True when an error key is the changed field, a parent or a child of it, or a sibling in the same
    object (a changed field can make its object invalid: a number without its country code)."""
    parent = changed.rpartition(".")[0]
    return (
        key in {"body", changed}
        or key.startswith(changed + ".")
        or changed.startswith(key + ".")
        or bool(parent and key.startswith(parent + "."))
    )


def judge(seeded: Seeded, response: Response, where: str, changed: str | None, base: Response | None) -> None:
    """Record a failure unless the answer is below 500, in the error shape, and (for 400) names the field."""
    seeded.calls += 1
    problem = None
    if response.status >= 500:
        problem = f"{response.status} {response.text[:300]}"
    elif response.status >= 400:
        error = response.body.get("error") if isinstance(response.body, dict) else None
        if not isinstance(error, dict) or not error.get("code") or not error.get("message"):
            problem = f"{response.status} not in the error shape: {response.text[:200]}"
        elif response.status == 400:
            fields = error.get("fields")
            if not isinstance(fields, dict) or not fields:
                problem = f"400 naming no field: {error}"
            elif changed is not None:
                already = set(
                    (base.body or {}).get("error", {}).get("fields", {}) if base and base.status == 400 else {}
                )
                strangers = [key for key in fields if not _related(key, changed) and key not in already]
                if strangers:
                    problem = f"400 names {strangers}, not {changed}: {error}"
    if problem:
        seeded.failures.append(f"{where}: {problem}")


_READS: dict[str, list[RouteRef]] = {}


def _reads_of(ref: RouteRef) -> list[RouteRef]:
    """The GET routes that show what a write route stores: its own path, or its path without the last
    segment (PATCH /org/teams/{team_id} -> GET /org/teams; POST /leads/{lead_id}/notes -> its GET)."""
    if str(ref) not in _READS:
        path = ref.route.path.rstrip("/") or "/"
        shorter = path.rpartition("/")[0] or "/"
        _READS[str(ref)] = [
            other
            for other in routes()
            if other.function == ref.function
            and other.method == "GET"
            and (other.route.path.rstrip("/") or "/") in {path, shorter}
        ]
    return _READS[str(ref)]


def reads_back(seeded: Seeded, ref: RouteRef, role: str | None, where: str) -> None:
    """After a write, its reads still answer: what was stored never breaks a read."""
    if ref.method == "GET":
        return
    for read in _reads_of(ref):
        shown = send(seeded, read, role if not read.route.public else None)
        seeded.calls += 1
        if shown.status == 400 or shown.status >= 500:
            seeded.failures.append(f"{where}: then {read} answers {shown.status} {shown.text[:200]}")


def send(
    seeded: Seeded,
    ref: RouteRef,
    role: str | None,
    *,
    params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    json_body: Any = None,
    raw: bytes | None = None,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """One request to the route; path parameters default to the seeded ids."""
    values = {name: quote(seeded.ids.get(name, "unknown-id"), safe="") for name in ref.params} | (params or {})
    url = ref.url(values) + (f"?{urlencode(query)}" if query else "")
    all_headers = dict(headers or {})
    token = seeded.token(role) if role and "Authorization" not in all_headers else None
    if raw is not None:
        return call(ref.method, url, token=token, data=raw, content_type=content_type, headers=all_headers)
    if json_body is not None:
        data = json.dumps(json_body, ensure_ascii=True)
        if RAW in data:
            return call(
                ref.method, url, token=token, data=data.encode(), content_type="application/json", headers=all_headers
            )
        return call(ref.method, url, token=token, json_body=json_body, headers=all_headers)
    return call(ref.method, url, token=token, headers=all_headers)


def _ordered(found: list[RouteRef]) -> list[RouteRef]:
    """Reads and writes first, deletes and logout last: they end what later routes act on."""
    last = {"DELETE": 2}
    return sorted(found, key=lambda ref: (last.get(ref.method, 0) + (ref.route.path == "/logout"), str(ref)))


def _json_routes() -> list[RouteRef]:
    return [ref for ref in _ordered(routes()) if ref.function != "webhooks"]


def _roles_for(ref: RouteRef) -> tuple[str | None, ...]:
    return (None,) if ref.route.public else ROLES


def _cycle(ref: RouteRef, replies: dict[str | None, Response] | None = None) -> Iterator[str | None]:
    """The roles in turn; with the replies to a valid request, only those it lets through (a 403 before the
    body is read would waste the value), or all of them when it lets none through."""
    roles = [role for role, reply in (replies or {}).items() if reply.status not in (401, 403)] or _roles_for(ref)
    while True:
        yield from roles


# Valid bodies whose validity depends on another field in a way the model does not state (a `meta` source, the
# first kind, needs `config.pageId`): the walk starts from these so each 400 is about the value it changed.
BASE_BODIES: dict[tuple[str, str, str], dict[str, Any]] = {
    ("leads", "POST", "/sources"): {"kind": "website", "name": "S", "source": "website"},
}


def _base_body(ref: RouteRef, seeded: Seeded) -> dict[str, Any] | None:
    model = ref.route.doc.body
    if model is None or issubclass(model, RootModel):
        return None
    given = BASE_BODIES.get((ref.function, ref.method, ref.route.path))
    return dict(given) if given is not None else example_body(model, seeded.ids)


def _headers_read() -> list[str]:
    """Every request header the code reads, from the source."""
    found: set[str] = set()
    for path in (ROOT / "functions").rglob("*.py"):
        if "venv" in path.parts:
            continue
        found |= set(re.findall(r'(?:\.header|request\.headers\.get)\(\s*"([A-Za-z0-9-]+)"', path.read_text()))
    return sorted(found)


def _forged_tokens(seeded: Seeded) -> list[str]:
    """ID tokens the Auth emulator would accept, with claims no real token carries."""
    now = int(time.time())
    agent = seeded.people["agent"]
    claims: list[dict[str, Any]] = [
        {"orgId": "a/b", "role": "agent", "teamId": None},
        {"orgId": "..", "role": "agent", "teamId": None},
        {"orgId": "__x__", "role": "agent", "teamId": None},
        {"orgId": agent.org_id, "role": ["admin"], "teamId": {"x": 1}},
        {"orgId": 12, "role": "agent", "teamId": None},
    ]
    tokens = [id_token("a/b", {"orgId": agent.org_id, "role": "agent", "teamId": None}, iat=now)]
    tokens += [id_token(agent.uid, claim, iat=now) for claim in claims]
    tokens += [id_token("..", {"orgId": agent.org_id, "role": "agent", "teamId": None}, iat=now)]
    return [f"Bearer {token}" for token in tokens] + ["Bearer " + "x" * 5000, "Bearer a.b.c", "Basic Zm9v"]


# ---- the walk ----------------------------------------------------------------------------------------


def _walk_body(seeded: Seeded, ref: RouteRef, base_replies: dict[str | None, Response]) -> None:
    model = ref.route.doc.body
    base = _base_body(ref, seeded)
    if model is None or base is None:
        return
    roles = _cycle(ref, base_replies)
    for leaf in leaves(model):
        for value, token in [*((value, None) for value in BODY_VALUES), *((RAW, token) for token in RAW_TOKENS)]:
            role = next(roles)
            body = set_at(base, leaf, value, seeded.ids)
            where = f"{ref} as {role} body {leaf.dotted}=" + (token[:20] if token else repr(value)[:40])
            if token is not None:
                spliced = json.dumps(body, ensure_ascii=True).replace(json.dumps(RAW), token)
                response = send(seeded, ref, role, raw=spliced.encode(), content_type="application/json")
            else:
                response = send(seeded, ref, role, json_body=body)
            changed = ".".join(str(p) for p in leaf.path if p not in ("<key>", "<value>"))
            judge(seeded, response, where, changed, base_replies.get(role))
            # a write may store and still answer 4xx (the reply's own model refusing what was stored)
            if 200 <= response.status < 300 or (token is None and value in EMPTY and response.status < 500):
                reads_back(seeded, ref, role, where)
    every_role = _cycle(ref)
    for data, content_type in WHOLE_BODIES:
        role = next(every_role)
        response = send(seeded, ref, role, raw=data, content_type=content_type)
        judge(seeded, response, f"{ref} as {role} whole body {data[:20]!r} {content_type}", None, None)


def _walk_query(seeded: Seeded, ref: RouteRef, base_replies: dict[str | None, Response]) -> None:
    model = ref.route.doc.query
    if model is None:
        return
    roles = _cycle(ref, base_replies)
    names = [info.alias or name for name, info in model.model_fields.items()] + ["unknownParameter"]
    for name in names:
        for value in QUERY_VALUES:
            role = next(roles)
            response = send(seeded, ref, role, query={name: value})
            judge(seeded, response, f"{ref} as {role} query {name}={value[:30]!r}", name, None)


def _walk_path(seeded: Seeded, ref: RouteRef, base: dict[str, Any] | None) -> None:
    roles = _cycle(ref)
    for name in ref.params:
        for value in PATH_VALUES:
            role = next(roles)
            response = send(seeded, ref, role, params={name: value}, json_body=base)
            judge(seeded, response, f"{ref} as {role} path {name}={value[:30]!r}", None, None)


def _header_values(seeded: Seeded, ref: RouteRef, header: str, offset: int) -> list[str]:
    """Every hostile value where the route surely reads the header; elsewhere three, rotating by route."""
    if header == "Authorization":
        return _forged_tokens(seeded)
    reads = (header == "If-Match" and ref.method in ("PATCH", "DELETE")) or (
        header == "Idempotency-Key" and ref.route.idempotent
    )
    if reads:
        return [*HEADER_VALUES, "k" * 201, "é" * 100]
    return [HEADER_VALUES[(offset + step) % len(HEADER_VALUES)] for step in range(3)]


def _walk_headers(seeded: Seeded, ref: RouteRef, base: dict[str, Any] | None, offset: int) -> None:
    roles = _cycle(ref)
    for header in _headers_read():
        for value in _header_values(seeded, ref, header, offset):
            role = next(roles)
            response = send(seeded, ref, role, json_body=base, headers={header: value})
            judge(seeded, response, f"{ref} as {role} header {header}={value[:30]!r}", None, None)


def _walk_csv(seeded: Seeded, ref: RouteRef) -> None:
    roles = _cycle(ref)
    for text in CSV_BODIES:
        role = next(roles)
        response = send(seeded, ref, role, raw=text.encode(), content_type="text/csv")
        judge(seeded, response, f"{ref} as {role} csv {text[:30]!r}", None, None)


def test_no_route_answers_5xx_to_any_input_and_every_400_names_the_field(seeded: Seeded) -> None:
    only = os.environ.get("HOSTILE_ROUTES")  # a regex over "POST /leads/{lead_id}/notes", to look at a few
    found = [ref for ref in _json_routes() if not only or re.search(only, str(ref))]
    assert len(found) > 50 or only
    for index, ref in enumerate(found):
        base = _base_body(ref, seeded)
        base_replies = {role: send(seeded, ref, role, json_body=base) for role in _roles_for(ref)}
        for role, reply in base_replies.items():
            judge(seeded, reply, f"{ref} as {role} with a valid body", None, None)
        _walk_body(seeded, ref, base_replies)
        _walk_query(seeded, ref, base_replies)
        _walk_path(seeded, ref, base)
        _walk_headers(seeded, ref, base, index)
        if ref.route.doc.body_content_type == "text/csv":
            _walk_csv(seeded, ref)
    _every_read_still_answers(seeded)
    print(f"hostile input: {seeded.calls} requests over {len(found)} routes")
    assert not seeded.failures, _summary(seeded.failures)


def _summary(failures: list[str]) -> str:
    """The failures grouped by route and input (whatever the role and value), with one example each."""
    groups: dict[str, list[str]] = {}
    for failure in failures:
        found = re.match(r"(.*?) as \S+ (body|query|path|header) ([^=\s]+)", failure)
        key = " ".join(found.groups()) if found else failure.split(":")[0][:80]
        groups.setdefault(key, []).append(failure)
    lines = [f"{len(failures)} failures in {len(groups)} places:"]
    lines += [f"- ({len(items)}x) {items[0][:400]}" for items in groups.values()]
    return "\n".join(lines)


def _every_read_still_answers(seeded: Seeded) -> None:
    """Whatever the walk stored, every GET of the seeded resources still answers (never 400, never 5xx)."""
    for ref in routes():
        if ref.method != "GET" or ref.function == "webhooks":
            continue
        for role in _roles_for(ref):
            response = send(seeded, ref, role)
            seeded.calls += 1
            if response.status not in (200, 403, 404) and not (ref.route.public and response.status < 500):
                seeded.failures.append(f"after the walk, {ref} as {role}: {response.status} {response.text[:300]}")


# ---- the signed webhooks ---------------------------------------------------------------------------

WHATSAPP_SECRET = "local-whatsapp-secret"  # the development secrets (LOCAL-STACK.md)
PLIVO_TOKENS = {"/sms": "local-sms-secret", "/voice": "local-voice-token"}

_HOSTILE_INBOUND: tuple[dict[str, Any], ...] = (  # inbound WhatsApp parts of every kind, each of a wrong shape
    {"type": "image", "image": {"id": {"a": 1}, "mime_type": ["x"], "caption": 5}},
    {"type": "image", "image": {"id": "x" * 3000, "mime_type": "image/png", "sha256": None}},
    {"type": "document", "document": {"id": "__x__", "mime_type": "text/html", "filename": "../a"}},
    {"type": "audio", "audio": {"id": "m/../1", "mime_type": "audio/ogg" + ";x" * 500}},
    {"type": "video", "video": []},
    {"type": "location", "location": {"latitude": 1e308, "longitude": "nan", "name": ["n"]}},
    {"type": "location", "location": {"latitude": "-0", "longitude": True, "address": "a" * 5000}},
    {"type": "button", "button": {"text": {"t": 1}, "payload": "p" * 5000}},
    {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": "r"}},
    {
        "type": "interactive",
        "interactive": {"type": 5, "button_reply": {"id": [], "title": "S" * 9000}},
    },
    {"type": "text", "text": {"body": " STOP\u0000 "}},
    {"type": "text", "text": {"body": "UNSUBSCRIBE"}},
    {"type": "sticker", "sticker": {"id": "s", "mime_type": "image/webp"}},
)

HOSTILE_DELIVERIES: list[Any] = [
    {"object": "whatsapp_business_account", "entry": "x"},
    {"object": "whatsapp_business_account", "entry": ["x", 1, None, [], {"changes": "y"}]},
    {"object": "whatsapp_business_account", "entry": [{"changes": [1, {"value": "v"}, {"value": []}]}]},
    {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "value": {
                            "metadata": "m",
                            "statuses": ["s", {"id": {"a": 1}, "status": ["read"], "timestamp": 1e300}],
                            "messages": [
                                7,
                                {"id": "m1", "from": "²²²²²²", "type": {"x": 1}, "text": "t"},
                                {"id": "m2", "from": "9" * 400, "timestamp": "9" * 30, "text": {"body": ["b"]}},
                            ],
                            "contacts": ["c", {"wa_id": [], "profile": "p"}],
                        }
                    }
                ]
            }
        ],
    },
    {
        "object": "whatsapp_business_account",
        "entry": [{"changes": [{"value": {"statuses": [{"id": "w", "status": "failed", "errors": ["e", 5]}]}}]}],
    },
    # inbound messages of every kind, of every wrong shape, to the world's own number (a lead's and a stranger's)
    *(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "changes": [
                        {
                            "value": {
                                "metadata": {"phone_number_id": "109876543210"},
                                "messages": [{"id": f"hostile-{index}", "from": sender, "timestamp": "1", **part}],
                            }
                        }
                    ]
                }
            ],
        }
        for index, (sender, part) in enumerate(
            itertools.product(
                ("919876543210", "919000000000"),
                _HOSTILE_INBOUND,
            )
        )
    ),
    # SendGrid Event Webhook batches of every wrong shape: each event skipped or applied, never a 500
    [],
    [None, 1, "e", [], {"event": ["delivered"], "sg_event_id": {"a": 1}, "justoMessageId": ["m"]}],
    [{"event": "bounce", "sg_event_id": "e1", "justoMessageId": "__x__", "reason": 5, "timestamp": "9" * 30}],
    [{"event": "open", "sg_event_id": "e" * 5000, "justoMessageId": "a/b", "timestamp": -(2**63)}],
    [{"event": "spamreport", "sg_event_id": 1e300, "justoMessageId": "m" * 2000, "type": {"x": 1}}],
    [{"event": "delivered", "sg_event_id": "e2", "justoMessageId": ".."}] * 3,
    "text",
    # Meta Lead Ads (page leadgen) deliveries of every wrong shape: skipped or read, never a 500
    {"object": "page", "entry": [{"id": ["p"], "changes": [{"field": "leadgen", "value": {"leadgen_id": {"a": 1}}}]}]},
    {
        "object": "page",
        "entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id": "x" * 2000, "page_id": "p"}}]}],
    },
    {
        "object": "page",
        "entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id": "__x__", "page_id": ".."}}]}],
    },
    {"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id": 1e300, "page_id": -1}}]}]},
    {"object": "page", "entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id": "L", "page_id": "²"}}]}]},
    {"object": "page", "entry": [None, 7, {"changes": "c"}, {"changes": [None, {"field": ["leadgen"]}]}]},
]
HOSTILE_FORMS: list[dict[str, str]] = [
    {"DialStatus": "completed", "DialBLegDuration": "inf"},
    {"DialStatus": "completed", "DialBLegDuration": "1e999"},
    {"DialStatus": "completed", "DialBLegDuration": "nan"},
    {"Direction": "inbound", "From": "9" * 3000, "To": "9" * 3000, "CallUUID": "u" * 3000},
    {"Direction": "inbound", "From": "²", "To": "²"},
    {"X-PH-CallId": "a/b", "To": "sip:..@x"},
    {"Status": "delivered", "MessageUUID": "x" * 5000},
    {"RecordUrl": "https://" + "x" * 5000},
]


def _signed(path: str, query: str, body: bytes, form: dict[str, str] | None) -> dict[str, str]:
    from comms import config as comms_config
    from webhooks import signatures

    if path in ("/whatsapp", "/meta"):  # one Meta app signs both
        return {"X-Hub-Signature-256": signatures.hub_signature(WHATSAPP_SECRET, body)}
    if path == "/email":  # signed with the emulators' key pair, at the time the handler reads
        from core import clock
        from devtools.sendgrid_events import signed_headers

        headers = signed_headers(body, at=clock.now().timestamp())
        return {name: value for name, value in headers.items() if name != "Content-Type"}
    token = PLIVO_TOKENS["/sms" if path == "/sms" else "/voice"]
    url = f"{comms_config.get().public_base}/webhooks{path}" + (f"?{query}" if query else "")
    nonce = "n0nce"
    return {
        "X-Plivo-Signature-V3": signatures.plivo_v3_signature(token, "POST", url, form or {}, nonce),
        "X-Plivo-Signature-V3-Nonce": nonce,
    }


SIGNED: dict[str, Callable[..., dict[str, str]]] = {
    path: _signed for path in ("/whatsapp", "/meta", "/email", "/sms", "/voice", "/voice/status", "/voice/recording")
}


def _judge_signed(seeded: Seeded, response: Response, where: str) -> None:
    """As judge, and the signature must have been accepted: otherwise the payload never reached a parser."""
    if response.status == 401:
        seeded.failures.append(f"{where}: signature refused (the signer here no longer matches the handler)")
    judge(seeded, response, where, None, None)


CAPTURE_RECEIVERS = ("/capture/{source_id}", "/google/{source_id}")


def _capture_receivers(seeded: Seeded, ref: RouteRef) -> None:
    """The capture receivers, with their source's key, under any JSON or form payload."""
    receiver = ref.route.path.partition("/{")[0]
    key = seeded.capture_keys[receiver]
    source_id = seeded.ids["source_id"] if receiver == "/capture" else seeded.google_source
    url = f"/webhooks{receiver}/{source_id}"
    for payload in [*HOSTILE_DELIVERIES, *HOSTILE_FORMS]:
        body = {**payload, "google_key": key} if isinstance(payload, dict) and receiver == "/google" else payload
        response = call(
            "POST", url, data=json.dumps(body).encode(), content_type="application/json", headers={"X-Justo-Key": key}
        )
        _judge_signed(seeded, response, f"{ref} {str(body)[:60]}")
    for form in HOSTILE_FORMS if receiver == "/capture" else []:
        response = call(
            "POST",
            url,
            data=urlencode(form).encode(),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Justo-Key": key},
        )
        _judge_signed(seeded, response, f"{ref} form {str(form)[:60]}")
    for data, content_type in WHOLE_BODIES[:6]:
        response = call("POST", url, data=data, content_type=content_type, headers={"X-Justo-Key": key})
        judge(seeded, response, f"{ref} whole body {data[:40]!r}", None, None)


class _NoMedia:
    """The Graph API refusing every media id, as it does one it never issued (a final failure, no network)."""

    def info(self, channel: Any, media_id: str) -> Any:
        from core.provider_calls import ProviderError

        raise ProviderError("provider refused (400): unknown media")

    def download(self, channel: Any, info: Any) -> bytes:
        raise AssertionError("never reached")


def test_signed_webhooks_read_any_payload_without_failing(seeded: Seeded) -> None:
    from comms import media

    media.install(_NoMedia())
    try:
        _walk_signed_webhooks(seeded)
    finally:
        media.install(None)


def _walk_signed_webhooks(seeded: Seeded) -> None:
    webhooks = [ref for ref in routes() if ref.function == "webhooks" and ref.method == "POST"]
    known = set(SIGNED) | set(CAPTURE_RECEIVERS)
    assert {ref.route.path for ref in webhooks} <= known, "a new webhook: add its signer to SIGNED"
    for ref in webhooks:
        if ref.route.path in CAPTURE_RECEIVERS:
            _capture_receivers(seeded, ref)
            continue
        path = ref.route.path
        plivo = path not in ("/whatsapp", "/meta", "/email")
        for query in ("", "callId=a%2Fb", "callId=" + "x" * 300, "callId=__x__"):
            url = f"/webhooks{path}" + (f"?{query}" if query else "")
            if plivo:
                for form in HOSTILE_FORMS:
                    body = urlencode(form).encode()
                    headers = SIGNED[path](path, query, body, form)
                    response = call(
                        "POST", url, data=body, content_type="application/x-www-form-urlencoded", headers=headers
                    )
                    _judge_signed(seeded, response, f"{ref}?{query[:20]} form {str(form)[:60]}")
                continue
            payloads = [json.dumps(p).encode() for p in HOSTILE_DELIVERIES] + [data for data, _ in WHOLE_BODIES[:6]]
            for body in payloads:
                headers = SIGNED[path](path, query, body, None)
                response = call("POST", url, data=body, content_type="application/json", headers=headers)
                _judge_signed(seeded, response, f"{ref} signed {body[:60]!r}")
        for header in (
            "X-Hub-Signature-256",
            "X-Twilio-Email-Event-Webhook-Signature",
            "X-Twilio-Email-Event-Webhook-Timestamp",
            "X-Plivo-Signature-V3",
        ):
            for value in [*HEADER_VALUES, "sha256=" + "é" * 64]:
                response = call(
                    "POST", f"/webhooks{path}", data=b"{}", content_type="application/json", headers={header: value}
                )
                judge(seeded, response, f"{ref} {header}={value[:20]!r}", None, None)
    assert not seeded.failures, _summary(seeded.failures)
