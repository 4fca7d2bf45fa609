"""Large lead imports through Cloud Storage: a signed upload, a background run in batches, live progress.

The import document `orgs/{orgId}/imports/{id}` is the run's state: `rowOffset` (data rows of the file consumed
by the batches recorded so far) and the counts move together in one transaction after each batch, with that
batch's failed rows in `errors/{batch number}`. A run that dies mid-batch, or a redelivered task, starts again
at the recorded offset: lead ids come from (import id, row number) and are created only if absent, so a replayed
row finds its own keys and counts as created without a second write. Rows are read from the object streaming
(CSV as a text stream, .xlsx through openpyxl's read-only iterator) and never held whole in memory.

Status, as API.md lists it: `uploaded` from the create (the file goes to its upload URL, then start) until a
start queues the run; `running` from that start (rowsDone 0 and rowsTotal null until the first task counts the
rows) to the end; then `done` or `failed`. A start that Cloud Tasks refuses answers 503 and leaves it `uploaded`.
"""

from __future__ import annotations

import codecs
import csv
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, Protocol

from core import audit, clients, clock, csvout, storage, tenancy, transactions
from core.caller import Caller
from core.errors import ApiError, forbidden, invalid, not_found, precondition
from core.ids import new_id
from core.models import valid_doc_id
from leads import transfer

log = logging.getLogger("justo.imports")

UPLOADED, RUNNING, DONE, FAILED = "uploaded", "running", "done", "failed"
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 1_000_000
BATCH_ROWS = 500
UPLOAD_MINUTES = 30
ERRORS_MINUTES = 10
TASK_SECONDS = 420  # a run stops taking batches after this and re-enqueues itself (the function may run 540 s)
QUEUE_FUNCTION = "leadimport"  # the task-queue function's name is the queue id: no underscores
CSV_TYPES = frozenset({"text/csv", "application/csv", "application/vnd.ms-excel", "text/plain"})
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Characters of a cell kept for the errors CSV: a batch's failed rows share one document (at most 1 MiB), so
# 500 rows of every known column stay well under it.
MAX_CELL = 60


def _ref(org_id: str, import_id: str) -> Any:
    return tenancy.org_ref(org_id).collection("imports").document(import_id)


def kind_of(content_type: str) -> str:
    """`csv` or `xlsx` for a declared content type; 400 for anything else."""
    declared = content_type.split(";")[0].strip().lower()
    if declared == XLSX_TYPE:
        return "xlsx"
    if declared in CSV_TYPES:
        return "csv"
    raise invalid("contentType", "a CSV (text/csv) or an .xlsx workbook")


def present(record: dict[str, Any]) -> dict[str, Any]:
    """The import as GET /leads/imports/{id} answers it (errorsUrl a fresh short-lived link)."""
    errors_path = record.get("errorsPath")
    url = storage.signed_url(errors_path, method="GET", minutes=ERRORS_MINUTES) if errors_path else None
    keys = ("id", "fileName", "contentType", "status", "dryRun", "columnMap", "rowsTotal", "rowsDone", "created")
    shown = {key: record.get(key) for key in keys}
    return shown | {
        "duplicates": record.get("duplicates", 0),
        "errors": record.get("errors", 0),
        "errorsUrl": url,
        "reason": record.get("reason"),
        "createdBy": record.get("createdBy"),
        "createdAt": record.get("createdAt"),
        "updatedAt": record.get("updatedAt"),
    }


