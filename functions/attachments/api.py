"""The `attachments` HTTPS function: POST /attachments, POST /attachments/{id}/complete, GET /attachments/{id}."""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from attachments import service
from attachments.models import Attachment, AttachmentCreate, UploadTicket
from core.deploy import https_options
from core.http import Call, Reply, Router, created

router = Router("attachments")


@router.post("/", idempotent=True, body=AttachmentCreate, response=UploadTicket, status=201)
def create_attachment(call: Call) -> Reply:
    """A signed URL to PUT an image or PDF of at most 20 MB."""
    ticket = service.create(caller=call.caller, data=call.body(AttachmentCreate))
    return created(ticket)


@router.post("/{attachment_id}/complete", response=Attachment)
def complete_attachment(call: Call) -> dict[str, Any]:
    """Check the uploaded object: ready, or rejected and deleted (409)."""
    return service.complete(caller=call.caller, attachment_id=call.params["attachment_id"])


@router.get("/{attachment_id}", response=Attachment)
def get_attachment(call: Call) -> dict[str, Any]:
    """Metadata and a short-lived downloadUrl."""
    return service.get(caller=call.caller, attachment_id=call.params["attachment_id"])


@https_fn.on_request(**https_options())
def attachments(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `attachments`."""
    return router(req)
