"""The router's middlewares: each wraps every route's handler in order; idempotent routes get the key step."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from core import http
from core.http import Call, Reply, Router

pytestmark = pytest.mark.unit


def request(path: str, method: str = "POST") -> Any:
    """A bare request as the router reads it."""
    return SimpleNamespace(path=path, method=method, headers={}, args={}, content_length=0, remote_addr="10.0.0.1")


def test_middlewares_wrap_the_handler_first_outermost_and_may_answer() -> None:
    """Router-wide steps run in their order around the handler; a step that answers stops the chain."""
    seen: list[str] = []

    def step(name: str) -> Callable[[Call, Callable[[], Reply]], Reply]:
        def run(call: Call, proceed: Callable[[], Reply]) -> Reply:
            seen.append(f"{name} in")
            if call.request.path == "/short" and name == "b":
                return Reply({"by": name}, 202)
            reply = proceed()
            seen.append(f"{name} out")
            return Reply({**reply.body, name: True}, reply.status)

        return run

    router = Router("probe", middlewares=[step("a"), step("b")])

    @router.post("/run", public=True)
    def ran(call: Call) -> dict[str, Any]:
        seen.append("handler")
        return {"ran": True}

    @router.post("/short", public=True)
    def short(call: Call) -> dict[str, Any]:
        raise AssertionError("a step answered first")

    status, _, body, _, _ = router.dispatch(request("/run"))
    assert (status, body) == (200, {"ran": True, "b": True, "a": True})
    assert seen == ["a in", "b in", "handler", "b out", "a out"]
    seen.clear()
    status, _, body, _, _ = router.dispatch(request("/short"))
    assert (status, body, seen) == (202, {"by": "b", "a": True}, ["a in", "b in", "a out"])


def test_idempotent_routes_and_only_they_carry_the_key_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """`idempotent=True` puts core.idempotency around the handler, keyed by the function's name."""
    runs: list[tuple[str, str]] = []

    def fake_run(call: Any, function: str, proceed: Callable[[], Reply]) -> Reply:
        runs.append((function, call.request.path))
        return proceed()

    monkeypatch.setattr(http.idempotency, "run", fake_run)
    router = Router("leads")
    for path, options in [("/keyed", {"idempotent": True}), ("/plain", {}), ("/open", {"idempotent": True})]:
        router.post(path, public=path == "/open", **options)(lambda call: {"ok": True})
    steps = {route.path: route.middlewares for route in router.routes}
    assert [len(steps[path]) for path in ("/keyed", "/plain", "/open")] == [1, 0, 0]
    route = next(route for route in router.routes if route.path == "/keyed")
    call = Call(request("/keyed"), {}, None)
    assert router._run(route, call).body == {"ok": True}
    assert runs == [("leads", "/keyed")]
