"""Schemathesis hooks of `bench.fuzz` (loaded through SCHEMATHESIS_HOOKS).

The fuzzer learns member ids from the responses (GET /members) and may send them back in any route's `{uid}`.
Sent back with its own uid, a change ends its own session as logout would (a team change: "Your role changed;
sign in again"), and the rest of the run is 401s that test nothing. So a write aimed at the fuzzing member
goes to a member that does not exist instead; changing one's own record is tested in the service and http
tiers (tests/members, tests/auth).
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

SELF = os.environ.get("JUSTO_FUZZ_UID", "")
NOBODY = "fuzz-not-a-member"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Aim a write at the fuzzing member's own uid at nobody instead."""
    parameters = case.path_parameters
    if SELF and case.method.upper() != "GET" and parameters and parameters.get("uid") == SELF:
        parameters["uid"] = NOBODY
