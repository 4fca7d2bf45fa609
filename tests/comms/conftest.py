"""Fixtures of the comms tests: an organization with templates, members and leads; provider stubs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from core.caller import SYSTEM
from tests.comms.stub import stub  # noqa: F401 - the shared provider stub fixture
from tests.support.factory import Person, add_person, make_org
from tests.support.leads import set_settings as set_org_settings  # noqa: F401 - the comms tests' name for it

LEAD_PHONE = "+919876543210"
LEAD_EMAIL = "asha.buyer@example.com"


@dataclass
class World:
    """An organization as the comms tests use it."""

    admin: Person
    manager: Person
    agent: Person
    other_agent: Person
    lead_id: str


def make_lead(
    org_id: str,
    *,
    assignee: str,
    phone: str = "98765 43210",
    emails: tuple[str, ...] = (LEAD_EMAIL,),
    opt_ins: tuple[str, ...] = ("whatsapp", "sms", "email"),
    do_not_contact: tuple[str, ...] = (),
    name: str = "Asha Buyer",
) -> str:
    """A lead created through the leads service (private contact, keys and all)."""
    from leads.models import LeadCreate
    from leads.service import create_lead

    data = LeadCreate.model_validate(
        {
            "name": name,
            "primaryPhone": {"countryCode": "+91", "number": phone},
            "emails": list(emails),
            "optIns": list(opt_ins),
            "doNotContact": list(do_not_contact),
            "assigneeId": assignee,
        }
    )
    return str(create_lead(org_id=org_id, actor=SYSTEM, data=data).id)


# org1's own WhatsApp number, token, DLT entity and header, email sender and caller id, as the stub-server
# tests expect them.
OWN_CHANNELS: dict[str, dict[str, Any]] = {
    "whatsapp": {"phoneNumberId": "109876543210", "wabaId": "102290129340398", "accessToken": "EAAtest"},
    "sms": {"dltEntityId": "1101000000000000001", "senderIds": ["JUSTOL", "100200"]},
    "email": {"fromAddress": "sales@org1.example.com", "fromName": "Org One Homes", "replyTo": None},
    "voice": {"callerIds": ["+918045678900"]},
}


@pytest.fixture
def world(db: Any) -> World:
    """org1 with seeded templates, a manager and two agents of team north, and a lead of the first agent."""
    from comms import channels
    from comms.seed import seed

    admin = make_org()
    manager = add_person("org1", "manager", "north")
    agent = add_person("org1", "agent", "north")
    other = add_person("org1", "agent", "north")
    seed("org1", None)
    channels.save("org1", OWN_CHANNELS)
    return World(admin, manager, agent, other, make_lead("org1", assignee=agent.uid))


@pytest.fixture(autouse=True)
def _fresh_adapters() -> Iterator[None]:
    """Every test starts and ends with the configured adapters."""
    from comms import config, providers
    from core import mail

    providers.install()
    config.reset()
    yield
    providers.install()
    config.reset()
    mail.install(None)
