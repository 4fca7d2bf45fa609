"""The `dev` HTTPS function (emulator only): GET /dev/outbox?to=, and the local provider stubs the capture
clients call on the emulators: the Graph API's Lead Ads reads (leads registered with POST /dev/meta/leads)
and 99acres' pull (no enquiries)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from firebase_functions import https_fn

from core import clients, outbox, settings
from core.deploy import https_options
from core.errors import invalid, not_found
from core.http import Call, Reply, Router
from core.models import valid_doc_id

router = Router("dev")
META_LEADS = "devMetaLeads"  # {leadgen id} -> the Graph API's lead object, as the stub serves it


def _emulator_only() -> None:
    if not settings.get().emulator:
        raise not_found("Endpoint")


@router.get("/outbox", public=True)
def list_outbox(call: Call) -> Reply:
    """What would have been emailed, texted or pushed, newest first."""
    _emulator_only()
    to = call.request.args.get("to") or None
    items = outbox.recent(to=to.strip().lower() if to and "@" in to else to)
    keep = ("channel", "to", "subject", "text", "createdAt", "refs", "data", "attachments")
    return Reply({"items": [{k: item[k] for k in keep if k in item} for item in items]})


def _field_data(value: Any) -> list[dict[str, Any]]:
    """field_data as the Graph API answers it: [{name, values: [text]}]."""
    if not isinstance(value, list) or not value:
        raise invalid("field_data", "must be a non-empty list of {name, values}")
    answers = []
    for index, item in enumerate(value):
        name = item.get("name") if isinstance(item, dict) else None
        values = item.get("values") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise invalid(f"field_data.{index}.name", "must be a non-empty string")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise invalid(f"field_data.{index}.values", "must be a list of strings")
        answers.append({"name": name.strip(), "values": values})
    return answers


@router.post("/meta/leads", public=True, status=201)
def register_meta_lead(call: Call) -> Reply:
    """Register a Lead Ads lead that the local Graph API stub then serves by its id (the webhook's leadgen_id)."""
    _emulator_only()
    body = call.json()
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    lead_id = body.get("id")
    if not isinstance(lead_id, str) or not valid_doc_id(lead_id):
        raise invalid("id", "must be the leadgen id (letters, digits, - and _)")
    lead: dict[str, Any] = {
        "id": lead_id,
        "created_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "field_data": _field_data(body.get("field_data")),
    }
    for key in ("form_id", "ad_id", "ad_name", "adset_id", "campaign_id", "campaign_name", "created_time"):
        if isinstance(body.get(key), str):
            lead[key] = body[key]
    clients.db().collection(META_LEADS).document(lead_id).set(lead)
    return Reply(lead, status=201)


def _graph_error(status: int, message: str, code: int) -> Reply:
    return Reply({"error": {"message": message, "type": "OAuthException", "code": code}}, status=status)


@router.get("/meta/graph/{version}/{leadgen_id}", public=True)
def graph_lead(call: Call) -> Reply:
    """The Graph API stub: a registered lead, as `GET /{leadgen_id}` with a token (bearer or query) answers it."""
    _emulator_only()
    bearer = (call.header("Authorization") or "").removeprefix("Bearer ").strip()
    if not (bearer or call.request.args.get("access_token")):
        return _graph_error(400, "An access token is required to request this resource.", 104)
    leadgen_id = call.params["leadgen_id"]
    snapshot = clients.db().collection(META_LEADS).document(leadgen_id).get() if valid_doc_id(leadgen_id) else None
    if snapshot is None or not snapshot.exists:
        return _graph_error(400, f"Unsupported get request. Object with ID '{leadgen_id[:40]}' does not exist", 100)
    return Reply(snapshot.to_dict())


@router.post("/99acres/pull", public=True)
def acres99_pull(call: Call) -> Reply:
    """99acres' pull stub: a successful answer with no enquiries (the local stack has no portal)."""
    _emulator_only()
    call.raw_body()  # bounded read
    return Reply('<?xml version="1.0" encoding="UTF-8"?>\n<Xml ActionStatus="true"></Xml>', content_type="text/xml")


@https_fn.on_request(**https_options())
def dev(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `dev`."""
    return router(req)
