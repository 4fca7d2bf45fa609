"""The local seed makes every comms feature work in `make run` (API.md "Local seed"): no 409 for missing setup."""

from __future__ import annotations

from typing import Any

import pytest

from comms.seed import local_voice_number
from core import tenancy
from devtools.inproc import call
from tests.support.factory import Person
from tests.support.ports import mailer, tasks_queue  # noqa: F401 - fixtures the seed's visits need

pytestmark = pytest.mark.http

# Every send route of comms with a body built from what the seed registers; a new route belongs here.
SENDS: list[tuple[str, dict[str, Any]]] = [
    ("/comms/voip/session", {}),
    ("/comms/sms", {"templateId": "1107170000000000001", "params": ["Sat 11:00"]}),
    ("/comms/whatsapp", {"templateName": "site_visit_reminder", "language": "en", "params": ["Sat 11:00"]}),
    ("/comms/email", {"subject": "Your site visit", "body": "See you on Saturday at 11:00."}),
    ("/comms/calls", {"direction": "outbound", "startedAt": "2026-11-25T05:00:00Z", "outcome": "connected"}),
    ("/comms/whatsapp/reply", {"text": "Yes, Saturday works."}),  # the buyer wrote first (below)
]


@pytest.mark.usefixtures("mailer", "tasks_queue")
@pytest.mark.parametrize("org_id", ["demo", "acme"])
def test_each_seeded_organization_can_call_text_and_email_its_leads(db: Any, org_id: str) -> None:
    from devtools import seed

    seed.seed()
    leads = tenancy.org_ref(org_id).collection("leads").stream()
    lead = next(s for s in leads if (s.to_dict() or {}).get("stage") != "booked")
    owner = tenancy.load_member(org_id, lead.get("assigneeId"), fresh=True) or {}
    agent = Person(lead.get("assigneeId"), org_id, owner["role"], owner.get("teamId"), owner["email"])
    _buyer_writes(org_id, lead.id)  # the seeded WhatsApp number takes inbound messages and opens the window
    for path, body in SENDS:
        answer = call("POST", path, token=agent.token(), json_body={"leadId": lead.id} | body)
        assert answer.status == 201, (path, answer.status, answer.body)
    settings = (tenancy.org_ref(org_id).get().to_dict() or {})["settings"]
    assert "callerId" not in settings  # retired: the caller id is the first of voice.callerIds
    from comms import channels

    # the number the voice webhook routes to the org, and the one its VoIP calls show
    assert channels.load_plain(org_id).voice == channels.VoiceChannel((local_voice_number(org_id),))


def _buyer_writes(org_id: str, lead_id: str) -> None:
    """A signed inbound WhatsApp message from the lead to the organization's seeded number."""
    import json
    import time

    from comms.seed import local_phone_number_id
    from leads import store
    from webhooks.signatures import hub_signature

    lead = store.get(org_id, lead_id)
    assert lead is not None
    number = str(store.dialable(org_id, lead)).lstrip("+")
    message = {"from": number, "id": f"wamid.seed-{org_id}", "timestamp": str(int(time.time())), "type": "text"}
    value = {
        "metadata": {"phone_number_id": local_phone_number_id(org_id)},
        "messages": [message | {"text": {"body": "Hi"}}],
    }
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": value}]}]}).encode()
    headers = {"X-Hub-Signature-256": hub_signature("local-whatsapp-secret", body)}
    answer = call("POST", "/webhooks/whatsapp", data=body, content_type="application/json", headers=headers)
    assert answer.body == {"received": {"statuses": 0, "messages": 1}}, answer.body
