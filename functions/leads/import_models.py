"""Large imports (`/leads/imports`) as the API shows and takes them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from core.models import ApiModel, ApiOut

ImportContentType = Literal[
    "text/csv",
    "application/csv",
    "application/vnd.ms-excel",
    "text/plain",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
]


Header = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Target = Annotated[str, StringConstraints(max_length=40)]


class ImportCreate(ApiModel):
    """A CSV or .xlsx file about to be uploaded for import."""

    file_name: str = Field(min_length=1, max_length=200, description="The file's name, e.g. leads.xlsx")
    content_type: ImportContentType = Field(description="text/csv (or what browsers send for CSV) or .xlsx")


class ImportStart(ApiModel):
    """How to run an uploaded import."""

    column_map: dict[Header, Target] | None = Field(
        None,
        max_length=200,
        description="File header -> lead field (name, primaryPhone, countryCode, alternatePhone, emails, city, "
        "locality, address, budgetMin, budgetMax, configurations, source, stage, projectId, assigneeId, tags, "
        "purpose, channelPartnerId, salutation); an empty value ignores the column; unmapped headers are "
        "recognized by their common spellings",
    )
    dry_run: bool = Field(False, description="Validate and count only: no lead is written")


class ImportTicket(ApiOut):
    """Where to PUT the file."""

    id: str = Field(description="Import id")
    upload_url: str = Field(description="v4 signed URL: PUT the file with uploadHeaders (at most 50 MB, once)")
    upload_headers: dict[str, str] = Field(description="Send exactly these headers with the PUT (they are signed)")
    expires_at: datetime = Field(description="When the upload URL expires")


class LeadImport(ApiOut):
    """An import and its progress (also readable live at orgs/{orgId}/imports/{id} by its creator)."""

    id: str = Field(description="Import id")
    file_name: str = Field(description="The file's name")
    content_type: str = Field(description="The declared type")
    status: Literal["uploaded", "running", "done", "failed"] = Field(
        description="uploaded (created: upload the file, then start), running (from the start: rowsDone 0 and "
        "rowsTotal null until the run counts the rows), done or failed"
    )
    dry_run: bool = Field(description="A validation-only run")
    column_map: dict[Header, Target] | None = Field(None, description="The column map the run uses")
    rows_total: int | None = Field(None, description="Non-empty data rows in the file (once counted)")
    rows_done: int = Field(description="Rows processed so far")
    created: int = Field(description="Leads created (a dry run: leads that would be created)")
    duplicates: int = Field(description="Rows skipped as duplicates of a lead or an earlier row")
    errors: int = Field(description="Rows refused (see errorsUrl)")
    errors_url: str | None = Field(None, description="Short-lived link to a CSV of the failed rows and reasons")
    reason: str | None = Field(None, description="Why a failed import failed")
    created_by: str = Field(description="The member who created it")
    created_at: datetime = Field(description="When created")
    updated_at: datetime = Field(description="Last progress")