def create(*, caller: Caller, file_name: str, content_type: str) -> dict[str, Any]:
    """Store the pending import and answer {id, uploadUrl, uploadHeaders, expiresAt}: a create-only PUT of at
    most 50 MB."""
    caller.require("leads.import")
    kind = kind_of(content_type)
    import_id = new_id("imp_")
    object_path = f"orgs/{caller.org_id}/imports/{import_id}/source.{kind}"
    now = clock.now()
    record = {
        "id": import_id,
        "orgId": caller.org_id,
        "fileName": file_name,
        "contentType": content_type,
        "kind": kind,
        "objectPath": object_path,
        "status": UPLOADED,
        "dryRun": False,
        "starts": 0,
        "columnMap": None,
        "rowsTotal": None,
        "rowsDone": 0,
        "rowOffset": 0,
        "batches": 0,
        "created": 0,
        "duplicates": 0,
        "errors": 0,
        "errorsPath": None,
        "reason": None,
        "createdBy": caller.uid,
        "createdAt": now,
        "updatedAt": now,
    }
    headers = {
        "Content-Type": content_type,
        "x-goog-content-length-range": f"1,{MAX_BYTES}",
        "x-goog-if-generation-match": "0",
    }
    url = storage.signed_url(
        object_path,
        method="PUT",
        minutes=UPLOAD_MINUTES,
        content_type=content_type,
        headers={key: value for key, value in headers.items() if key != "Content-Type"},
    )
    _ref(caller.org_id, import_id).create(record)
    return {"id": import_id, "uploadUrl": url, "uploadHeaders": headers, "expiresAt": now + timedelta(minutes=30)}


def load_visible(caller: Caller, import_id: str) -> dict[str, Any]:
    """The import, for its creator or an admin; 404 for an unknown id (another organization's too)."""
    caller.require("leads.import")
    snapshot = _ref(caller.org_id, import_id).get() if valid_doc_id(import_id) else None
    if snapshot is None or not snapshot.exists:
        raise not_found("Import")
    record = snapshot.to_dict() or {}
    if record.get("createdBy") != caller.uid and not caller.is_admin:
        raise forbidden("Only its creator or an admin sees an import")
    return record


def column_map(raw: dict[str, str] | None) -> dict[str, str] | None:
    """The column map checked: file header -> lead column (`""` ignores a column); 400 naming a bad target."""
    if raw is None:
        return None
    checked: dict[str, str] = {}
    for source, target in raw.items():
        column = transfer.lead_column(target) if target else ""
        if column is None:
            raise invalid(f"columnMap.{source}", f"not a lead field: {target}")
        checked[source] = column
    return checked


def start(*, caller: Caller, import_id: str, columns: dict[str, str] | None, dry_run: bool) -> dict[str, Any]:
    """Check the uploaded object and queue the run (status `running`, rowsDone 0 until its first batch); a second
    start answers the import (queuing its first task again while none has begun: a no-op when it exists). 503
    when Cloud Tasks refuses the task; the import is then `uploaded` again, startable by a retry."""
    from google.cloud import firestore

    record = load_visible(caller, import_id)
    if record["status"] == RUNNING and record.get("rowsTotal") is None:
        _enqueue_first(caller.org_id, import_id, int(record.get("starts") or 0))
        return present(record)
    if record["status"] != UPLOADED:
        return present(record)
    mapping = column_map(columns)
    stored = storage.stat(record["objectPath"])
    if stored is None:
        raise precondition("Upload the file to uploadUrl first")
    if stored.size > MAX_BYTES:
        storage.delete(record["objectPath"], generation=stored.generation)
        raise ApiError("PAYLOAD_TOO_LARGE", "Imports are at most 50 MB", fields={"file": "at most 50 MB"})
    ref = _ref(caller.org_id, import_id)

    @firestore.transactional
    def begin(transaction: Any) -> dict[str, Any] | None:
        current = ref.get(transaction=transaction).to_dict() or {}
        if current.get("status") != UPLOADED:
            return None
        updates = {
            "status": RUNNING,
            "columnMap": mapping,
            "dryRun": dry_run,
            "generation": stored.generation,
            "starts": int(current.get("starts") or 0) + 1,
            "updatedAt": clock.now(),
        }
        transaction.update(ref, updates)
        return current | updates

    begun = transactions.run(begin)
    if begun is None:  # a racing start began it
        return present(load_visible(caller, import_id))
    try:
        _enqueue_first(caller.org_id, import_id, begun["starts"])
    except ApiError:
        _unstart(ref, begun["starts"])
        raise
    return present(begun)


