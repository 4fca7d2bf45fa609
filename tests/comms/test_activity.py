"""The comms activity trigger's helpers against the Firestore emulator: history entries, written once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from comms import providers, service
from core import outbox, tenancy
from devtools.inproc import call
from tests.comms.conftest import World
from triggers.comms_activity import message_changed

pytestmark = pytest.mark.http


def activity(lead_id: str) -> list[dict[str, Any]]:
    """The lead's activity entries, oldest first."""
    ref = tenancy.org_ref("org1").collection("leads").document(lead_id).collection("activity")
    return sorted((s.to_dict() or {} for s in ref.stream()), key=lambda entry: entry["at"])


def test_every_message_and_status_change_lands_once_in_the_leads_history(world: World, clock: Any) -> None:
    body = {"leadId": world.lead_id, "templateName": "site_visit_reminder", "language": "en", "params": ["11:00"]}
    sent = call("POST", "/comms/whatsapp", token=world.agent.token(), json_body=body).body  # outbox adapter
    ref = tenancy.org_ref("org1").collection("messages").document(sent["id"])
    created = ref.get().to_dict()
    assert message_changed("org1", sent["id"], None, created) == 2  # messaged + sent
    assert message_changed("org1", sent["id"], None, created) == 0  # a replayed event writes nothing
    before = ref.get().to_dict()
    service.apply_status("org1", sent["id"], "read", at=clock.now() + timedelta(minutes=2))
    service.apply_status("org1", sent["id"], "delivered", at=clock.now() + timedelta(minutes=1))
    after = ref.get().to_dict()
    assert after["status"] == "read"
    assert message_changed("org1", sent["id"], before, after) == 2
    entries = activity(world.lead_id)
    assert sorted(e["type"] for e in entries) == ["message-status", "message-status", "message-status", "messaged"]
    assert [e["summary"] for e in entries if e["type"] == "message-status"] == [
        "WhatsApp site_visit_reminder sent",
        "WhatsApp site_visit_reminder delivered",
        "WhatsApp site_visit_reminder read",
    ]
    assert all(e["ref"] == {"messageId": sent["id"]} for e in entries)
    assert all("9876543210" not in e["summary"] for e in entries)


def test_on_the_emulator_sms_and_whatsapp_land_in_the_outbox_with_the_lead(world: World, clock: Any) -> None:
    providers.install()
    sms = {"leadId": world.lead_id, "templateId": "1107170000000000001", "params": ["today"]}
    sent = call("POST", "/comms/sms", token=world.agent.token(), json_body=sms).body
    assert sent["status"] == "sent" and sent["providerMessageId"].startswith("outbox-")
    (entry,) = outbox.recent(to="+919876543210")
    assert entry["channel"] == "sms" and world.lead_id in entry["refs"] and sent["id"] in entry["refs"]
    assert entry["text"] == "Your site visit is confirmed for today. - JUSTOL"
