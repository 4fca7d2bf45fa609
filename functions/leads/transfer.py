"""CSV import and export of leads.

Import: common header spellings are mapped, each row is validated as a create would be, duplicates
against the organization and within the file are skipped, and rows are written in atomic batches whose
key documents are created only if absent: a key claimed concurrently fails its batch, whose rows are
then written one by one (each its own transaction), so the duplicate guarantee holds for imports too.
Rows without an assignee are routed as a create is (routing.engine.allocate, one read of the counters per
file), their counter increments written in the same batch as the rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from core import audit, clients, clock, csvout, tenancy, transactions
from core.caller import Caller
from core.errors import ApiError, invalid
from core.ids import new_id
from core.models import INT64_MAX as MAX_MONEY
from leads import service, store
from leads.models import LeadCreate, LeadListQuery
from leads.store import Contact, LeadRecord, StoredPhone
from routing import config as routing_config
from routing import counters, engine, queue
from routing.eligibility import is_open

BATCH_WRITES = 450  # a batch holds at most 500 writes; a lead takes 2 plus one per phone and email
WRITERS = 4  # batches committed at once
MAX_ROWS = 20_000

HEADERS: dict[str, tuple[str, ...]] = {
    "salutation": ("salutation", "title", "prefix"),
    "name": ("name", "customername", "fullname", "leadname", "clientname", "buyername", "contactname"),
    "number": (
        "phone",
        "mobile",
        "mobileno",
        "mobilenumber",
        "phonenumber",
        "phoneno",
        "contact",
        "contactnumber",
        "contactno",
        "primaryphone",
        "whatsapp",
        "whatsappnumber",
        "cell",
    ),
    "countryCode": ("countrycode", "isd", "isdcode", "dialcode"),
    "alternate": (
        "alternatephone",
        "altphone",
        "alternatemobile",
        "alternatenumber",
        "phone2",
        "mobile2",
        "secondaryphone",
    ),
    "email": ("email", "emailid", "emailaddress", "mail", "emails"),
    "city": ("city", "town"),
    "locality": ("locality", "area", "neighbourhood", "neighborhood"),
    "address": ("address", "streetaddress"),
    "budgetMin": ("budgetmin", "minbudget", "budgetfrom"),
    "budgetMax": ("budgetmax", "maxbudget", "budgetto", "budget"),
    "configurations": ("configuration", "configurations", "config", "bhk", "unittype"),
    "source": ("source", "leadsource", "portal"),
    "stage": ("stage", "status", "leadstage"),
    "projectId": ("projectid", "project"),
    "assigneeId": ("assigneeid", "assignee", "agentid"),
    "tags": ("tags", "tag", "labels"),
    "purpose": ("purpose",),
    "channelPartnerId": ("channelpartnerid", "channelpartner", "broker", "brokerid"),
}
_LOOKUP = {spelling: field for field, spellings in HEADERS.items() for spelling in spellings}


def _normal(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _split(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;,|]", value) if part.strip()]


_AMOUNT = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]{1,3})?", re.ASCII)


def _money(value: str) -> int:
    """A budget cell as whole currency units: 85,00,000, 1.2cr, 45L, 800k, 7.5e6 (Excel); ValueError for
    anything else, including inf, nan, 1e999 and amounts past what a lead can store (64 bits)."""
    cleaned = re.sub(r"[,\s₹]", "", value).lower()
    multiplier = 1
    for suffix, factor in (("cr", 10_000_000), ("lakh", 100_000), ("lac", 100_000), ("l", 100_000), ("k", 1_000)):
        if cleaned.endswith(suffix) and _AMOUNT.fullmatch(cleaned[: -len(suffix)]):
            cleaned, multiplier = cleaned[: -len(suffix)], factor
            break
    if not _AMOUNT.fullmatch(cleaned):
        raise ValueError("not an amount")
    amount = Decimal(cleaned) * multiplier  # exact: no float rounding, no inf
    if amount > MAX_MONEY:
        raise ValueError("too large")
    return int(amount)


def _column_field(column: str) -> str:
    """The API field name a mapped column reports errors under."""
    return {"number": "primaryPhone", "alternate": "alternatePhone", "email": "emails"}.get(column, column)


def lead_column(name: str) -> str | None:
    """The import column a column map target names (`primaryPhone` or `number`, `emails` or `email`...)."""
    aliases = {"primaryPhone": "number", "alternatePhone": "alternate", "emails": "email"}
    column = aliases.get(name, name)
    return column if column in HEADERS else None


def row_payload(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row (mapped column -> text) as a LeadCreate payload; ValueError(field, message) on bad money."""
    payload: dict[str, Any] = {"name": row.get("name", ""), "primaryPhone": {"number": row.get("number", "")}}
    if row.get("countryCode"):
        code = row["countryCode"].strip()
        payload["primaryPhone"]["countryCode"] = code if code.startswith("+") else f"+{code}"
    if row.get("alternate"):
        payload["alternatePhone"] = {"number": row["alternate"]}
        if "countryCode" in payload["primaryPhone"]:
            payload["alternatePhone"]["countryCode"] = payload["primaryPhone"]["countryCode"]
    if row.get("email"):
        payload["emails"] = _split(row["email"])
    location = {key: row[key] for key in ("city", "locality", "address") if row.get(key)}
    if location:
        payload["location"] = location
    budget: dict[str, Any] = {}
    for column, key in (("budgetMin", "min"), ("budgetMax", "max")):
        if row.get(column):
            try:
                budget[key] = _money(row[column])
            except ValueError:
                raise ValueError(f"budget.{key}", "not an amount") from None
    if budget:
        payload["budget"] = budget
    for column in ("configurations", "tags"):
        if row.get(column):
            payload[column] = _split(row[column])
    for column in ("salutation", "source", "stage", "projectId", "assigneeId", "purpose", "channelPartnerId"):
        if row.get(column):
            payload[column] = row[column]
    return payload


