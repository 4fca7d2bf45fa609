"""The `dev` HTTPS function (emulator only): GET /dev/outbox?to=."""

from __future__ import annotations

from firebase_functions import https_fn

from core import outbox, settings
from core.deploy import https_options
from core.errors import not_found
from core.http import Call, Reply, Router

router = Router("dev")


@router.get("/outbox", public=True)
def list_outbox(call: Call) -> Reply:
    """What would have been emailed, texted or pushed, newest first."""
    if not settings.get().emulator:
        raise not_found("Endpoint")
    to = call.request.args.get("to") or None
    items = outbox.recent(to=to.strip().lower() if to and "@" in to else to)
    keep = ("channel", "to", "subject", "text", "createdAt", "refs", "data", "attachments")
    return Reply({"items": [{k: item[k] for k in keep if k in item} for item in items]})


@https_fn.on_request(**https_options())
def dev(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `dev`."""
    return router(req)