def first_task(import_id: str, starts: int) -> str:
    """The name of a start's first task: a new name per start, so a start refused after Cloud Tasks kept its
    task anyway (an ambiguous failure) is not blocked by that name on the retry."""
    return f"{import_id}-start{starts}"


def _enqueue_first(org_id: str, import_id: str, starts: int) -> None:
    """Queue a start's first task; 503 with Retry-After when Cloud Tasks refuses it."""
    try:
        queue().enqueue(first_task(import_id, starts), {"orgId": org_id, "importId": import_id})
    except Exception as error:  # any refusal (unavailable, quota, permissions): the app retries the start
        log.warning("import task not queued import=%s error=%s", import_id, type(error).__name__)
        raise ApiError(
            "UNAVAILABLE", "The import could not be queued; start it again", headers={"Retry-After": "5"}
        ) from error


def _unstart(ref: Any, starts: int) -> None:
    """Make a start whose task was refused `uploaded` again, unless its task has begun meanwhile."""
    from google.cloud import firestore

    @firestore.transactional
    def revert(transaction: Any) -> None:
        current = ref.get(transaction=transaction).to_dict() or {}
        if current.get("status") == RUNNING and current.get("rowsTotal") is None and current.get("starts") == starts:
            transaction.update(ref, {"status": UPLOADED, "updatedAt": clock.now()})

    transactions.run(revert)


# ---- the task queue -----------------------------------------------------------------------------------------


class TaskQueue(Protocol):
    """Where the next slice of a run is queued."""

    def enqueue(self, task_id: str, payload: dict[str, Any]) -> None:
        """Queue one run of the task; a name already used is a retry and queues nothing."""
        ...


class CloudTasksQueue:
    """Cloud Tasks through firebase_admin (the tasks emulator when its host is set)."""

    def enqueue(self, task_id: str, payload: dict[str, Any]) -> None:
        """Create the named task; an existing name (a retry) is fine."""
        import os

        from firebase_admin import exceptions, functions

        from core import settings

        name = f"locations/{settings.get().region}/functions/{QUEUE_FUNCTION}"
        options = functions.TaskOptions(task_id=task_id, dispatch_deadline_seconds=600)
        try:
            functions.task_queue(name, app=clients.firebase_app()).enqueue({"data": payload}, options)
        except (exceptions.AlreadyExistsError, exceptions.ConflictError):
            return
        except ValueError:
            # firebase-admin 7.7 on the tasks emulator cannot parse the reply for a named task it created.
            if not os.environ.get("CLOUD_TASKS_EMULATOR_HOST"):
                raise


class MemoryQueue:
    """Tests and the CLI: tasks kept in order, names refused once used (as Cloud Tasks does)."""

    def __init__(self) -> None:
        """An empty queue."""
        self.tasks: list[tuple[str, dict[str, Any]]] = []
        self.used: set[str] = set()

    def enqueue(self, task_id: str, payload: dict[str, Any]) -> None:
        """Keep the task unless its name was used."""
        if task_id not in self.used:
            self.used.add(task_id)
            self.tasks.append((task_id, payload))


_queue: TaskQueue | None = None


def queue() -> TaskQueue:
    """The configured queue (Cloud Tasks unless a test or the CLI installed another)."""
    global _queue
    if _queue is None:
        _queue = CloudTasksQueue()
    return _queue


def install(replacement: TaskQueue | None) -> None:
    """Replace the queue (tests, the CLI)."""
    global _queue
    _queue = replacement