def read_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, mapped row) for each non-empty data row; 400 when name or phone is missing."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if not header:
        raise invalid("body", "the CSV file is empty")
    columns = column_lookup(header)
    for index, cells in enumerate(reader, start=2):
        mapped = map_cells(columns, cells)
        if mapped is not None:
            yield index, mapped


def column_lookup(header: list[str], column_map: dict[str, str] | None = None) -> list[str | None]:
    """The lead column of each header cell: the column map (file header -> lead column) first, then the common
    spellings; 400 when name or phone is missing."""
    mapped = {_normal(source): target for source, target in (column_map or {}).items()}
    columns: list[str | None] = []
    for cell in header:
        key = _normal(cell)
        columns.append((mapped[key] or None) if key in mapped else _LOOKUP.get(key))
    for required, label in (("name", "Name"), ("number", "Phone/Mobile")):
        if required not in columns:
            raise invalid("body", f"no {label} column in the header row")
    return columns


def map_cells(columns: list[str | None], cells: list[str]) -> dict[str, str] | None:
    """One data row as mapped column -> text; None for an empty row."""
    if not any(cell.strip() for cell in cells):
        return None
    return {column: cell.strip() for column, cell in zip(columns, cells, strict=False) if column and cell.strip()}


@dataclass
class Prepared:
    """Rows checked and ready to write: valid ones (with their keys), duplicates and per-row errors."""

    valid: list[dict[str, Any]] = field(default_factory=list)  # {row, id, lead, contact, keys, assigneeId}
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    written: list[dict[str, Any]] = field(default_factory=list)  # rows a replayed batch had written already


