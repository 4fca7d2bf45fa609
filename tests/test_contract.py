"""API.md's field lists against the routes and their models: nothing API.md leaves optional is required, every
field API.md names in a request body is accepted, every changeable resource shows its version, and every route
is either in API.md's table below or named as an extension (so a new route or a new field is reviewed here)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

pytestmark = pytest.mark.unit

# (method, path) -> (fields API.md names for the body, fields among them it requires). Transcribed from API.md:
# a field with `?`, one said to default ("countryCode", the caller as agent, "open"), or one of an "a or b" pair
# is optional; PATCH bodies are partial by the contract ("partial update").
BODIES: dict[tuple[str, str], tuple[set[str], set[str]]] = {
    ("POST", "/auth/otp/request"): ({"email"}, {"email"}),
    ("POST", "/auth/otp/verify"): ({"email", "code"}, {"email", "code"}),
    ("POST", "/members"): ({"email", "name", "role", "teamId"}, {"email", "name", "role"}),
    ("PATCH", "/members/{uid}"): ({"role", "teamId", "active", "leave", "maxOpenLeads"}, set()),
    ("PUT", "/members/me/availability"): ({"status", "until"}, {"status"}),
    ("PUT", "/members/{uid}/availability"): ({"status", "until"}, {"status"}),
    ("PATCH", "/org/routing"): ({"rules", "firstContactMinutes", "maxReassignments", "workingHours"}, set()),
    ("POST", "/org/teams"): ({"name", "managerIds"}, {"name"}),
    ("PATCH", "/org/teams/{team_id}"): ({"name", "managerIds"}, set()),
    ("PATCH", "/org/channels"): ({"whatsapp", "sms", "email", "voice"}, set()),
    ("POST", "/org/channels/test"): ({"channel", "to"}, {"channel", "to"}),
    # "SMS (dltTemplateId, category, text) or WhatsApp (name, language, category, components)": which one, and
    # its category, is every registration's
    ("POST", "/comms/templates"): (
        {"channel", "dltTemplateId", "category", "text", "name", "language", "components"},
        {"channel", "category"},
    ),
    ("PATCH", "/comms/templates/{template_id}"): ({"category", "text", "components"}, set()),
    ("PATCH", "/org/settings"): (
        {
            "stages",
            "sources",
            "configurations",
            "rolePermissions",
            "phoneMasking",
            "callRecording",
            "timeZone",
            "defaultCountryCode",
        },
        set(),
    ),
    ("POST", "/leads"): (
        {
            "salutation",
            "name",
            "primaryPhone",
            "alternatePhone",
            "emails",
            "location",
            "budget",
            "configurations",
            "source",
            "stage",
            "projectId",
            "assigneeId",
            "tags",
            "doNotContact",
            "optIns",
            "nextFollowUpAt",
            "channelPartnerId",
        },
        {"name", "primaryPhone"},
    ),
    ("PATCH", "/leads/{lead_id}"): (
        {
            "salutation",
            "name",
            "primaryPhone",
            "alternatePhone",
            "emails",
            "location",
            "budget",
            "configurations",
            "source",
            "stage",
            "projectId",
            "tags",
            "doNotContact",
            "optIns",
            "nextFollowUpAt",
            "channelPartnerId",
        },
        set(),
    ),
    ("POST", "/projects"): ({"name", "city", "address", "location", "checkinRadiusM"}, {"name", "city", "location"}),
    ("PATCH", "/projects/{project_id}"): ({"name", "city", "address", "location", "checkinRadiusM"}, set()),
    ("POST", "/leads/bulk-assign"): ({"fromAssigneeId", "leadIds", "toAssigneeId"}, {"toAssigneeId"}),
    ("POST", "/leads/{lead_id}/merge"): ({"duplicateId"}, {"duplicateId"}),
    ("POST", "/leads/{lead_id}/assign"): ({"assigneeId"}, {"assigneeId"}),
    ("POST", "/leads/{lead_id}/notes"): ({"text"}, {"text"}),
    ("POST", "/leads/import"): (set(), set()),  # a text/csv body
    ("POST", "/tasks"): ({"title", "description", "leadId", "assigneeId", "dueAt", "status"}, {"title", "dueAt"}),
    ("PATCH", "/tasks/{task_id}"): ({"title", "description", "assigneeId", "dueAt", "status"}, set()),
    ("POST", "/visits"): ({"leadId", "projectId", "scheduledAt", "agentId", "notes"}, {"leadId", "scheduledAt"}),
    ("PATCH", "/visits/{visit_id}"): (
        {"scheduledAt", "status", "notes", "followUpNotes", "cancelReason", "projectId"},
        set(),
    ),
    ("POST", "/visits/{visit_id}/checkin"): ({"lat", "lng", "accuracyM"}, {"lat", "lng", "accuracyM"}),
    ("POST", "/comms/calls"): (
        {"leadId", "direction", "kind", "startedAt", "durationSec", "outcome", "notes"},
        {"direction", "startedAt", "outcome"},
    ),
    ("POST", "/comms/voip/session"): ({"leadId"}, {"leadId"}),
    ("POST", "/comms/email"): ({"leadId", "subject", "body", "attachmentIds"}, {"leadId", "subject", "body"}),
    ("POST", "/comms/sms"): ({"leadId", "templateId", "params"}, {"leadId", "templateId"}),
    ("POST", "/comms/whatsapp"): (
        {"leadId", "templateName", "language", "params", "header", "buttonParams"},
        {"leadId", "templateName"},
    ),
    ("POST", "/comms/whatsapp/reply"): ({"leadId", "text", "attachmentId"}, {"leadId"}),
    ("POST", "/attachments"): (
        {"leadId", "visitId", "fileName", "contentType", "sizeBytes"},
        {"fileName", "contentType", "sizeBytes"},
    ),
    ("POST", "/devices"): (
        {"deviceId", "fcmToken", "platform", "model", "osVersion", "appVersion"},
        {"deviceId", "fcmToken", "platform"},
    ),
    ("POST", "/privacy/policy/accept"): (set(), set()),  # "the caller's acceptance": no body is needed
    ("POST", "/leads/sources"): (
        {"kind", "name", "projectId", "source", "fieldMap", "active", "config"},
        {"kind", "name", "source"},
    ),
    ("PATCH", "/leads/sources/{source_id}"): ({"name", "projectId", "source", "fieldMap", "active", "config"}, set()),
    ("POST", "/leads/imports"): ({"fileName", "contentType"}, {"fileName", "contentType"}),
    ("POST", "/leads/imports/{import_id}/start"): ({"columnMap", "dryRun"}, set()),
}
# Routes API.md names without a body, and the extensions this backend adds (reviewed, not in API.md's table).
NO_BODY_OR_EXTENSION = {
    ("POST", "/auth/logout"),
    ("POST", "/leads/{lead_id}/restore"),
    ("POST", "/attachments/{attachment_id}/complete"),
    ("POST", "/privacy/account/deletion"),
    ("POST", "/leads/sources/{source_id}/rotate-key"),
    ("POST", "/leads/captures/{capture_id}/retry"),
    ("POST", "/webhooks/capture/{source_id}"),  # the provider's own payload: any JSON object or form
    ("POST", "/webhooks/google/{source_id}"),  # Google's payload, read tolerantly
    # the privacy register and settings (beyond API.md: README "What the API does beyond API.md")
    ("POST", "/privacy/requests"),
    ("POST", "/privacy/requests/me"),
    ("PATCH", "/privacy/requests/{id}"),
    ("PATCH", "/privacy/settings"),
    ("PATCH", "/privacy/me"),
}
# Query parameters API.md names for a list: (method, path) -> names (limit and cursor on every paged list).
QUERIES: dict[tuple[str, str], set[str]] = {
    ("GET", "/leads"): {"stage", "source", "assigneeId", "projectId", "q", "limit", "cursor"},
    ("GET", "/tasks"): {"assigneeId", "status", "dueBefore", "limit", "cursor"},
    ("GET", "/visits"): {"limit", "cursor"},
    ("GET", "/comms/calls"): {"limit", "cursor"},
    ("GET", "/comms/messages"): {"leadId", "limit", "cursor"},
    ("GET", "/leads/{lead_id}/notes"): {"limit", "cursor"},
    ("GET", "/leads/{lead_id}/activity"): {"limit", "cursor"},
    ("GET", "/members"): {"limit", "cursor"},
    ("GET", "/audit"): {"limit", "cursor"},
    ("GET", "/leads/sources"): {"limit", "cursor"},
    ("GET", "/leads/captures"): {"sourceId", "outcome", "limit", "cursor"},
}
# Fields whose value API.md spells out: (method, path, field) -> the values it names.
VALUES: dict[tuple[str, str, str], set[str]] = {
    ("POST", "/tasks", "status"): {"open", "done"},
    ("PATCH", "/tasks/{task_id}", "status"): {"open", "done"},
    ("PATCH", "/visits/{visit_id}", "status"): {"completed", "cancelled"},
    ("POST", "/comms/calls", "direction"): {"outbound", "inbound"},
    ("POST", "/comms/calls", "kind"): {"phone", "voip"},
    ("POST", "/comms/calls", "outcome"): {
        "connected",
        "no-answer",
        "busy",
        "failed",
        "wrong-number",
        "callback-requested",
        "not-interested",
        "interested",
    },
    ("POST", "/members", "role"): {"admin", "manager", "agent", "rm"},
    ("POST", "/leads/sources", "kind"): {
        "meta",
        "google",
        "99acres",
        "magicbricks",
        "housing",
        "website",
        "missedcall",
        "generic",
    },
}


def routes() -> list[tuple[str, str, Any]]:
    """(method, /function/path, route) of every deployed route."""
    from registry import FUNCTIONS

    found = []
    for name, module_name in sorted(FUNCTIONS.items()):
        router = getattr(importlib.import_module(module_name), "router", None)
        for route in getattr(router, "routes", []):
            found.append((route.method, f"/{name}{route.path.rstrip('/')}" if route.path != "/" else f"/{name}", route))
    return found


def schema(model: Any) -> dict[str, Any]:
    return dict(model.model_json_schema(by_alias=True, mode="validation"))


def test_every_route_with_a_body_is_in_the_contract_table() -> None:
    with_body = {(method, path) for method, path, route in routes() if route.doc.body is not None}
    missing = sorted(with_body - set(BODIES) - NO_BODY_OR_EXTENSION)
    assert missing == [], "a new route with a body: add what API.md says of it to BODIES"
    assert sorted(set(BODIES) - with_body) == [], "API.md names a body the code does not take"


@pytest.mark.parametrize(("method", "path"), sorted(BODIES))
def test_nothing_api_md_leaves_optional_is_required_and_every_named_field_is_taken(method: str, path: str) -> None:
    (route,) = [r for m, p, r in routes() if (m, p) == (method, path)]
    named, required_by_contract = BODIES[(method, path)]
    body = schema(route.doc.body)
    properties, required = set(body.get("properties", {})), set(body.get("required", []))
    assert required <= required_by_contract, f"required beyond API.md: {sorted(required - required_by_contract)}"
    assert named <= properties, f"API.md names fields the body refuses: {sorted(named - properties)}"
    if method == "PATCH":
        assert required == set(), "a PATCH is a partial update"


@pytest.mark.parametrize(("method", "path"), sorted(QUERIES))
def test_the_query_parameters_api_md_names_are_taken(method: str, path: str) -> None:
    (route,) = [r for m, p, r in routes() if (m, p) == (method, path)]
    assert route.doc.query is not None, f"{method} {path} reads no query"
    taken = set(schema(route.doc.query).get("properties", {}))
    assert QUERIES[(method, path)] <= taken, sorted(QUERIES[(method, path)] - taken)


@pytest.mark.parametrize(("method", "path", "field"), sorted(VALUES))
def test_the_values_api_md_names_are_accepted(method: str, path: str, field: str) -> None:
    (route,) = [r for m, p, r in routes() if (m, p) == (method, path)]
    body = schema(route.doc.body)
    definitions = body.get("$defs", {})

    def values(node: dict[str, Any]) -> set[str]:
        if "$ref" in node:
            return values(definitions[node["$ref"].rsplit("/", 1)[1]])
        found = set(node.get("enum", [])) | ({node["const"]} if "const" in node else set())
        for option in node.get("anyOf", []) + node.get("oneOf", []):
            found |= values(option)
        return found

    assert VALUES[(method, path, field)] <= values(body["properties"][field])


def test_every_resource_that_can_change_shows_its_version() -> None:
    """API.md: every resource has `version`; PATCH takes If-Match."""
    for method, path, route in routes():
        if method == "PATCH" and route.doc.response is not None:
            properties = schema(route.doc.response).get("properties", {})
            assert "version" in properties, f"{method} {path} answers without version"
