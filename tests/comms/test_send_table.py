"""The seed test's table of send routes covers every comms POST route, without an emulator."""

from __future__ import annotations

import pytest

from tests.comms.test_seed import SENDS

pytestmark = pytest.mark.unit

# POST routes of comms that reach no lead: an admin's template registration and sync (tests/comms/test_templates.py),
# the VoIP registration token (tests/comms/test_calls.py), marking a thread read (tests/comms/test_conversations.py).
NOT_SENDS = {
    "/comms/templates",
    "/comms/templates/sync",
    "/comms/voip/token",
    "/comms/conversations/{conversation_id}/read",
}


def test_the_send_table_covers_every_comms_route_that_reaches_a_lead() -> None:
    from comms.api import router

    posts = {f"/comms{route.path}" for route in router.routes if route.method == "POST"}
    assert posts - NOT_SENDS == {path for path, _ in SENDS}