def _row_error(number: int, error: Exception) -> dict[str, Any]:
    """A row's validation failure as {row, field, message}."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return {"row": number, "field": ".".join(str(part) for part in first["loc"]) or "row", "message": first["msg"]}
    if isinstance(error, ApiError):
        field_name, message = next(iter((error.fields or {"row": error.message}).items()))
        return {"row": number, "field": field_name, "message": message}
    field_name, message = error.args if len(error.args) == 2 else ("row", str(error))
    return {"row": number, "field": field_name, "message": message}


def prepare_rows(
    caller: Caller,
    rows: Iterable[tuple[int, dict[str, str]]],
    *,
    seen: dict[str, str],
    projects: dict[str, bool],
    lead_id: Callable[[int], str] = lambda _row: new_id("l_"),
    assign: bool = True,
) -> Prepared:
    """Validate rows as a create would, drop duplicates within the file (`seen`: key -> lead id, shared across
    batches) and against the organization, and assign (a dry run does not, so the rotation stays): what is
    left is ready for write_rows."""
    # The masking flag as it is now, not as this instance cached it (rows written after a change of the flag
    # mid-import are corrected by the masking triggers).
    org_id, conf, now = caller.org_id, caller.settings, clock.now()
    masked = store.masks_now(org_id)
    out = Prepared()
    for number, row in rows:
        try:
            payload = row_payload(row)
            if "source" not in payload:
                payload["source"] = "import"
            data = LeadCreate.model_validate(payload)
            lead, contact = service.new_lead_document(
                org_id=org_id, actor=caller, data=data, conf=conf, masked=masked, now=now
            )
            assignee, _ = service.assignment_plan(caller, data.assignee_id)
        except (ValidationError, ApiError, ValueError) as error:
            out.errors.append(_row_error(number, error))
            continue
        project = lead.get("projectId")
        if project is not None:
            if project not in projects:
                projects[project] = tenancy.org_ref(org_id).collection("projects").document(project).get().exists
            if not projects[project]:
                out.errors.append({"row": number, "field": "projectId", "message": "no such project"})
                continue
        keys = contact.keys()
        identity = lead_id(number)
        earlier = next((seen[key] for key in keys if key in seen and seen[key] != identity), None)
        if earlier is not None:
            out.duplicates.append({"row": number, "duplicateOf": earlier})
            continue
        for key in keys:
            seen[key] = identity
        out.valid.append(
            {"row": number, "id": identity, "lead": lead, "contact": contact, "keys": keys, "assigneeId": assignee}
        )
    out.written = _drop_existing(org_id, out.valid, out.duplicates)
    if assign:
        _assign(caller, out.valid, out.errors)
    return out


def write_rows(caller: Caller, prepared: Prepared, progress: Callable[[int, int], None] | None = None) -> int:
    """Write the prepared rows (duplicates met at write time join prepared.duplicates): how many leads exist
    for them now, counting those a replayed batch had written already."""
    created = _write(caller, prepared.valid, prepared.duplicates, prepared.errors, progress)
    announce_queued(caller, prepared.valid)
    return created + len(prepared.written)


def import_csv(*, caller: Caller, text: str, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Import a CSV file as caller: {created, duplicates: [{row, duplicateOf}], errors: [{row, field, message}]};
    progress(rows written, rows to write) after each batch."""
    caller.require("leads.import")
    try:
        rows = list(read_rows(text))
    except csv.Error as error:
        raise invalid("body", f"not readable as CSV: {error}") from error
    if len(rows) > MAX_ROWS:
        raise invalid("body", f"at most {MAX_ROWS} rows per file")
    prepared = prepare_rows(caller, rows, seen={}, projects={})
    created = write_rows(caller, prepared, progress)
    audit.record(caller.org_id, "leads.imported", actor=caller.uid, count=created)
    prepared.duplicates.sort(key=lambda item: item["row"])
    prepared.errors.sort(key=lambda item: item["row"])
    return {"created": created, "duplicates": prepared.duplicates, "errors": prepared.errors}


