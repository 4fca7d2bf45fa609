"""The organization's message templates: SMS ones as registered at DLT ({#var#} slots), WhatsApp ones in the
Cloud API's component format (HEADER, BODY, FOOTER, BUTTONS), with their approval status; a sync reads the
WhatsApp ones and their status from the organization's WhatsApp Business Account.

Documents live at `orgs/{orgId}/templates/{id}` with deterministic ids (`sms-{dltTemplateId}`,
`wa-{name}-{language}`), so a registration, a seed and a sync of the same template are one document.
A send checks its parameters, header and button values against the stored template before anything is stored.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from comms import channels, providers, rules
from comms.models import TemplateCreate, TemplateHeader, TemplateUpdate
from core import audit, clients, clock, tenancy, transactions
from core.caller import Caller
from core.errors import ApiError, invalid, not_found, precondition
from core.models import valid_doc_id
from core.versioning import check

log = logging.getLogger("justo.comms")

SLOT = "{#var#}"
DLT_VARIABLE_MAX = 30  # characters DLT allows in one {#var#}
STATUSES = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED")
# Meta's other statuses, as far as sending goes.
META_STATUS = {"IN_APPEAL": "PENDING", "PENDING_DELETION": "DISABLED", "DELETED": "DISABLED", "ARCHIVED": "DISABLED"}
META_STATUS |= {"LIMIT_EXCEEDED": "PAUSED", "FLAGGED": "PAUSED"}
MAX_BUTTONS = {"URL": 2, "PHONE_NUMBER": 1, "QUICK_REPLY": 10}
TAKES = {  # the fields each component type has
    "HEADER": {"type", "format", "text", "example"},
    "BODY": {"type", "text", "example"},
    "FOOTER": {"type", "text"},
    "BUTTONS": {"type", "buttons"},
}
EXAMPLES = {"HEADER": {"header_text", "header_handle"}, "BODY": {"body_text"}}  # the samples each type has
VARIABLE = re.compile(r"\{\{\s*(\d+)\s*\}\}")
MAX_TEMPLATES = 500  # one organization's; a list page reads at most this many


def collection(org_id: str) -> Any:
    """The organization's templates."""
    return tenancy.org_ref(org_id).collection("templates")


def doc_id(channel: str, key: str, language: str = "") -> str:
    """The deterministic document id of a template: its DLT id (SMS), or its name and language (WhatsApp)."""
    return f"sms-{key}" if channel == "sms" else f"wa-{key}-{language}"


# ---- the shape of WhatsApp templates ------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What a send must fill in a WhatsApp template: body variables, the header, URL buttons' variables."""

    body_params: int
    header: str | None  # None, "text" (a fixed text), "text-variable", "image", "document", "video"
    url_buttons: tuple[int, ...]  # the positions of URL buttons with a variable, among all the buttons


def _variables(text: str) -> list[int]:
    return [int(n) for n in VARIABLE.findall(text)]


def shape(components: Iterable[Mapping[str, Any]]) -> Shape:
    """The shape of stored components (tolerant: what Meta or an old seed stored reads as far as it goes)."""
    body, header, buttons = 0, None, []
    for component in components:
        kind = str(component.get("type") or "").upper()
        if kind == "BODY":
            body = max(_variables(str(component.get("text") or "")), default=0)
        elif kind == "HEADER":
            fmt = str(component.get("format") or "TEXT").upper()
            if fmt == "TEXT":
                header = "text-variable" if _variables(str(component.get("text") or "")) else "text"
            else:
                header = fmt.lower()
        elif kind == "BUTTONS":
            for index, button in enumerate(component.get("buttons") or ()):
                if str(button.get("type") or "").upper() == "URL" and _variables(str(button.get("url") or "")):
                    buttons.append(index)
    return Shape(body, header, tuple(buttons))


