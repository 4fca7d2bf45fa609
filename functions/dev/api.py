"""The `dev` HTTPS function (emulator only): GET /dev/outbox?to=, and the local provider stubs the capture
clients call on the emulators: the Graph API's Lead Ads reads (leads registered with POST /dev/meta/leads) and
WhatsApp media reads (media registered with POST /dev/meta/media)
and 99acres' pull (the enquiries registered with POST /dev/99acres/enquiries for the pull's user name, in the
pull's window, as 99acres' XML answers them; none for a user name nothing was registered for)."""

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
META_MEDIA = "devMetaMedia"  # {media id} -> a buyer's WhatsApp media the Graph stub serves (bytes base64)
MEDIA_MAX_BYTES = 512 * 1024  # the stub keeps media in one Firestore document
ACRES99_ENQUIRIES = "devAcres99Enquiries"  # {user name hash + query id} -> an enquiry the pull stub serves
ACRES99_FIELDS = {  # what a registration names -> the element of 99acres' <Resp> that carries it
    "name": "Name",
    "email": "Email",
    "phone": "Phone",
    "message": "QryInfo",
    "project": "ProjName",
    "city": "City",
    "locality": "Locality",
}


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
    """The Graph API stub: a registered lead, as `GET /{leadgen_id}` with a token (bearer or query) answers it,
    or a registered WhatsApp media's metadata, as `GET /{media-id}` answers it (its url is the download below)."""
    _emulator_only()
    bearer = (call.header("Authorization") or "").removeprefix("Bearer ").strip()
    if not (bearer or call.request.args.get("access_token")):
        return _graph_error(400, "An access token is required to request this resource.", 104)
    object_id = call.params["leadgen_id"]
    for collection in (META_LEADS, META_MEDIA):
        snapshot = clients.db().collection(collection).document(object_id).get() if valid_doc_id(object_id) else None
        if snapshot is not None and snapshot.exists:
            found = snapshot.to_dict() or {}
            if collection == META_LEADS:
                return Reply(found)
            config = settings.get()
            url = f"http://127.0.0.1:5001/{config.project_id}/{config.region}/dev/meta/media/{object_id}/download"
            return Reply(
                {
                    "messaging_product": "whatsapp",
                    "url": url,
                    "mime_type": found["mimeType"],
                    "sha256": found["sha256"],
                    "file_size": found["size"],
                    "id": object_id,
                }
            )
    return _graph_error(400, f"Unsupported get request. Object with ID '{object_id[:40]}' does not exist", 100)


