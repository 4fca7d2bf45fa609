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
    for path, body in SENDS:
        answer = call("POST", path, token=agent.token(), json_body={"leadId": lead.id} | body)
        assert answer.status == 201, (path, answer.status, answer.body)
    settings = (tenancy.org_ref(org_id).get().to_dict() or {})["settings"]
    assert "callerId" not in settings  # retired: the caller id is the first of voice.callerIds
    from comms import channels

    # the number the voice webhook routes to the org, and the one its VoIP calls show
    assert channels.load_plain(org_id).voice == channels.VoiceChannel((local_voice_number(org_id),))