# ---- reading the file ---------------------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    """An .xlsx cell as the text a CSV would hold (9876500001, not 9876500001.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_records(blob: Any) -> Iterator[list[str]]:
    """The CSV object's records, decoded as a stream (a BOM dropped)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")

    def lines() -> Iterator[str]:
        with blob.open("rb", chunk_size=1024 * 1024) as raw:
            pending = ""
            while chunk := raw.read(1024 * 1024):
                pending += decoder.decode(chunk)
                *complete, pending = pending.split("\n")
                for line in complete:
                    yield line + "\n"
            pending += decoder.decode(b"", final=True)
            if pending:
                yield pending

    yield from csv.reader(lines())


def _xlsx_records(blob: Any) -> Iterator[list[str]]:
    """The first sheet's rows, from a local copy of the object read by openpyxl's read-only iterator."""
    import openpyxl

    with tempfile.TemporaryFile() as local:
        blob.download_to_file(local)
        local.seek(0)
        if local.read(4) != b"PK\x03\x04":
            raise ValueError("not an .xlsx workbook")
        local.seek(0)
        workbook = openpyxl.load_workbook(local, read_only=True, data_only=True)
        try:
            for cells in workbook.worksheets[0].iter_rows(values_only=True):
                yield [_cell_text(value) for value in cells]
        finally:
            workbook.close()


def records(record: dict[str, Any]) -> Iterator[list[str]]:
    """The file's records (header first), pinned to the generation the start confirmed."""
    blob = storage.bucket().blob(record["objectPath"], generation=record.get("generation"))
    return _xlsx_records(blob) if record["kind"] == "xlsx" else _csv_records(blob)


def data_rows(record: dict[str, Any]) -> Iterator[tuple[int, int, dict[str, str] | None]]:
    """(data row index from 0, spreadsheet row number, mapped row or None when empty) for every data row."""
    reader = records(record)
    header = next(reader, None)
    if not header:
        raise ValueError("the file is empty")
    try:
        columns = transfer.column_lookup(header, record.get("columnMap"))
    except ApiError as error:
        raise ValueError(error.message) from error
    for index, cells in enumerate(reader):
        yield index, index + 2, transfer.map_cells(columns, cells)


# ---- the run ------------------------------------------------------------------------------------------------


class Stop(Exception):
    """Raised by a test's crash hook to end a run mid-way (as a killed instance would)."""


def lead_id_for(import_id: str, row: int) -> str:
    """The lead id of one row of one import: the same on every replay of its batch."""
    return f"l_{import_id.removeprefix('imp_')}r{row}"


def _error_cells(items: list[dict[str, Any]], originals: dict[int, dict[str, str]]) -> list[dict[str, Any]]:
    """Failed rows as stored for the errors CSV (cells capped)."""
    return [
        {**item, "cells": {key: value[:MAX_CELL] for key, value in originals.get(item["row"], {}).items()}}
        for item in items
    ]


def _record_batch(
    ref: Any, *, offset: int, consumed: int, counts: dict[str, int], failed: list[dict[str, Any]], number: int
) -> bool:
    """Move the offset and counts and keep the batch's failed rows, in one transaction; False when another run
    recorded this batch first (its rows are counted once)."""
    from google.cloud import firestore

    @firestore.transactional
    def apply(transaction: Any) -> bool:
        current = ref.get(transaction=transaction).to_dict() or {}
        if current.get("rowOffset", 0) != offset or current.get("status") != "running":
            return False
        if failed:
            transaction.set(ref.collection("errors").document(f"{number:08d}"), {"rows": failed})
        transaction.update(
            ref,
            {
                "rowOffset": offset + consumed,
                "batches": number + 1,
                "rowsDone": current.get("rowsDone", 0) + counts["rows"],
                "created": current.get("created", 0) + counts["created"],
                "duplicates": current.get("duplicates", 0) + counts["duplicates"],
                "errors": current.get("errors", 0) + counts["errors"],
                "updatedAt": clock.now(),
            },
        )
        return True

    return bool(transactions.run(apply))


def _count_rows(record: dict[str, Any]) -> int:
    """Non-empty data rows of the file (a first streaming pass: the progress bar's total)."""
    return sum(1 for _index, _row, mapped in data_rows(record) if mapped is not None)


