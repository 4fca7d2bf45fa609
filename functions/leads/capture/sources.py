"""Capture sources: `orgs/{orgId}/captureSources/{id}`, managed by admins.

A source's key is random, shown once (on create and on rotate-key) and stored only as an HMAC under the
CAPTURE_KEY_PEPPER secret, with its last 4 characters for display. Providers call a URL that names only the
source, so a routing document `captureRoutes/{hash of the source id}` (and `{hash of a Meta page id}` for meta
sources) names its organization; it is written in the source's own transaction, and a page id can route to one
source only (409)."""

from __future__ import annotations

import os
import secrets as random
from collections.abc import Mapping
from typing import Any

from core import clients, clock, pagination, secrets, settings, tenancy, transactions
from core.caller import Caller
from core.errors import ApiError, forbidden, invalid, not_found
from core.ids import keyed_hash, new_id, same, sha256_hex
from core.versioning import check
from leads.capture import fieldmap
from leads.capture.models import CaptureSourceCreate, CaptureSourceUpdate

PUSH_KINDS = frozenset({"website", "generic", "magicbricks", "housing", "missedcall"})


def collection(org_id: str) -> Any:
    """The organization's capture sources."""
    return tenancy.org_ref(org_id).collection("captureSources")


def ref(org_id: str, source_id: str) -> Any:
    """One capture source."""
    return collection(org_id).document(source_id)


def route_ref(kind: str, value: str) -> Any:
    """The routing document of a source id (kind "source") or a Meta page id (kind "metaPage")."""
    return clients.db().collection("captureRoutes").document(sha256_hex("capture-route", kind, value)[:40])


def key_hash(key: str) -> str:
    """How a source's key is stored."""
    return keyed_hash(secrets.value(secrets.CAPTURE_KEY_PEPPER), key)


def new_key() -> str:
    """A fresh source key (32 URL-safe characters)."""
    return random.token_urlsafe(24)


def key_matches(source: Mapping[str, Any], given: str | None) -> bool:
    """True when given is the source's current key (constant time)."""
    stored = source.get("keyHash")
    return bool(given) and isinstance(stored, str) and same(key_hash(str(given)), stored)


def endpoint_url(source_id: str, kind: str) -> str | None:
    """Where the provider posts this source's payloads (meta and 99acres have none of their own)."""
    base = settings.get()
    default = (
        f"http://127.0.0.1:5001/{base.project_id}/{base.region}"
        if base.emulator
        else f"https://{base.region}-{base.project_id}.cloudfunctions.net"
    )
    public = (os.environ.get("COMMS_PUBLIC_BASE", "").strip() or default).rstrip("/")
    if kind in PUSH_KINDS:
        return f"{public}/webhooks/capture/{source_id}"
    if kind == "google":
        return f"{public}/webhooks/google/{source_id}"
    return None


def present(source_id: str, document: Mapping[str, Any]) -> dict[str, Any]:
    """A source as the API shows it: the field map in force, no key, no password."""
    config = dict(document.get("config") or {})
    password = config.pop("password", None)
    page_token = config.pop("pageAccessToken", None)
    kind = str(document.get("kind") or "generic")
    return {
        **{k: v for k, v in document.items() if k not in ("keyHash", "config", "orgId")},
        "id": source_id,
        "fieldMap": document.get("fieldMap"),
        "fieldMapInForce": document.get("fieldMap") or fieldmap.default_map(kind),
        "config": {**config, "passwordSet": bool(password), "pageAccessTokenSet": bool(page_token)},
        "endpointUrl": endpoint_url(source_id, kind),
    }


def _require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise forbidden("Only admins manage capture sources")


def _check(caller: Caller, fields: Mapping[str, Any]) -> None:
    from leads import service

    if fields.get("source") is not None and fields["source"] not in caller.settings.sources:
        raise invalid("source", "not one of the organization's sources")
    field_map = fields.get("fieldMap")
    if field_map:
        bad = fieldmap.bad_targets(field_map)
        if bad:
            raise invalid(f"fieldMap.{bad[0]}", "not a lead field: one of " + ", ".join(sorted(fieldmap.TARGETS)))
    service.check_project(caller.org_id, fields.get("projectId"))


