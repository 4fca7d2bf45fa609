"""A lead captured with an email only has no phone: every comms route that reaches a lead answers it as the app
can show it (409 FAILED_PRECONDITION on the phone channels, the email and a logged call work), never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from core.caller import SYSTEM
from devtools.inproc import call
from tests.comms.conftest import World
from tests.comms.test_seed import SENDS
from tests.support.ports import mailer, tasks_queue  # noqa: F401 - fixtures the email route needs

pytestmark = pytest.mark.http

# Every send route of SENDS with what a phone-less lead gets; a new route must be placed here.
EXPECTED = {
    "/comms/voip/session": 409,
    "/comms/sms": 409,
    "/comms/whatsapp": 409,
    "/comms/whatsapp/reply": 409,
    "/comms/email": 201,
    "/comms/calls": 201,
}


def phoneless_lead(world: World) -> str:
    """A lead of the world's agent with an email and no phone, as lead capture makes one."""
    from leads.models import CapturedLeadCreate
    from leads.service import create_lead

    data = CapturedLeadCreate.model_validate(
        {
            "name": "Meera Iyer",
            "emails": ["meera.iyer@example.com"],
            "optIns": ["whatsapp", "sms", "email"],
            "assigneeId": world.agent.uid,
        }
    )
    return str(create_lead(org_id="org1", actor=SYSTEM, data=data).id)


@pytest.mark.usefixtures("mailer", "tasks_queue")
@pytest.mark.parametrize(("path", "body"), SENDS, ids=[path for path, _ in SENDS])
def test_a_phoneless_lead_gets_a_clear_409_on_phone_channels(world: World, path: str, body: dict[str, Any]) -> None:
    assert set(EXPECTED) == {route for route, _ in SENDS}  # a new send route is placed in EXPECTED
    lead_id = phoneless_lead(world)
    answer = call("POST", path, token=world.agent.token(), json_body={"leadId": lead_id} | body)
    assert answer.status == EXPECTED[path], (path, answer.status, answer.body)
    if answer.status == 409:
        assert answer.error["code"] == "FAILED_PRECONDITION" and "no phone" in answer.error["message"]
