"""Turning phone masking on or off rewrites every lead's phones, and none of those writes is "Your lead was
updated" for its agent; a new number still is."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import strategies as st

from core import tenancy
from core.caller import SYSTEM
from leads import phones
from tests.support.factory import add_person, make_org
from tests.support.outbox import feed
from triggers.notifications import handle_lead

pytestmark = pytest.mark.service

indian_mobiles = st.from_regex(r"9[6-9][0-9]{8}", fullmatch=True)


def _lead(primary: str, alternate: str | None, *, masked: bool) -> dict[str, Any]:
    def stored(number: str) -> dict[str, Any]:
        return dict(phones.parse(number, "+91", default_country_code="+91", field="p").stored(masked=masked))

    return {
        "name": "Ravi Buyer",
        "stage": "new",
        "assigneeId": "agent-a",
        "teamId": "north",
        "updatedBy": "manager",  # the last person to change the lead was someone else
        "version": 3,
        "primaryPhone": stored(primary),
        "alternatePhone": stored(alternate) if alternate else None,
    }


def test_toggling_the_real_masking_rewrite_sends_no_update_push(db: Any, tasks_queue: Any) -> None:
    """The documents the leadmasking trigger's rewrite really writes (whatever fields it touches) go through
    the lead trigger: the agents hear nothing, either way."""
    from leads.models import LeadCreate
    from leads.service import apply_masking, create_lead
    from leads.store import collection as leads_collection
    from leads.store import ref as lead_ref

    make_org()
    agent = add_person("org1", "agent", "north")
    for index in range(3):
        body = {"name": f"Buyer {index}", "primaryPhone": {"number": f"98765 4321{index}"}, "assigneeId": agent.uid}
        if index == 1:
            body["alternatePhone"] = {"number": "91234 56789"}
        create_lead(org_id="org1", actor=SYSTEM, data=LeadCreate.model_validate(body))
    ids = [snapshot.id for snapshot in leads_collection("org1").stream()]
    for masked in (True, False):
        tenancy.org_ref("org1").update({"settings.phoneMasking": masked})
        before = {lead_id: lead_ref("org1", lead_id).get().to_dict() for lead_id in ids}
        assert apply_masking("org1") == 3  # reads the flag just set
        for lead_id in ids:
            after = lead_ref("org1", lead_id).get().to_dict()
            assert after != before[lead_id]
            assert handle_lead(f"mask-{masked}-{lead_id}", "org1", lead_id, before[lead_id], after) == 0
    assert feed(agent.uid) == []