def _page_id(fields: Mapping[str, Any]) -> str | None:
    value = (fields.get("config") or {}).get("pageId")
    return str(value) if value else None


def create_source(*, caller: Caller, data: CaptureSourceCreate) -> dict[str, Any]:
    """A new source and its key (shown this once); 409 when its Meta page already routes to another source."""
    from google.cloud import firestore

    _require_admin(caller)
    fields = data.model_dump(by_alias=True, mode="python", exclude_none=True)
    _check(caller, fields)
    page_id = _page_id(fields) if data.kind == "meta" else None
    if data.kind == "meta" and page_id is None:
        raise invalid("config.pageId", "a meta source needs its page id")
    source_id = new_id("src_")
    key = new_key()
    now = clock.now()
    document = {
        **fields,
        "orgId": caller.org_id,
        "projectId": fields.get("projectId"),
        "fieldMap": fields.get("fieldMap"),
        "config": fields.get("config") or {},
        "keyHash": key_hash(key),
        "keyLast4": key[-4:],
        "createdAt": now,
        "createdBy": caller.uid,
        "updatedAt": now,
        "updatedBy": caller.uid,
        "version": 1,
    }

    @firestore.transactional
    def apply(transaction: Any) -> None:
        if page_id is not None:
            claim_page(transaction, caller.org_id, source_id, page_id)
        transaction.create(route_ref("source", source_id), {"orgId": caller.org_id, "sourceId": source_id})
        transaction.create(ref(caller.org_id, source_id), document)

    transactions.run(apply)
    return {**present(source_id, document), "key": key}


def claim_page(transaction: Any, org_id: str, source_id: str, page_id: str) -> None:
    """Route a Meta page to this source (read first, in the transaction); 409 when another source has it."""
    page = route_ref("metaPage", page_id)
    held = page.get(transaction=transaction)
    if held.exists and held.get("sourceId") != source_id:
        raise ApiError(
            "ALREADY_EXISTS", "This page is connected to another capture source", fields={"config.pageId": "taken"}
        )
    transaction.set(page, {"orgId": org_id, "sourceId": source_id, "pageId": page_id})


def list_sources(*, caller: Caller, page: pagination.PageQuery) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the organization's sources, newest first (admin)."""
    _require_admin(caller)
    snapshots, cursor = pagination.page(
        collection(caller.org_id), order_field="createdAt", limit=page.limit, cursor=page.cursor
    )
    return [present(s.id, s.to_dict() or {}) for s in snapshots], cursor


def _stored(transaction: Any, org_id: str, source_id: str) -> dict[str, Any]:
    snapshot = ref(org_id, source_id).get(transaction=transaction)
    if not snapshot.exists:
        raise not_found("Capture source")
    return snapshot.to_dict() or {}


def update_source(*, caller: Caller, source_id: str, data: CaptureSourceUpdate, if_match: int | None) -> dict[str, Any]:
    """Change a source (If-Match: its version); a new Meta page id moves its route."""
    from google.cloud import firestore

    _require_admin(caller)
    changes = data.model_dump(exclude_unset=True, by_alias=True, mode="python")
    for key in ("name", "source", "active"):
        if key in changes and changes[key] is None:
            raise invalid(key, "must not be null")
    _check(caller, changes)
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        stored = _stored(transaction, caller.org_id, source_id)
        version = check(int(stored.get("version") or 1), if_match)
        updates = dict(changes)
        if "config" in updates:
            config = {k: v for k, v in (updates["config"] or {}).items() if v is not None}
            for secret in ("password", "pageAccessToken"):  # write-only: absent keeps it
                if secret not in config and (stored.get("config") or {}).get(secret):
                    config[secret] = stored["config"][secret]
            updates["config"] = config
            old_page, new_page = _page_id(stored), _page_id(updates)
            if stored.get("kind") == "meta" and new_page is None:
                raise invalid("config.pageId", "a meta source needs its page id")
            if stored.get("kind") == "meta" and new_page != old_page:
                assert new_page is not None
                claim_page(transaction, caller.org_id, source_id, new_page)
                if old_page:
                    transaction.delete(route_ref("metaPage", old_page))
        updates.update(version=version + 1, updatedAt=now, updatedBy=caller.uid)
        transaction.update(ref(caller.org_id, source_id), updates)
        return {**stored, **updates}

    return present(source_id, transactions.run(apply))


