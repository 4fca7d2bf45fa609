"""Meta Lead Ads: the `leadgen` webhook's changes, each routed by its page id to its meta source
(`sources.by_page`), the lead read from the Graph API with the page's token and handed to the capture pipeline
(provider key: the leadgen id, so a redelivery is the same capture).

A delivery is read tolerantly (a part of another shape is skipped, never a 500 that Meta would retry forever);
a page's access token lives only in the source's config on the server (write-only in the API), never in a reply
or a log."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.models import valid_doc_id
from core.provider_calls import ProviderError
from leads.capture import providers

log = logging.getLogger("justo.capture.meta")

# Meta's standard lead form questions (the `name` of a field_data item) -> the lead field each fills; a
# source's fieldMap adds or overrides names (custom questions); unmapped answers become the lead's note.
META_FIELDS: dict[str, str] = {
    "full_name": "name",
    "first_name": "firstName",
    "last_name": "lastName",
    "phone_number": "primaryPhone",
    "work_phone_number": "alternatePhone",
    "email": "email",
    "work_email": "email",
    "city": "location.city",
    "street_address": "location.address",
    "zip_code": "location.locality",
    "post_code": "location.locality",
}
# Answers that say nothing about the enquiry, never copied into the note.
_NOT_NOTED = frozenset({"inbox_url"})


@dataclass(frozen=True)
class LeadgenChange:
    """One `leadgen` change of a page: a lead was submitted on one of its forms."""

    leadgen_id: str
    page_id: str
    form_id: str
    ad_id: str
    adgroup_id: str
    created_time: str
    value: dict[str, Any]  # the change's value as Meta sent it


def _text(value: Any) -> str:
    """A string, or an integer as its text (Meta sends ids and times as either); anything else reads as ""."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def leadgen_changes(payload: Any) -> list[LeadgenChange]:
    """Every `leadgen` change of a page delivery (`object: "page"`, `entry[].changes[]`), in delivery order;
    a change without a leadgen id or page id, or of another field, is skipped."""
    if not isinstance(payload, dict) or payload.get("object") != "page":
        return []
    found = []
    for entry in _objects(payload.get("entry")):
        for change in _objects(entry.get("changes")):
            value = change.get("value")
            if change.get("field") != "leadgen" or not isinstance(value, dict):
                continue
            leadgen_id = _text(value.get("leadgen_id"))
            page_id = _text(value.get("page_id")) or _text(entry.get("id"))
            if not valid_doc_id(leadgen_id) or not valid_doc_id(page_id):
                continue
            found.append(
                LeadgenChange(
                    leadgen_id=leadgen_id,
                    page_id=page_id,
                    form_id=_text(value.get("form_id")),
                    ad_id=_text(value.get("ad_id")),
                    adgroup_id=_text(value.get("adgroup_id")),
                    created_time=_text(value.get("created_time")),
                    value=value,
                )
            )
    return found


def lead_fields(lead: providers.MetaLead, field_map: Mapping[str, str] | None) -> dict[str, str]:
    """The lead fields of a Graph API lead: standard questions by META_FIELDS, the source's field map on top,
    the first answer for a field winning; every other answer goes into the note as `question: answer`."""
    names = {**META_FIELDS, **(field_map or {})}
    fields: dict[str, str] = {}
    noted = []
    for question, answer in lead.fields().items():
        target = names.get(question)
        if not answer:
            continue
        if target:
            fields.setdefault(target, answer)
        elif question not in _NOT_NOTED:
            noted.append(f"{question.replace('_', ' ')}: {answer}")
    if noted:
        fields["note"] = "\n".join(([fields["note"]] if fields.get("note") else []) + noted)
    return fields


def campaign_of(change: LeadgenChange, lead: providers.MetaLead) -> dict[str, str]:
    """{id, name, adId, formId} of the ad the lead came through (the Graph read first, the webhook's ids else)."""
    campaign = {
        "id": lead.campaign_id,
        "name": lead.campaign_name,
        "adId": lead.ad_id or change.ad_id,
        "formId": lead.form_id or change.form_id,
    }
    return {key: value for key, value in campaign.items() if value}


def receive_delivery(payload: Any) -> dict[str, int]:
    """Capture every leadgen change of a signed delivery; counts of captured and ignored changes.

    Each change is one capture (provider key: its leadgen id): a redelivered one is answered from its capture
    without reading the Graph API again. A lead the Graph API cannot give now (no token, refused, down) raises
    ProviderError after the other changes are captured, so the webhook answers 503 and Meta delivers again."""
    from leads.capture import pipeline, sources

    counts = {"captured": 0, "ignored": 0}
    failed: list[str] = []
    for change in leadgen_changes(payload):
        found = sources.by_page(change.page_id)
        if found is None or found[2].get("kind") != "meta":
            log.warning("leadgen change for a page no meta source is connected to")
            counts["ignored"] += 1
            continue
        org_id, source_id, stored = found
        source = {**stored, "id": source_id}
        config = stored.get("config") or {}
        form_ids = [str(form) for form in config.get("formIds") or []]
        if stored.get("active") is False or (form_ids and change.form_id not in form_ids):
            counts["ignored"] += 1
            continue
        capture_id = pipeline.capture_id_of(source_id, change.leadgen_id, "")
        done = pipeline.collection(org_id).document(capture_id).get()
        if done.exists and (done.to_dict() or {}).get("outcome") != pipeline.PENDING:
            counts["captured"] += 1  # a redelivery: nothing to read, nothing to change
            continue
        token = config.get("pageAccessToken")
        try:
            if not isinstance(token, str) or not token:
                raise ProviderError("the meta source has no page access token")
            lead = providers.meta_graph().lead(change.leadgen_id, access_token=token)
        except ProviderError as error:
            log.warning("graph lead read failed source=%s reason=%s", source_id, error.reason)
            failed.append(error.reason)
            continue
        pipeline.receive(
            org_id,
            source,
            provider_key=change.leadgen_id,
            payload={"webhook": change.value, "lead": lead.raw},
            fields=lead_fields(lead, stored.get("fieldMap")),
            campaign=campaign_of(change, lead),
        )
        counts["captured"] += 1
    if failed:
        raise ProviderError(f"{len(failed)} lead(s) could not be read from the Graph API: {failed[0]}", retryable=True)
    return counts
