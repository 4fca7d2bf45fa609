"""Attachments as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import Field, model_validator

from core.models import ApiModel, ApiOut, Count, DocId

MAX_BYTES = 20 * 1024 * 1024
ContentType = Literal["image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"]
CONTENT_TYPES: tuple[str, ...] = get_args(ContentType)  # each has its content check in attachments.content


class AttachmentCreate(ApiModel):
    """A file about to be uploaded for a lead or a visit."""

    lead_id: DocId | None = Field(None, description="The lead it belongs to (or visitId)")
    visit_id: DocId | None = Field(None, description="The visit it belongs to (or leadId)")
    file_name: str = Field(min_length=1, max_length=200, description="The file's name, e.g. brochure.pdf")
    content_type: ContentType = Field(description="Images (JPEG, PNG, WebP, HEIC) and PDF only")
    size_bytes: Count = Field(gt=0, description="Exact size in bytes, at most 20 MB (larger is 413)")

    @model_validator(mode="after")
    def _one_owner(self) -> AttachmentCreate:
        if (self.lead_id is None) == (self.visit_id is None):
            raise ValueError("give exactly one of leadId and visitId")
        return self


class UploadTicket(ApiOut):
    """Where to PUT the bytes."""

    id: str = Field(description="Attachment id")
    upload_url: str = Field(description="v4 signed URL: PUT the bytes with uploadHeaders")
    upload_headers: dict[str, str] = Field(
        description="Send exactly these headers with the PUT (they are signed): the declared Content-Type, the "
        "exact length and create-only; the URL stores one file of the declared size, once"
    )
    expires_at: datetime = Field(description="When the upload URL expires")
    status: Literal["pending"] = Field("pending", description="pending until completed")


class Attachment(ApiOut):
    """A stored file's metadata."""

    id: str = Field(description="Attachment id")
    lead_id: str | None = Field(description="The lead")
    visit_id: str | None = Field(description="The visit")
    file_name: str = Field(description="File name")
    content_type: str = Field(description="MIME type")
    size_bytes: int = Field(description="Size in bytes")
    status: Literal["pending", "ready", "rejected"] = Field(
        description="pending, ready or rejected (also when never completed within an hour)"
    )
    rejected_reason: str | None = Field(None, description="Why the upload was refused")
    uploaded_by: str | None = Field(description="Member who uploaded it; null for a file the buyer sent (WhatsApp)")
    version: int = Field(1, description="Version: grows when the upload is completed, rejected or swept")
    created_at: datetime = Field(description="When requested")
    download_url: str | None = Field(None, description="Short-lived signed URL to GET the file (ready only)")
    download_expires_at: datetime | None = Field(None, description="When downloadUrl expires")
