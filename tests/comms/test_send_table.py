"""The seed test's table of send routes covers every comms POST route, without an emulator."""

from __future__ import annotations

import pytest

from tests.comms.test_seed import SENDS

pytestmark = pytest.mark.unit


def test_the_send_table_covers_every_comms_route_that_reaches_a_lead() -> None:
    from comms.api import router

    posts = {f"/comms{route.path}" for route in router.routes if route.method == "POST"}
    assert posts - NOT_TO_A_LEAD == {path for path, _ in SENDS}


# POST routes of comms that reach no lead (tests/comms/test_calls.py, tests/comms/test_conversations.py).
NOT_TO_A_LEAD = {"/comms/voip/token", "/comms/conversations/{conversation_id}/read"}