def _drop_existing(org_id: str, valid: list[dict[str, Any]], duplicates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Move rows whose phone or email already belongs to a lead of the organization to duplicates; a row whose
    key names the row's own lead id was written by an earlier run of its batch and is returned, not rewritten."""
    db = clients.db()
    owner: dict[str, str] = {}
    all_keys = [key for item in valid for key in item["keys"]]
    for start in range(0, len(all_keys), 300):
        refs = [store.key_ref(org_id, key) for key in all_keys[start : start + 300]]
        for snapshot in db.get_all(refs):
            if snapshot.exists:
                owner[snapshot.id] = str(snapshot.get("leadId"))
    kept, replaced, written = [], {}, []
    for item in valid:
        existing = next((owner[key] for key in item["keys"] if key in owner), None)
        if existing == item["id"]:
            written.append(item)
        elif existing is None:
            kept.append(item)
        else:
            replaced[item["id"]] = existing
            duplicates.append({"row": item["row"], "duplicateOf": existing})
    for duplicate in duplicates:  # a later row of the file names the existing lead, not the dropped row
        duplicate["duplicateOf"] = replaced.get(duplicate["duplicateOf"], duplicate["duplicateOf"])
    valid[:] = kept
    return written


def _assign(caller: Caller, valid: list[dict[str, Any]], errors: list[dict[str, Any]]) -> None:
    """Set the routing fields of every row: explicit assignees checked (reason manual), the rest routed by the
    engine in one pass (rules, availability, counters; nobody eligible: the team's queue). Each row carries the
    counter increments to write with it."""
    members: dict[str, dict[str, Any] | None] = {}
    for item in valid:
        uid = item["assigneeId"]
        if uid is not None and uid not in members:
            try:
                members[uid] = service.member_for_assignment(None, caller.org_id, caller, uid)
            except ApiError as error:
                members[uid] = None
                members[f"!{uid}"] = {"message": next(iter((error.fields or {"assigneeId": error.message}).values()))}
    rotating = [item for item in valid if item["assigneeId"] is None]
    team = caller.team_id if caller.role == "manager" else None
    now = clock.now()
    for item, allocation in zip(
        rotating, engine.allocate(caller.org_id, [i["lead"] for i in rotating], default_team=team, now=now), strict=True
    ):
        item["routing"] = allocation.fields
        item["counts"] = allocation.counts
    routing = routing_config.load(caller.org_id) if len(rotating) < len(valid) else None
    kept = []
    for item in valid:
        if item["assigneeId"] is not None:
            member = members.get(item["assigneeId"])
            if member is None:
                problem = members.get(f"!{item['assigneeId']}") or {"message": "not assignable"}
                errors.append({"row": item["row"], "field": "assigneeId", "message": problem["message"]})
                continue
            assert routing is not None
            own = member["uid"] == caller.uid  # an agent's own leads: it knows the buyers, no deadline
            due = None if own else engine.deadline(routing, caller.settings.zone, now)
            item["routing"] = engine.assigned_fields(member, now=now, reason="manual", due=due, by=caller.uid)
            opened = is_open(item["lead"].get("stage"), archived=False)
            item["counts"] = [(counters.open_ref(caller.org_id, member["uid"]), 1)] if opened else []
        item["lead"] = {**item["lead"], **item["routing"]}
        kept.append(item)
    valid[:] = kept


def announce_queued(caller: Caller, valid: list[dict[str, Any]]) -> None:
    """Push the managers once per team whose queue this import filled."""
    now = clock.now()
    first: dict[str | None, str] = {}
    for item in valid:
        if item["lead"].get("queue") == "team":
            first.setdefault(item["lead"].get("teamId"), item["id"])
    for team_id, lead_id in first.items():
        queue.announce_queued(caller.org_id, lead_id, team_id=team_id, queue="team", at=now)


def _counts(writer: Any, items: list[dict[str, Any]]) -> None:
    """The rows' counter increments, one write per counter document (a batch writes each document once)."""
    from google.cloud import firestore

    totals: dict[str, tuple[Any, int]] = {}
    for item in items:
        for ref, delta in item.get("counts") or ():
            total = totals.get(ref.path, (ref, 0))[1] + delta
            totals[ref.path] = (ref, total)
    for ref, delta in totals.values():
        if delta:
            writer.set(ref, {"n": firestore.Increment(delta)}, merge=True)


def _write(
    caller: Caller,
    valid: list[dict[str, Any]],
    duplicates: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    progress: Callable[[int, int], None] | None,
) -> int:
    """Write the rows in atomic batches, a few at a time; a batch that meets a concurrently claimed key goes
    row by row."""
    from concurrent.futures import ThreadPoolExecutor

    org_id, now = caller.org_id, clock.now()
    chunks: list[list[dict[str, Any]]] = [[]]
    writes = 0
    for item in valid:
        size = 2 + len(item["keys"]) + len(item.get("counts") or ())
        if writes + size > BATCH_WRITES:
            chunks.append([])
            writes = 0
        chunks[-1].append(item)
        writes += size
    chunks = [chunk for chunk in chunks if chunk]
    created, done = 0, 0
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for chunk, (count, skipped) in zip(chunks, pool.map(lambda c: _commit(org_id, c, now), chunks), strict=True):
            created += count
            duplicates.extend(skipped)
            done += len(chunk)
            if progress is not None:
                progress(done, len(valid))
    return created


def _commit(org_id: str, chunk: list[dict[str, Any]], now: Any) -> tuple[int, list[dict[str, Any]]]:
    """One atomic batch of rows: (created, duplicates found at write time)."""
    from google.api_core.exceptions import AlreadyExists, Conflict

    batch = clients.db().batch()
    for item in chunk:
        _stage(batch, org_id, item, now)
    _counts(batch, chunk)
    try:
        batch.commit()
        return len(chunk), []
    except (AlreadyExists, Conflict):
        created, skipped = 0, []
        for item in chunk:
            outcome = _write_one(org_id, item, now)
            if outcome is None or outcome == item["id"]:  # the row's own lead: a replay already wrote it
                created += 1
            else:
                skipped.append({"row": item["row"], "duplicateOf": outcome})
        return created, skipped


def _stage(writer: Any, org_id: str, item: dict[str, Any], now: Any) -> None:
    writer.create(store.ref(org_id, item["id"]), item["lead"])
    writer.create(store.private_ref(org_id, item["id"]), item["contact"].document(item["id"], now))
    store.write_keys(writer, org_id, item["id"], item["keys"], now, create=True)


def _write_one(org_id: str, item: dict[str, Any], now: Any) -> str | None:
    """One row in its own transaction: None when written, else the id of the lead holding its contact."""
    from google.cloud import firestore

    @firestore.transactional
    def apply(transaction: Any) -> str | None:
        for snapshot in store.read_all(transaction, [store.key_ref(org_id, key) for key in item["keys"]]):
            if snapshot.exists:
                return str(snapshot.get("leadId"))
        _stage(transaction, org_id, item, now)
        _counts(transaction, [item])
        return None

    result: str | None = transactions.run(apply)
    return result


# ---- export -----------------------------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "id",
    "salutation",
    "name",
    "primaryPhone",
    "alternatePhone",
    "emails",
    "city",
    "locality",
    "address",
    "budgetMin",
    "budgetMax",
    "currency",
    "configurations",
    "source",
    "stage",
    "projectId",
    "assigneeId",
    "teamId",
    "tags",
    "doNotContact",
    "nextFollowUpAt",
    "channelPartnerId",
    "createdAt",
    "updatedAt",
]
EXPORT_PAGE = 500


