"""The `leads` HTTPS function: leads, their notes and activity, stats, import, export, merge and bulk moves."""

from __future__ import annotations

from typing import Any

from firebase_functions import https_fn

from core import secrets
from core.deploy import https_options
from core.errors import ApiError, invalid
from core.http import Call, Page, Reply, Router, created, no_content
from core.pagination import PageQuery
from leads import service, store
from leads.capture.models import (
    Capture,
    CaptureListQuery,
    CaptureSource,
    CaptureSourceCreate,
    CaptureSourceCreated,
    CaptureSourceUpdate,
)
from leads.import_models import ImportCreate, ImportStart, ImportTicket, LeadImport
from leads.models import (
    Activity,
    AssignBody,
    BulkAssignBody,
    BulkAssignResult,
    CsvFile,
    ImportResult,
    Lead,
    LeadCreate,
    LeadListQuery,
    LeadUpdate,
    MergeBody,
    Note,
    NoteCreate,
    Stats,
)

router = Router("leads")
CSV_TYPES = {"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel"}


@router.get("/", query=LeadListQuery, items=Lead)
def list_leads(call: Call) -> Page:
    """A page of visible leads, newest first; filters stage, source, assigneeId, projectId, q."""
    items, cursor = service.list_leads(caller=call.caller, query=call.query(LeadListQuery))
    return Page([lead.reply() for lead in items], cursor)


@router.post("/", idempotent=True, body=LeadCreate, response=Lead, status=201)
def create_lead(call: Call) -> Reply:
    """Create a lead; 409 with duplicateOf when its phone or email belongs to another lead."""
    lead = service.create_lead(org_id=call.caller.org_id, actor=call.caller, data=call.body(LeadCreate))
    return created(store.present(lead, call.caller).reply())


@router.get("/stats", response=Stats)
def lead_stats(call: Call) -> dict[str, Any]:
    """Counts by stage and by source over the caller's visible leads, from the tallies a trigger keeps as leads
    change (a few reads whatever the organization's size; seconds behind a write)."""
    return service.stats(caller=call.caller)


@router.get("/export", fresh=True, content_type="text/csv")
def export_leads(call: Call) -> Reply:
    """The visible leads as CSV (permission leads.export)."""
    from leads import transfer

    lines = transfer.export_csv(caller=call.caller)
    headers = {"Content-Disposition": 'attachment; filename="leads.csv"', "Cache-Control": "no-store"}
    return Reply(None, 200, headers, content_type="text/csv; charset=utf-8", stream=lines)


@router.post("/import", idempotent=True, body=CsvFile, body_content_type="text/csv", response=ImportResult)
def import_leads(call: Call) -> dict[str, Any]:
    """Import a CSV file: creates the valid rows; duplicates and per-row errors numbered as a spreadsheet shows."""
    from leads import transfer

    content_type = (call.header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "Send the file as text/csv")
    try:
        text = call.raw_body().decode("utf-8")
    except UnicodeDecodeError as error:
        raise invalid("body", "not UTF-8 text") from error
    return transfer.import_csv(caller=call.caller, text=text)


@router.post("/imports", idempotent=True, body=ImportCreate, response=ImportTicket, status=201)
def create_import(call: Call) -> Reply:
    """A large CSV or .xlsx import: answers a signed upload URL (admin, or leads.import)."""
    from leads import imports

    data = call.body(ImportCreate)
    return created(imports.create(caller=call.caller, file_name=data.file_name, content_type=data.content_type))


@router.post("/imports/{import_id}/start", body=ImportStart, response=LeadImport)
def start_import(call: Call) -> dict[str, object]:
    """Queue the uploaded file's run in the background (a second start answers the import as it is)."""
    from leads import imports

    data = call.body(ImportStart)
    import_id = call.params["import_id"]
    return imports.start(caller=call.caller, import_id=import_id, columns=data.column_map, dry_run=data.dry_run)


@router.get("/imports/{import_id}", response=LeadImport)
def get_import(call: Call) -> dict[str, object]:
    """An import's status and counts (its creator or an admin)."""
    from leads import imports

    return imports.present(imports.load_visible(call.caller, call.params["import_id"]))


@router.post("/bulk-assign", body=BulkAssignBody, response=BulkAssignResult)
def bulk_assign(call: Call) -> BulkAssignResult:
    """Move all of a member's leads, or a list of leads, to one assignee (admin; manager within its team)."""
    moved = service.bulk_assign(caller=call.caller, body=call.body(BulkAssignBody))
    return BulkAssignResult(moved=moved)


# ---- lead capture: sources and captures (before the /{lead_id} routes: the router matches in order) ----------
# Their services (leads.capture.pipeline, .sources) are imported by these routes only: not at the start of a
# function whose first request is most likely a list of leads (bench.coldstart).


@router.get("/sources", query=PageQuery, items=CaptureSource)
def list_sources(call: Call) -> Page:
    """The organization's capture sources, newest first (admin)."""
    from leads.capture import sources

    items, cursor = sources.list_sources(caller=call.caller, page=call.query(PageQuery))
    return Page(items, cursor)


