"""No organization's credential appears in clear anywhere (issue 16): not in any API answer (every GET route of
every deployed router is walked, so a new route is covered without editing this file), not in the exports, not in
a log line (a PATCH, a send, a refused send, a test send and a template sync under caplog), not in any Firestore
document (every document of the emulator is scanned afterwards). The sealed value itself is never answered."""

from __future__ import annotations

import importlib
import json
import logging
import re
from typing import Any

import pytest

from comms import channels, providers
from core import clients
from devtools.inproc import call
from tests.comms.conftest import World
from tests.comms.stub import Scripted, Stub
from tests.comms.test_messages import accepted_whatsapp, cloud

pytestmark = pytest.mark.http

TOKEN = "EAAJustoSecretTokenZX81vq7Lmn4Pqr2"
HOOK = re.compile(r"\{(\w+)\}")


def every_get_route() -> list[tuple[str, Any]]:
    """(function name, Route) of every authenticated GET route of the deployed functions."""
    from registry import FUNCTIONS

    found = []
    for name, module in FUNCTIONS.items():
        router = getattr(importlib.import_module(module), "router", None)
        found += [(name, r) for r in getattr(router, "routes", []) if r.method == "GET" and not r.public]
    return found


def ids_of_the_world(org_id: str) -> dict[str, list[str]]:
    from core import tenancy

    return {c.id: [ref.id for ref in c.list_documents()] for c in tenancy.org_ref(org_id).collections()}


def every_document() -> list[tuple[str, dict[str, Any]]]:
    """Every document of the emulator, at any depth."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(collection: Any) -> None:
        for ref in collection.list_documents():
            snapshot = ref.get()
            if snapshot.exists:
                found.append((ref.path, snapshot.to_dict() or {}))
            for sub in ref.collections():
                walk(sub)

    for top in clients.db().collections():
        walk(top)
    return found


def test_the_token_is_nowhere_in_clear(world: World, stub: Stub, clock: Any, caplog: pytest.LogCaptureFixture) -> None:
    admin, agent = world.admin.token(), world.agent.token()
    caplog.set_level(logging.DEBUG)
    answers = []
    patched = call("PATCH", "/org/channels", token=admin, json_body={"whatsapp": {"accessToken": TOKEN}})
    assert patched.status == 200 and patched.body["whatsapp"]["accessToken"] == {"set": True, "last4": TOKEN[-4:]}
    sealed = channels.ref("org1").get().to_dict()["whatsapp"]["accessToken"]["sealed"]
    answers.append(patched)
    providers.install(whatsapp=cloud(stub, attempts=1), templates=providers.CloudTemplateReader(api_base=stub.base))
    send = {"leadId": world.lead_id, "templateName": "site_visit_reminder", "params": ["Sat 11:00"]}
    stub.reply(accepted_whatsapp())
    answers.append(call("POST", "/comms/whatsapp", token=agent, json_body=send))
    assert answers[-1].body["status"] == "sent"
    # refused, the provider's error echoing the token back (as a misbehaving proxy might)
    stub.reply(Scripted(401, {"error": {"message": f"Malformed access token {TOKEN}", "code": 190}}))
    answers.append(call("POST", "/comms/whatsapp", token=agent, json_body=send))
    assert answers[-1].body["status"] == "failed" and "[token]" in answers[-1].body["failureReason"]
    stub.reply(Scripted(401, {"error": {"message": f"Malformed access token {TOKEN}", "code": 190}}))
    answers.append(
        call("POST", "/org/channels/test", token=admin, json_body={"channel": "whatsapp", "to": "9876543210"})
    )
    assert answers[-1].body["status"] == "failed"
    stub.reply(Scripted(200, {"data": [], "paging": {"cursors": {"after": "x"}}}))
    answers.append(call("POST", "/comms/templates/sync", token=admin))
    assert answers[-1].status == 200
    assert all(request.headers["Authorization"] == f"Bearer {TOKEN}" for request in stub.requests)  # it was used

    # every GET route, as the admin (who sees most), with every id of the world in its path parameters
    pools = ids_of_the_world("org1")
    every_id = sorted({value for values in pools.values() for value in values})
    walked = 0
    for name, route in every_get_route():
        params = HOOK.findall(route.path)
        for value in every_id if params else [None]:
            path = f"/{name}" + (route.path.format(**dict.fromkeys(params, value)) if params else route.path)
            answer = call("GET", path.rstrip("/") or "/", token=admin)
            assert answer.status < 500, (path, answer.status)
            answers.append(answer)
            walked += 1
    assert walked > 40, "the walk found the routes"
    paths = {f"/{name}{route.path}" for name, route in every_get_route()}
    assert {"/org/channels", "/privacy/export", "/leads/export", "/privacy/leads/{id}/export"} <= paths
    exports = [a for a in answers if a.status == 200 and "export" in str(a.headers.get("Content-Disposition", ""))]
    lead_export = call("GET", f"/privacy/leads/{world.lead_id}/export", token=admin)
    assert lead_export.status == 200 and call("GET", "/leads/export", token=admin).status == 200
    for answer in [*answers, *exports, lead_export]:
        assert TOKEN not in answer.text and sealed not in answer.text
    assert TOKEN not in caplog.text, "a log line holds the token"
    assert all(TOKEN not in json.dumps(record.args, default=str) for record in caplog.records if record.args)
    holding = [path for path, data in every_document() if TOKEN in json.dumps(data, default=str)]
    assert holding == [], "documents holding the token in clear"
    sealed_in = [path for path, data in every_document() if sealed in json.dumps(data, default=str)]
    assert sealed_in == ["orgs/org1/config/channels"]