def _finish(org_id: str, import_id: str, record: dict[str, Any]) -> None:
    """Write the errors CSV (when rows failed), mark the import done and audit it."""
    ref = _ref(org_id, import_id)
    errors_path = None
    if record.get("errors"):
        header = ["row", "field", "message"]
        batches = [s.to_dict() or {} for s in ref.collection("errors").order_by("__name__").stream()]
        failed = [row for batch in batches for row in batch.get("rows", [])]
        extra = sorted({key for row in failed for key in row.get("cells", {})})
        lines = [csvout.line(header + extra)]
        lines += [
            csvout.line([row["row"], row["field"], row["message"], *(row["cells"].get(k, "") for k in extra)])
            for row in sorted(failed, key=lambda item: item["row"])
        ]
        errors_path = f"orgs/{org_id}/imports/{import_id}/errors.csv"
        storage.bucket().blob(errors_path).upload_from_string("".join(lines), content_type="text/csv")
    ref.update({"status": DONE, "errorsPath": errors_path, "updatedAt": clock.now()})
    if not record.get("dryRun"):
        audit.record(org_id, "leads.imported", actor=record["createdBy"], count=record.get("created", 0))


def _fail(org_id: str, import_id: str, reason: str) -> None:
    _ref(org_id, import_id).update({"status": FAILED, "reason": reason, "updatedAt": clock.now()})


def run(
    org_id: str,
    import_id: str,
    *,
    seconds: float = TASK_SECONDS,
    batch_rows: int = BATCH_ROWS,
    after_batch: Callable[[int], None] | None = None,
) -> str:
    """Run the import from its recorded offset for up to `seconds`, then queue the rest: `done`, `failed`,
    `continued` or `skipped` (not startable, or finished already)."""
    from leads.seed import member_caller

    ref = _ref(org_id, import_id)
    snapshot = ref.get()
    record = snapshot.to_dict() if snapshot.exists else None
    if record is None or record.get("status") != RUNNING:
        return "skipped"
    caller = member_caller(org_id, record["createdBy"])
    if not caller.can("leads.import"):
        _fail(org_id, import_id, "the member who started the import may no longer import leads")
        return "failed"
    try:
        if record.get("rowsTotal") is None:
            total = _count_rows(record)
            if total > MAX_ROWS:
                _fail(org_id, import_id, f"at most {MAX_ROWS} rows per file")
                return "failed"
            ref.update({"rowsTotal": total, "updatedAt": clock.now()})
            record |= {"rowsTotal": total}
        outcome = _batches(caller, record, seconds=seconds, batch_rows=batch_rows, after_batch=after_batch)
    except (ValueError, UnicodeDecodeError, csv.Error) as error:
        _fail(org_id, import_id, f"the file could not be read: {error}")
        return "failed"
    if outcome == "done":
        _finish(org_id, import_id, ref.get().to_dict() or {})
    elif outcome == "continued":
        offset = (ref.get().to_dict() or {}).get("rowOffset", 0)
        queue().enqueue(f"{import_id}-{offset}", {"orgId": org_id, "importId": import_id})
    return outcome