# The idempotency record keeps the reply for 24 hours: the key in it only sealed (core.sealing under the pepper
# its HMAC uses), so a retry gets the first reply, key included, and no document holds the key in clear.
@router.post("/sources", idempotent=True, body=CaptureSourceCreate, response=CaptureSourceCreated, status=201)
def create_source(call: Call) -> Reply:
    """A new capture source (admin); the answer carries its key, shown this once (and to a retry of it)."""
    from leads.capture import sources

    source = sources.create_source(caller=call.caller, data=call.body(CaptureSourceCreate))
    return Reply(source, 201, sealed={"key": secrets.CAPTURE_KEY_PEPPER})


@router.patch("/sources/{source_id}", body=CaptureSourceUpdate, response=CaptureSource)
def update_source(call: Call) -> dict[str, Any]:
    """Change a capture source (admin; If-Match: its version)."""
    from leads.capture import sources

    data = call.body(CaptureSourceUpdate)
    source = sources.update_source(
        caller=call.caller, source_id=call.params["source_id"], data=data, if_match=call.if_match()
    )
    return source


@router.post("/sources/{source_id}/rotate-key", fresh=True, response=CaptureSourceCreated)
def rotate_source_key(call: Call) -> dict[str, Any]:
    """A new key for the source (admin), shown this once; the old key is refused from now on."""
    from leads.capture import sources

    return sources.rotate_key(caller=call.caller, source_id=call.params["source_id"])


@router.get("/captures", query=CaptureListQuery, items=Capture)
def list_captures(call: Call) -> Page:
    """Every payload received, newest first (admin; manager: its team's, numbers masked where the org masks)."""
    from leads.capture import pipeline

    items, cursor = pipeline.list_captures(caller=call.caller, query=call.query(CaptureListQuery))
    return Page(items, cursor)


@router.post("/captures/{capture_id}/retry", response=Capture)
def retry_capture(call: Call) -> Capture:
    """Replay a rejected capture with its source's field map as it is now (admin)."""
    from leads.capture import pipeline

    return pipeline.retry(caller=call.caller, capture_id=call.params["capture_id"])


@router.get("/{lead_id}", response=Lead)
def get_lead(call: Call) -> dict[str, Any]:
    """One lead."""
    return service.get_lead(caller=call.caller, lead_id=call.params["lead_id"]).reply()


@router.patch("/{lead_id}", body=LeadUpdate, response=Lead)
def update_lead(call: Call) -> dict[str, Any]:
    """Change a lead (If-Match: its version)."""
    data = call.body(LeadUpdate)
    return service.update_lead(
        caller=call.caller, lead_id=call.params["lead_id"], data=data, if_match=call.if_match()
    ).reply()


@router.delete("/{lead_id}", status=204)
def delete_lead(call: Call) -> Reply:
    """Archive a lead: hidden everywhere, restorable by an admin for 30 days, then purged."""
    service.archive_lead(caller=call.caller, lead_id=call.params["lead_id"], if_match=call.if_match())
    return no_content()


@router.post("/{lead_id}/restore", response=Lead)
def restore_lead(call: Call) -> dict[str, Any]:
    """Restore an archived lead (admin, within 30 days)."""
    return service.restore_lead(caller=call.caller, lead_id=call.params["lead_id"]).reply()


@router.post("/{lead_id}/assign", body=AssignBody, response=Lead)
def assign_lead(call: Call) -> dict[str, Any]:
    """Reassign a lead (admin; manager within its team)."""
    return service.assign_lead(caller=call.caller, lead_id=call.params["lead_id"], body=call.body(AssignBody)).reply()


@router.post("/{lead_id}/merge", body=MergeBody, response=Lead)
def merge_lead(call: Call) -> dict[str, Any]:
    """Fold a duplicate into this lead: notes, tasks, calls, messages, visits and activity move over."""
    from leads import merge

    body = call.body(MergeBody)
    return merge.merge_leads(caller=call.caller, lead_id=call.params["lead_id"], duplicate_id=body.duplicate_id).reply()


@router.get("/{lead_id}/notes", query=PageQuery, items=Note)
def list_notes(call: Call) -> Page:
    """A page of the lead's notes, newest first."""
    items, cursor = service.list_notes(caller=call.caller, lead_id=call.params["lead_id"], page=call.query(PageQuery))
    return Page(items, cursor)


@router.post("/{lead_id}/notes", idempotent=True, body=NoteCreate, response=Note, status=201)
def add_note(call: Call) -> Reply:
    """Add a note to the lead."""
    note = service.add_note(caller=call.caller, lead_id=call.params["lead_id"], data=call.body(NoteCreate))
    return created(note)


@router.get("/{lead_id}/activity", query=PageQuery, items=Activity)
def list_activity(call: Call) -> Page:
    """A page of the lead's automatic history, newest first."""
    page = call.query(PageQuery)
    items, cursor = service.list_activity(caller=call.caller, lead_id=call.params["lead_id"], page=page)
    return Page(items, cursor)


@https_fn.on_request(
    **https_options(
        secrets=secrets.names(secrets.SEARCH_KEY, secrets.CAPTURE_KEY_PEPPER), memory_mb=512, timeout_sec=300
    )
)
def leads(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `leads`."""
    return router(req)