@router.post("/meta/media", public=True, status=201)
def register_meta_media(call: Call) -> Reply:
    """Register a buyer's WhatsApp media `{id, mimeType, data (base64)}` that the Graph stub then serves by id
    (metadata) and its url (the bytes, with the organization's token)."""
    import base64
    import binascii
    import hashlib

    _emulator_only()
    body = call.json()
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    media_id, mime = body.get("id"), body.get("mimeType")
    if not isinstance(media_id, str) or not valid_doc_id(media_id) or len(media_id) > 200:
        raise invalid("id", "must be the media id (letters, digits, - and _)")
    if not isinstance(mime, str) or "/" not in mime or len(mime) > 100:
        raise invalid("mimeType", "must be a MIME type, e.g. image/jpeg")
    try:
        data = base64.b64decode(str(body.get("data") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise invalid("data", "must be base64") from None
    if not data or len(data) > MEDIA_MAX_BYTES:
        raise invalid("data", f"must be 1 to {MEDIA_MAX_BYTES} bytes")
    sha = hashlib.sha256(data).hexdigest()
    stored = {"mimeType": mime, "sha256": sha, "size": len(data), "data": base64.b64encode(data).decode()}
    clients.db().collection(META_MEDIA).document(media_id).set(stored)
    return Reply({"id": media_id, "sha256": sha, "fileSize": len(data)}, status=201)


@router.get("/meta/media/{media_id}/download", public=True)
def download_meta_media(call: Call) -> Reply:
    """The media url of the Graph stub: the bytes, to a request with a bearer token (as Meta's lookaside URL)."""
    import base64

    _emulator_only()
    if not (call.header("Authorization") or "").removeprefix("Bearer ").strip():
        return _graph_error(401, "An access token is required to request this resource.", 104)
    media_id = call.params["media_id"]
    snapshot = clients.db().collection(META_MEDIA).document(media_id).get() if valid_doc_id(media_id) else None
    if snapshot is None or not snapshot.exists:
        return _graph_error(404, "Media not found", 100)
    found = snapshot.to_dict() or {}
    return Reply(base64.b64decode(found["data"]), content_type=str(found["mimeType"]))


def _enquiry(index: int, item: Any, now: datetime) -> dict[str, Any]:
    """One registered enquiry checked: queryId, the fields 99acres sends, receivedAt (default now)."""
    if not isinstance(item, dict):
        raise invalid(f"enquiries.{index}", "must be an object")
    query_id = item.get("queryId")
    if not isinstance(query_id, str) or not valid_doc_id(query_id):
        raise invalid(f"enquiries.{index}.queryId", "must be an id (letters, digits, - and _)")
    enquiry: dict[str, Any] = {"queryId": query_id}
    for name in ACRES99_FIELDS:
        value = item.get(name)
        if value is not None and not isinstance(value, str):
            raise invalid(f"enquiries.{index}.{name}", "must be a string")
        if value:
            enquiry[name] = value
    received = item.get("receivedAt")
    try:
        at = datetime.fromisoformat(str(received).replace("Z", "+00:00")) if received is not None else now
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise invalid(f"enquiries.{index}.receivedAt", "must be an RFC 3339 time with its offset")
    return enquiry | {"receivedAt": at.astimezone(UTC).replace(microsecond=0)}  # 99acres writes whole seconds


@router.post("/99acres/enquiries", public=True, status=201)
def register_acres99_enquiries(call: Call) -> Reply:
    """Register enquiries that the 99acres pull stub then answers to pulls by this user name (per test or demo)."""
    from core.ids import sha256_hex

    _emulator_only()
    body = call.json()
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    username = body.get("username")
    if not isinstance(username, str) or not username.strip():
        raise invalid("username", "the 99acres source's config.username")
    items = body.get("enquiries")
    if not isinstance(items, list) or not items or len(items) > 100:
        raise invalid("enquiries", "must be a list of 1 to 100 enquiries")
    now = datetime.now(UTC)
    enquiries = [_enquiry(index, item, now) for index, item in enumerate(items)]
    batch = clients.db().batch()
    for enquiry in enquiries:
        key = sha256_hex("dev-99acres", username, enquiry["queryId"])[:40]
        batch.set(clients.db().collection(ACRES99_ENQUIRIES).document(key), enquiry | {"username": username})
    batch.commit()
    return Reply({"registered": len(enquiries)}, status=201)


def _pull_query(form_xml: str) -> tuple[str, datetime, datetime] | None:
    """(user name, window start, window end) of the pull's XML query; None when it is not one."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    from leads.capture.providers import ACRES99_TIME, IST

    try:
        query = ElementTree.fromstring(form_xml)
        start = datetime.strptime(query.findtext("start_date") or "", ACRES99_TIME).replace(tzinfo=IST)
        end = datetime.strptime(query.findtext("end_date") or "", ACRES99_TIME).replace(tzinfo=IST)
    except (ElementTree.ParseError, DefusedXmlException, ValueError):
        return None
    return (query.findtext("user_name") or "").strip(), start, end


def _resp(enquiry: dict[str, Any]) -> str:
    """One enquiry as a <Resp> of 99acres' answer (RcvdOn in IST, as 99acres writes it)."""
    from xml.sax.saxutils import escape, quoteattr

    from leads.capture.providers import ACRES99_TIME, IST

    def cells(names: tuple[str, ...]) -> str:
        tags = ((ACRES99_FIELDS[name], enquiry.get(name)) for name in names)
        return "".join(f"<{tag}>{escape(str(value))}</{tag}>" for tag, value in tags if value)

    received = enquiry["receivedAt"].astimezone(IST).strftime(ACRES99_TIME)
    query_id = quoteattr(str(enquiry["queryId"]))
    detail = cells(("message", "project", "city", "locality")) + f"<RcvdOn>{received}</RcvdOn>"
    contact = cells(("name", "email", "phone"))
    return f'<Resp><QryDtl QueryId={query_id} ResType="S">{detail}</QryDtl><CntctDtl>{contact}</CntctDtl></Resp>'


@router.post("/99acres/pull", public=True)
def acres99_pull(call: Call) -> Reply:
    """99acres' pull stub: the enquiries registered for the query's user name received in its window, as the
    pull interface answers them (no enquiries for anything else: the local stack has no portal)."""
    _emulator_only()
    call.raw_body()  # bounded read
    query = _pull_query(str(call.request.form.get("xml") or ""))
    found: list[dict[str, Any]] = []
    if query is not None and query[0]:
        username, start, end = query
        matching = clients.db().collection(ACRES99_ENQUIRIES).where(filter=clients.where("username", "==", username))
        for snapshot in matching.stream():
            enquiry = snapshot.to_dict() or {}
            if start <= enquiry["receivedAt"] <= end:
                found.append(enquiry)
    found.sort(key=lambda enquiry: enquiry["receivedAt"])
    body = "".join(_resp(enquiry) for enquiry in found)
    return Reply(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Xml ActionStatus="true">{body}</Xml>', content_type="text/xml"
    )


@https_fn.on_request(**https_options())
def dev(req: https_fn.Request) -> https_fn.Response:
    """HTTPS function `dev`."""
    return router(req)
