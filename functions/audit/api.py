"""The `audit` HTTPS function: GET /audit, the organization's security trail (admin)."""

from __future__ import annotations

from firebase_functions import https_fn

from audit import service
from audit.models import AuditEntry, AuditQuery
from core.deploy import https_options
from core.http import Call, Page, Router

router = Router("audit")


@router.get("/", fresh=True, query=AuditQuery, items=AuditEntry)
def list_entries(call: Call) -> Page:
    """The trail, newest first, filtered by action, actor and time (admin)."""
    call.caller.require("audit.read")
    items, cursor = service.list_entries(caller=call.caller, query=call.query(AuditQuery))
    return Page(items, cursor)


@https_fn.on_request(**https_options())
def audit(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `audit`."""
    return router(req)
