"""Unauthenticated writes are bounded and not amplifiable, on every public route.

Every public non-GET route of the deployed functions (found from the routers: a new one is tested without a
new line here) is flooded from one client address, each request with a new email (the attacker's best case
for writes). The database may grow by at most WRITES_PER_REQUEST documents a request, and not at all once
the per-client limits are spent; a provider webhook without a valid signature writes nothing. Nothing of an
organization (its audit chain included) is written by any of it.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from devtools.inproc import call
from tests.support.factory import add_person, make_org

pytestmark = pytest.mark.http

WRITES_PER_REQUEST = 3  # OTP request: the (email, client) and per-email throttles and the challenge
CLIENT = "203.0.113.9"


def _public_routes() -> list[tuple[str, str, str]]:
    from registry import FUNCTIONS

    found = []
    for function, module in sorted(FUNCTIONS.items()):
        router = getattr(importlib.import_module(module), "router", None)
        for route in getattr(router, "routes", []):
            if route.public and route.method != "GET":
                found.append((function, route.method, route.path))
    return found


def _documents(db: Any) -> set[str]:
    """Every document path in the database."""
    paths: set[str] = set()

    def walk(collection: Any) -> None:
        for snapshot in collection.stream():
            paths.add(snapshot.reference.path)
            for child in snapshot.reference.collections():
                walk(child)

    for collection in db.collections():
        walk(collection)
    return paths


def _send(function: str, method: str, path: str, index: int) -> int:
    body = {"email": f"flood{index}@nowhere.example.com", "code": "123456"}
    return call(method, f"/{function}{path}", json_body=body, headers={"X-Forwarded-For": CLIENT}).status


def test_every_public_route_writes_a_bounded_amount_and_nothing_past_its_limits(db: Any) -> None:
    from auth import service

    make_org()
    add_person("org1", "agent", "north")
    routes = _public_routes()
    assert ("auth", "POST", "/otp/verify") in routes and any(f == "webhooks" for f, _, _ in routes)
    limit = max(service.PER_CLIENT.count, service.VERIFY_PER_CLIENT.count)
    for function, method, path in routes:
        route = f"{method} /{function}{path}"
        before = _documents(db)
        statuses = [_send(function, method, path, index) for index in range(limit)]
        spent = _documents(db)
        assert all(status < 500 for status in statuses), f"{route}: {sorted(set(statuses))}"
        assert len(spent - before) <= WRITES_PER_REQUEST * limit, f"{route} wrote {len(spent - before)}"
        assert not any(p.startswith("orgs/") for p in spent - before), f"{route} wrote into an organization"
        if function == "webhooks":
            assert spent == before, f"{route} stored something without a valid signature: {spent - before}"
        more = [_send(function, method, path, limit + index) for index in range(10)]
        assert _documents(db) == spent, f"{route} keeps writing past its limits ({sorted(set(more))})"