def _phone_text(phone: StoredPhone | None) -> str:
    """A presented phone as `(+91) 98765 43210` (masked: `(+91) 98XXXXXX10`), a form no spreadsheet evaluates."""
    if phone is None:
        return ""
    code, e164 = phone.country_code, phone.e164
    if e164:
        import phonenumbers

        try:
            grouped = phonenumbers.format_number(
                phonenumbers.parse(str(e164), None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
        except phonenumbers.NumberParseException:
            grouped = ""
        international, _, national = grouped.partition(" ")
        if national:
            return csvout.phone_cell(international, national)
    masked = phone.masked or ""
    if masked.startswith("+") and " " in masked:
        code, _, national = masked.partition(" ")
        return csvout.phone_cell(code, national)
    return csvout.phone_cell(code, phone.number)


def export_row(lead: LeadRecord) -> list[str]:
    """One lead as a CSV row of EXPORT_COLUMNS."""
    location = lead.location or {}
    budget = lead.budget or {}
    stamp = clock.rfc3339
    # Straight from the record: building its whole document (search tokens included) per row, let alone per
    # column, cost more than reading the page. A column added to EXPORT_COLUMNS and not here fails loudly below.
    values: dict[str, Any] = {
        "id": lead.id,
        "salutation": lead.salutation,
        "name": lead.name,
        "source": lead.source,
        "stage": lead.stage,
        "projectId": lead.project_id,
        "assigneeId": lead.assignee_id,
        "teamId": lead.team_id,
        "channelPartnerId": lead.channel_partner_id,
        "primaryPhone": _phone_text(lead.primary_phone),
        "alternatePhone": _phone_text(lead.alternate_phone),
        "emails": ";".join(lead.emails),
        "city": location.get("city"),
        "locality": location.get("locality"),
        "address": location.get("address"),
        "budgetMin": budget.get("min"),
        "budgetMax": budget.get("max"),
        "currency": budget.get("currency"),
        "configurations": ";".join(lead.configurations),
        "tags": ";".join(lead.tags),
        "doNotContact": ";".join(lead.do_not_contact),
        "nextFollowUpAt": stamp(lead.next_follow_up_at) if lead.next_follow_up_at else "",
        "createdAt": stamp(lead.created_at) if lead.created_at else "",
        "updatedAt": stamp(lead.updated_at) if lead.updated_at else "",
    }
    return ["" if values[column] is None else str(values[column]) for column in EXPORT_COLUMNS]


def _pages(query: Any) -> Iterator[list[Any]]:
    """The query's pages of EXPORT_PAGE, newest first, the next one read while the caller writes out this one
    (the export then takes about as long as reading the leads, not reading plus formatting); at most two pages
    are held, whatever the organization's size."""
    from concurrent.futures import ThreadPoolExecutor

    from core import pagination

    def read(cursor: str | None) -> tuple[list[Any], str | None]:
        return pagination.page(query, order_field="createdAt", limit=EXPORT_PAGE, cursor=cursor)

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(read, None)
        while True:
            snapshots, cursor = pending.result()
            if cursor is not None:
                pending = pool.submit(read, cursor)
            yield snapshots
            if cursor is None:
                return


def export_csv(*, caller: Caller) -> Iterator[str]:
    """Stream the caller's visible leads as CSV, newest first (permission checked before the first byte);
    masked phones for agents and rms of a masking organization; the export is audited with its count."""

    caller.require("leads.export")
    query = service.filtered_query(caller, LeadListQuery.model_validate({}))
    raw = store.sees_raw(caller)

    def lines() -> Iterator[str]:
        count = 0
        try:
            yield csvout.line(EXPORT_COLUMNS)
            for snapshots in [] if query is None else _pages(query):
                leads = [LeadRecord.from_document(s.id, s.to_dict() or {}) for s in snapshots]
                contacts: dict[str, Contact] = {}
                if raw and any(lead.holds_masked for lead in leads):
                    refs = [store.private_ref(caller.org_id, lead.id) for lead in leads]
                    contacts = {
                        c.reference.parent.parent.id: Contact.of(c.to_dict())
                        for c in clients.db().get_all(refs)
                        if c.exists
                    }
                for lead in leads:
                    if lead.restricted:  # only its privacy export carries a restricted lead
                        continue
                    yield csvout.line(export_row(store.present(lead, caller, contact=contacts.get(lead.id))))
                    count += 1
        finally:
            audit.record(caller.org_id, "leads.exported", actor=caller.uid, count=count)

    return lines()
