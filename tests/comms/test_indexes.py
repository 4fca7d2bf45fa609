"""Every query shape of the comms code has its index declared in firestore.indexes.json."""

from __future__ import annotations

from typing import Any

import pytest

from comms import conversations, service
from comms.models import CallListQuery, MessageListQuery, SmsCreate, WhatsAppCreate
from core.caller import caller_from_claims
from tests.comms.conftest import World
from tests.support import indexes
from tests.support.factory import add_person

pytestmark = pytest.mark.http


def test_comms_queries_are_indexed(world: World, clock: Any) -> None:
    people = (world.admin, world.manager, world.agent)
    callers = [
        caller_from_claims({"orgId": p.org_id, "uid": p.uid, "role": p.role, "teamId": p.team_id}, fresh=True)
        for p in people
    ]
    with indexes.recording() as recorder:
        for caller in callers:
            for lead_id in (None, world.lead_id):
                service.list_calls(caller=caller, query=CallListQuery.model_validate({"leadId": lead_id, "limit": 2}))
                service.list_messages(
                    caller=caller, query=MessageListQuery.model_validate({"leadId": lead_id, "limit": 2})
                )
            service.list_templates(caller=caller)
        agent = callers[-1]
        service.send_sms(
            caller=agent, data=SmsCreate(lead_id=world.lead_id, template_id="1107170000000000001", params=["x"])
        )
        body = {"leadId": world.lead_id, "templateName": "site_visit_reminder", "language": "en", "params": ["x"]}
        service.send_whatsapp(caller=agent, data=WhatsAppCreate.model_validate(body))
        service.send_due()

        person = add_person("org1", "rm", "north")
        rm = caller_from_claims({"orgId": "org1", "uid": person.uid, "role": "rm", "teamId": "north"}, fresh=True)
        for caller in (*callers, rm):
            for lead_id, assignee_id, unread in (
                (None, None, False),
                (None, None, True),
                (None, caller.uid, False),
                (None, caller.uid, True),
                (world.lead_id, None, True),
            ):
                if lead_id and caller is rm:
                    continue
                conversations.list_conversations(
                    caller=caller, lead_id=lead_id, assignee_id=assignee_id, unread=unread, limit=2, cursor=None
                )
        conversations.follow_lead("org1", "gone", {"name": "x"}, None)
        # the template sent above opened the lead's conversation
        conversations.thread(caller=callers[0], conv_id=f"whatsapp_{world.lead_id}", limit=2, cursor=None)
    assert recorder.shapes
    assert indexes.missing(recorder.shapes) == []