def check_components(components: list[dict[str, Any]]) -> None:
    """400 naming the field for components Meta would refuse: one BODY, at most one of the others; a text
    header of 60 characters with at most {{1}}; body variables {{1}}..{{n}} in order; a footer without
    variables; at most 10 buttons (2 URL, 1 PHONE_NUMBER), quick replies together, a URL variable at its end."""
    seen: dict[str, int] = {}
    for index, component in enumerate(components):
        kind = component["type"]
        if kind in seen:
            raise invalid(f"components.{index}.type", f"a template has at most one {kind}")
        seen[kind] = index
        where = f"components.{index}"
        extra = sorted(set(component) - TAKES[kind])
        if extra:
            raise invalid(f"{where}.{extra[0]}", f"a {kind} has no {extra[0]}")
        samples = sorted(set(component.get("example") or {}) - EXAMPLES.get(kind, set()))
        if samples:
            raise invalid(f"{where}.example.{samples[0]}", f"not a sample of a {kind}")
        text = component.get("text")
        if kind == "HEADER":
            if "format" not in component:
                raise invalid(f"{where}.format", "a HEADER needs its format: TEXT, IMAGE, DOCUMENT or VIDEO")
            if component["format"] == "TEXT":
                if not text:
                    raise invalid(f"{where}.text", "a TEXT header needs its text")
                if len(text) > 60 or _variables(text) not in ([], [1]):
                    raise invalid(f"{where}.text", "a text header has 60 characters, at most one variable, {{1}}")
            elif text is not None:
                raise invalid(f"{where}.text", f"a {component['format']} header has no text")
        elif kind == "BODY":
            if not text:
                raise invalid(f"{where}.text", "a BODY needs its text")
            found = _variables(text)
            if sorted(set(found)) != list(range(1, len(set(found)) + 1)):
                raise invalid(f"{where}.text", "variables are {{1}}, {{2}}, ... without gaps")
        elif kind == "FOOTER":
            if not text or len(text) > 60 or _variables(text):
                raise invalid(f"{where}.text", "a footer has up to 60 characters and no variables")
        else:
            if not component.get("buttons"):
                raise invalid(f"{where}.buttons", "a BUTTONS component needs its buttons")
            _check_buttons(where, component["buttons"])
    if "BODY" not in seen:
        raise invalid("components", "a template needs a BODY")


def _check_buttons(where: str, buttons: list[dict[str, Any]]) -> None:
    counts: dict[str, int] = {}
    kinds = [button["type"] for button in buttons]
    for index, button in enumerate(buttons):
        kind, field = button["type"], f"{where}.buttons.{index}"
        counts[kind] = counts.get(kind, 0) + 1
        if counts[kind] > MAX_BUTTONS[kind]:
            raise invalid(f"{field}.type", f"a template has at most {MAX_BUTTONS[kind]} {kind} button(s)")
        url, phone = button.get("url"), button.get("phone_number")
        if kind == "URL":
            if not url or not re.match(r"^https?://[^\s{}]+", url):
                raise invalid(f"{field}.url", "a URL button needs an http(s) URL")
            variables = _variables(url)
            if variables not in ([], [1]) or (variables and not re.search(r"\{\{\s*1\s*\}\}$", url)):
                raise invalid(f"{field}.url", "a URL has at most one variable, {{1}}, at its end")
        elif url is not None:
            raise invalid(f"{field}.url", f"a {kind} button has no URL")
        if kind == "PHONE_NUMBER" and not phone:
            raise invalid(f"{field}.phone_number", "a PHONE_NUMBER button needs its number")
        if kind != "PHONE_NUMBER" and phone is not None:
            raise invalid(f"{field}.phone_number", f"a {kind} button has no phone number")
    replies = [i for i, kind in enumerate(kinds) if kind == "QUICK_REPLY"]
    if replies and replies != list(range(replies[0], replies[0] + len(replies))):
        raise invalid(f"{where}.buttons", "quick replies come together, before or after the other buttons")