def rotate_key(*, caller: Caller, source_id: str) -> dict[str, Any]:
    """A new key for the source (shown this once); the old one stops working at once."""
    from google.cloud import firestore

    _require_admin(caller)
    key = new_key()
    now = clock.now()

    @firestore.transactional
    def apply(transaction: Any) -> dict[str, Any]:
        stored = _stored(transaction, caller.org_id, source_id)
        updates = {
            "keyHash": key_hash(key),
            "keyLast4": key[-4:],
            "version": int(stored.get("version") or 1) + 1,
            "updatedAt": now,
            "updatedBy": caller.uid,
        }
        transaction.update(ref(caller.org_id, source_id), updates)
        return {**stored, **updates}

    return {**present(source_id, transactions.run(apply)), "key": key}


def _route(kind: str, value: str) -> dict[str, Any] | None:
    """A routing document; a source id's route never changes once written, so the instance keeps it a while
    (the source document itself, its key and `active`, is read on every delivery). Unknown ids are not kept:
    a source made a moment ago must route at once."""
    reference = route_ref(kind, value)
    if kind != "source":
        snapshot = reference.get()
        return snapshot.to_dict() if snapshot.exists else None
    found = tenancy.cache.get(reference.path, fresh=False, reader=reference.get)
    if found is None:
        tenancy.cache.forget(reference.path)
    return found


def routed(kind: str, value: str) -> tuple[str, str, dict[str, Any]] | None:
    """(orgId, sourceId, source document) routed by a source id or a Meta page id; None when unknown."""
    route = _route(kind, value)
    if route is None:
        return None
    org_id, source_id = str(route.get("orgId")), str(route.get("sourceId"))
    snapshot = ref(org_id, source_id).get()
    if not snapshot.exists:
        return None
    return org_id, source_id, snapshot.to_dict() or {}


def by_id(source_id: str) -> tuple[str, dict[str, Any]] | None:
    """(orgId, source document) of a source id from a provider's URL; None when unknown."""
    found = routed("source", source_id)
    return (found[0], found[2]) if found else None


def by_page(page_id: str) -> tuple[str, str, dict[str, Any]] | None:
    """(orgId, sourceId, source document) of the meta source connected to a Facebook page; None when none."""
    return routed("metaPage", page_id)


def seed_source(org_id: str, source_id: str, key: str | None, document: Mapping[str, Any]) -> None:
    """Write a source with a known id and key, and its routes (the local seed; idempotent)."""
    now = clock.now()
    stored = {
        "orgId": org_id,
        "projectId": None,
        "fieldMap": None,
        "active": True,
        "config": {},
        **document,
        "keyHash": key_hash(key) if key else None,
        "keyLast4": key[-4:] if key else None,
        "createdAt": now,
        "createdBy": None,
        "updatedAt": now,
        "updatedBy": None,
        "version": 1,
    }
    batch = clients.db().batch()
    batch.set(ref(org_id, source_id), stored)
    batch.set(route_ref("source", source_id), {"orgId": org_id, "sourceId": source_id})
    page_id = _page_id(stored)
    if page_id:
        batch.set(route_ref("metaPage", page_id), {"orgId": org_id, "sourceId": source_id, "pageId": page_id})
    batch.commit()