def _batches(
    caller: Caller,
    record: dict[str, Any],
    *,
    seconds: float,
    batch_rows: int,
    after_batch: Callable[[int], None] | None,
) -> str:
    """Take batches from the recorded offset until the file ends (`done`), time is up (`continued`) or another
    run recorded a batch first (`skipped`). Batch k is written and recorded on a second thread while batch k+1
    is read and checked (CPU here, Firestore there); batches are recorded strictly in order, and a checked
    batch left unrecorded when the run stops is simply taken again by the next run."""
    from concurrent.futures import Future, ThreadPoolExecutor

    import_id, org_id = record["id"], caller.org_id
    ref = _ref(org_id, import_id)
    offset, number = int(record.get("rowOffset", 0)), int(record.get("batches", 0))
    dry = bool(record.get("dryRun"))
    deadline = time.monotonic() + seconds
    seen: dict[str, str] = {}
    projects: dict[str, bool] = {}
    rows = data_rows(record)
    for _ in range(offset):  # rows consumed by recorded batches
        next(rows, None)

    def commit(
        mapped: list[tuple[int, dict[str, str]]], prepared: transfer.Prepared, at: int, taken: int, index: int
    ) -> bool:
        created = len(prepared.valid) + len(prepared.written) if dry else transfer.write_rows(caller, prepared)
        counts = {
            "rows": len(mapped),
            "created": created,
            "duplicates": len(prepared.duplicates),
            "errors": len(prepared.errors),
        }
        failed = _error_cells(prepared.errors, dict(mapped))
        return _record_batch(ref, offset=at, consumed=taken, counts=counts, failed=failed, number=index)

    pending: Future[bool] | None = None
    with ThreadPoolExecutor(max_workers=1) as writer:
        while True:
            batch = [item for _, item in zip(range(batch_rows), rows, strict=False)]
            prepared, mapped = None, [(row, cells) for _, row, cells in batch if cells is not None]
            if batch:
                prepared = transfer.prepare_rows(
                    caller,
                    mapped,
                    seen=seen,
                    projects=projects,
                    lead_id=lambda row: lead_id_for(import_id, row),
                    assign=not dry,
                )
            if pending is not None:
                if not pending.result():
                    return "skipped"
                number += 1
                if after_batch is not None:
                    after_batch(number)
                if time.monotonic() > deadline and batch:
                    return "continued"
            if prepared is None:
                return "done"
            pending = writer.submit(commit, mapped, prepared, offset, len(batch), number)
            offset += len(batch)


def deliver(payload: dict[str, Any]) -> str:
    """The task's body: run the named import (unknown or malformed payloads are skipped)."""
    org_id, import_id = str(payload.get("orgId", "")), str(payload.get("importId", ""))
    if not (valid_doc_id(org_id) and valid_doc_id(import_id)):
        return "skipped"
    return run(org_id, import_id)


def import_file(
    *, org_id: str, admin_uid: str, path: str, dry_run: bool = False, columns: dict[str, str] | None = None
) -> dict[str, Any]:
    """The admin command-line import: the file goes to Storage as an import and the same runner takes it in
    process, batch by batch, with the progress the app's bar shows (rowsDone of rowsTotal) on stderr."""
    from pathlib import Path

    from tqdm import tqdm

    from leads.seed import member_caller

    caller = member_caller(org_id, admin_uid)
    if not caller.is_admin:
        raise forbidden("Run the command-line import as an admin of the organization")
    local = Path(path)
    if local.stat().st_size > MAX_BYTES:
        raise ApiError("PAYLOAD_TOO_LARGE", "Imports are at most 50 MB", fields={"file": "at most 50 MB"})
    content_type = XLSX_TYPE if local.suffix.lower() == ".xlsx" else "text/csv"
    ticket = create(caller=caller, file_name=local.name, content_type=content_type)
    import_id = ticket["id"]
    record = _ref(org_id, import_id).get().to_dict() or {}
    storage.bucket().blob(record["objectPath"]).upload_from_filename(
        str(local), content_type=content_type, if_generation_match=0
    )
    tasks = MemoryQueue()
    previous = _queue
    install(tasks)
    try:
        start(caller=caller, import_id=import_id, columns=columns, dry_run=dry_run)
        with tqdm(unit="row", desc="importing") as bar:

            def progress(_batch: int) -> None:
                shown = _ref(org_id, import_id).get().to_dict() or {}
                bar.total = shown.get("rowsTotal")
                bar.update(int(shown.get("rowsDone", 0)) - bar.n)

            while tasks.tasks:
                _name, payload = tasks.tasks.pop(0)
                run(payload["orgId"], payload["importId"], after_batch=progress)
    finally:
        install(previous)
    return present(_ref(org_id, import_id).get().to_dict() or {})