def encode(components: list[dict[str, Any]]) -> str:
    """Components as stored: canonical JSON (Firestore holds no array inside an array, as body_text is)."""
    return json.dumps(components, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def components_of(value: Any) -> list[dict[str, Any]]:
    """Stored components (JSON, or a list from an older write), tolerant: anything else is none."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [dict(c) for c in value if isinstance(c, Mapping)] if isinstance(value, list) else []


def _body_text(components: Iterable[Mapping[str, Any]]) -> str:
    return next((str(c.get("text") or "") for c in components if str(c.get("type")).upper() == "BODY"), "")


def whatsapp_document(
    name: str, language: str, category: str, status: str, components: list[dict[str, Any]]
) -> dict[str, Any]:
    """The stored fields of a WhatsApp template (params: the body variables' names, as GET shows them)."""
    found = shape(components)
    return {
        "channel": "whatsapp",
        "name": name,
        "templateId": None,
        "language": language,
        "category": category,
        "status": status,
        "components": encode(components),
        "text": _body_text(components),
        "params": [str(n) for n in range(1, found.body_params + 1)],
    }


def sms_document(
    dlt_template_id: str, category: str, dlt_category: str | None, text: str, status: str
) -> dict[str, Any]:
    """The stored fields of an SMS template (params: one name per {#var#} slot)."""
    return {
        "channel": "sms",
        "name": None,
        "templateId": dlt_template_id,
        "language": "en",
        "category": category,
        "dltCategory": dlt_category or rules.DLT_CATEGORY.get(category, "promotional"),
        "status": status,
        "text": text,
        "params": [f"var{n}" for n in range(1, text.count(SLOT) + 1)],
        "components": encode([]),
    }


# ---- admin: register, change, remove ---------------------------------------------------------


def _present(template_id: str, document: Mapping[str, Any]) -> dict[str, Any]:
    """A stored template as the API shows it (an old document without a status was sendable)."""
    return {
        "id": template_id,
        "status": "APPROVED",
        **document,
        "components": components_of(document.get("components")),
    }


def list_templates(*, caller: Caller) -> list[dict[str, Any]]:
    """The organization's registered templates, SMS first, then by name."""
    snapshots = collection(caller.org_id).order_by("channel").limit(MAX_TEMPLATES).stream()
    return [_present(s.id, s.to_dict() or {}) for s in snapshots]


def list_for(org_id: str, channel: str) -> list[dict[str, Any]]:
    """The organization's templates of one channel, in id order."""
    query = collection(org_id).where(filter=clients.where("channel", "==", channel)).limit(MAX_TEMPLATES)
    return sorted((_present(s.id, s.to_dict() or {}) for s in query.stream()), key=lambda t: str(t["id"]))


def create(*, caller: Caller, data: TemplateCreate) -> dict[str, Any]:
    """Register a template (admin); 409 when the same DLT id, or name and language, is registered."""
    from google.api_core.exceptions import AlreadyExists

    caller.require("settings.manage")
    if data.channel == "sms":
        if not data.dlt_template_id:
            raise invalid("dltTemplateId", "an SMS template needs its DLT template id")
        if not data.text:
            raise invalid("text", "an SMS template needs its registered text")
        if data.name is not None or data.components is not None:
            raise invalid("components" if data.components is not None else "name", "not for an SMS template")
        if data.category == "authentication":
            raise invalid("category", "SMS templates are utility or marketing")
        template_id = doc_id("sms", data.dlt_template_id)
        document = sms_document(
            data.dlt_template_id, data.category, data.dlt_category, data.text, data.status or "APPROVED"
        )
    else:
        if not data.name:
            raise invalid("name", "a WhatsApp template needs its name")
        if not data.components:
            raise invalid("components", "a WhatsApp template needs its components (at least a BODY)")
        if data.dlt_template_id is not None or data.text is not None or data.dlt_category is not None:
            field = "dltTemplateId" if data.dlt_template_id is not None else "text"
            raise invalid(field if data.dlt_category is None else "dltCategory", "not for a WhatsApp template")
        components = [c.model_dump(exclude_none=True) for c in data.components]
        check_components(components)
        template_id = doc_id("whatsapp", data.name, data.language)
        document = whatsapp_document(data.name, data.language, data.category, data.status or "PENDING", components)
    now = clock.now()
    document |= {"gone": False, "version": 1, "createdAt": now, "updatedAt": now, "updatedBy": caller.uid}
    try:
        collection(caller.org_id).document(template_id).create(document)
    except AlreadyExists:
        field = "dltTemplateId" if data.channel == "sms" else "name"
        raise ApiError("ALREADY_EXISTS", "This template is already registered", fields={field: "taken"}) from None
    audit.record(caller.org_id, "template.created", actor=caller.uid, target=template_id)
    return _present(template_id, document)


def update(*, caller: Caller, template_id: str, data: TemplateUpdate, if_match: int | None) -> dict[str, Any]:
    """Change a template's text or components, category or status (admin); 412 on a stale If-Match."""
    from google.cloud import firestore

    caller.require("settings.manage")
    changes = data.model_dump(exclude_unset=True)
    ref = _ref(caller.org_id, template_id)

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        snapshot = ref.get(transaction=transaction)
        if not snapshot.exists:
            raise not_found("Template")
        stored = snapshot.to_dict() or {}
        version = check({"version": int(stored.get("version") or 1)}, if_match)
        if stored.get("channel") == "sms":
            if "components" in changes:
                raise invalid("components", "not for an SMS template")
            if changes.get("category") == "authentication":
                raise invalid("category", "SMS templates are utility or marketing")
            merged = sms_document(
                str(stored.get("templateId")),
                changes.get("category") or str(stored.get("category")),
                changes.get("dlt_category") or stored.get("dltCategory"),
                changes.get("text") or str(stored.get("text") or ""),
                changes.get("status") or str(stored.get("status") or "APPROVED"),
            )
        else:
            if "text" in changes or "dlt_category" in changes:
                raise invalid("text" if "text" in changes else "dltCategory", "not for a WhatsApp template")
            components = (
                [c.model_dump(exclude_none=True) for c in data.components]
                if data.components is not None
                else components_of(stored.get("components"))
            )
            if data.components is not None:
                check_components(components)
            merged = whatsapp_document(
                str(stored.get("name")),
                str(stored.get("language")),
                changes.get("category") or str(stored.get("category")),
                changes.get("status") or str(stored.get("status") or "APPROVED"),
                components,
            )
        after = stored | merged | {"version": version + 1, "updatedAt": clock.now(), "updatedBy": caller.uid}
        transaction.set(ref, after)
        return after

    result: dict[str, Any] = transactions.run(apply)
    audit.record(caller.org_id, "template.changed", actor=caller.uid, target=template_id, fields=sorted(changes))
    return _present(template_id, result)


def delete(*, caller: Caller, template_id: str) -> None:
    """Remove a template (admin); messages already sent on it keep its name."""
    caller.require("settings.manage")
    ref = _ref(caller.org_id, template_id)
    if not ref.get().exists:
        raise not_found("Template")
    ref.delete()
    audit.record(caller.org_id, "template.deleted", actor=caller.uid, target=template_id)


def _ref(org_id: str, template_id: str) -> Any:
    if not valid_doc_id(template_id):
        raise not_found("Template")
    return collection(org_id).document(template_id)


# ---- sending: the template a send names, and what it must fill ------------------------------------


def find(org_id: str, **match: str) -> dict[str, Any] | None:
    """The registered template with these fields (channel and templateId, or name and language), or None."""
    query: Any = collection(org_id)
    for field, value in match.items():
        query = query.where(filter=clients.where(field, "==", value))
    for snapshot in query.limit(1).stream():
        return _present(snapshot.id, snapshot.to_dict() or {})
    return None


def _sendable(template: Mapping[str, Any], field: str) -> None:
    status = str(template.get("status") or "APPROVED")
    if status != "APPROVED" or template.get("gone"):
        shown = "gone from the provider" if template.get("gone") else status
        raise precondition(f"This template is {shown}; only APPROVED templates are sent", field=field, status=status)


def _check_values(params: list[str], expected: int) -> None:
    if len(params) != expected:
        raise invalid("params", f"this template takes {expected} parameter(s)")
    for index, value in enumerate(params):
        if not value.strip():
            raise invalid(f"params.{index}", "must not be empty")


def check_sms(template: Mapping[str, Any], params: list[str]) -> None:
    """An SMS send's parameters against its DLT template: approved, one value per {#var#}, each at most 30
    characters (DLT refuses longer ones)."""
    _sendable(template, "templateId")
    _check_values(params, str(template.get("text") or "").count(SLOT))
    for index, value in enumerate(params):
        if len(value) > DLT_VARIABLE_MAX:
            raise invalid(f"params.{index}", f"a DLT variable holds at most {DLT_VARIABLE_MAX} characters")


def check_whatsapp(
    template: Mapping[str, Any], params: list[str], header: TemplateHeader | None, button_params: list[str]
) -> tuple[int, ...]:
    """A WhatsApp send against its template's components: approved, the body's variables, the header the
    template has (its type; text only for a text header with {{1}}), one value per URL button variable.
    Returns the positions of the buttons the values fill."""
    _sendable(template, "templateName")
    components = template.get("components") or []
    found = shape(components) if components else Shape(len(template.get("params") or []), None, ())
    _check_values(params, found.body_params)
    wanted = {"text-variable": "text", "text": None}.get(found.header or "", found.header)
    if components or header is not None:
        if header is None and wanted is not None:
            raise invalid("header", f"this template's header takes a {wanted}")
        if header is not None and wanted is None:
            raise invalid("header", "this template has no header to fill")
        if header is not None and header.type != wanted:
            raise invalid("header.type", f"this template's header is a {wanted}")
    if len(button_params) != len(found.url_buttons):
        raise invalid("buttonParams", f"this template takes {len(found.url_buttons)} URL button value(s)")
    return found.url_buttons


# ---- sync with the provider -------------------------------------------------------------------


def _remote_document(item: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(document id, stored fields) of a template as Meta lists it; None for one without a usable name."""
    name, language = str(item.get("name") or ""), str(item.get("language") or "")
    if not re.fullmatch(r"[a-z0-9_]{1,512}", name) or not re.fullmatch(r"[A-Za-z_]{2,10}", language):
        return None
    status = str(item.get("status") or "PENDING").upper()
    status = status if status in STATUSES else META_STATUS.get(status, "PENDING")
    category = str(item.get("category") or "utility").lower()
    category = category if category in ("utility", "marketing", "authentication") else "utility"
    components = [dict(c) for c in item.get("components") or () if isinstance(c, Mapping)]
    document = whatsapp_document(name, language, category, status, components)
    document |= {"providerId": str(item.get("id") or "") or None, "gone": False}
    return doc_id("whatsapp", name, language), document


SYNCED = ("name", "language", "category", "status", "components", "text", "params", "providerId", "gone")


def sync(*, caller: Caller) -> dict[str, int]:
    """Read the organization's WhatsApp templates and their status from its Business Account: new ones are
    stored, changed ones updated, registered ones Meta no longer has marked gone (DISABLED); one that is as it
    was is not written, so a second sync changes nothing. 409 naming the setting without a WhatsApp number."""
    caller.require("settings.manage")
    channel = channels.whatsapp(caller.org_id)
    if not channel.waba_id:
        raise precondition(
            "The organization's WhatsApp number has no Business Account id; an admin sets whatsapp.wabaId",
            setting="whatsapp.wabaId",
        )
    try:
        remote = providers.whatsapp_templates().list(channel)
    except providers.ProviderError as error:
        reason = error.reason.replace(channel.access_token, "[token]") if channel.access_token else error.reason
        log.warning("template sync failed org=%s: %s", caller.org_id, reason)
        if error.retryable:
            raise ApiError("UNAVAILABLE", "WhatsApp did not answer; retry", headers={"Retry-After": "30"}) from None
        raise precondition(f"WhatsApp refused the template list: {reason}", setting="whatsapp.accessToken") from None
    wanted = dict(found for found in map(_remote_document, remote) if found is not None)
    stored = {
        s.id: s.to_dict() or {}
        for s in collection(caller.org_id).where(filter=clients.where("channel", "==", "whatsapp")).stream()
    }
    now = clock.now()
    counts = {"created": 0, "updated": 0, "unchanged": 0, "gone": 0}
    writes: list[tuple[str, dict[str, Any]]] = []
    for template_id, document in wanted.items():
        before = stored.get(template_id)
        if before is None:
            counts["created"] += 1
            writes.append((template_id, document | {"version": 1, "createdAt": now, "updatedAt": now, "syncedAt": now}))
        elif any(before.get(key) != document.get(key) for key in SYNCED):
            counts["updated"] += 1
            version = int(before.get("version") or 1) + 1
            writes.append((template_id, before | document | {"version": version, "updatedAt": now, "syncedAt": now}))
        else:
            counts["unchanged"] += 1
    for template_id, before in stored.items():
        if template_id not in wanted and not before.get("gone"):
            counts["gone"] += 1
            version = int(before.get("version") or 1) + 1
            gone = {"gone": True, "status": "DISABLED", "version": version, "updatedAt": now, "syncedAt": now}
            writes.append((template_id, before | gone))
    db = clients.db()
    for start in range(0, len(writes), 400):
        batch = db.batch()
        for template_id, document in writes[start : start + 400]:
            batch.set(collection(caller.org_id).document(template_id), document)
        batch.commit()
    audit.record(caller.org_id, "templates.synced", actor=caller.uid, counts=dict(counts))
    return counts
