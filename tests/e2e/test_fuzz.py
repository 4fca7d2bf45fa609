"""A bounded schemathesis run through the Emulator Suite with a real ID token: no 5xx, and every response
matches docs/openapi.json. (`make fuzz` is the long run.)"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bench import fuzz
from devtools import emulators, stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def reseeded_afterwards(suite: str) -> Iterator[str]:
    """The fuzzer changes settings, adds members and spends throttles: put the seed back for the next test."""
    yield suite
    from core import settings, tenancy
    from devtools import seed

    emulators.clear_firestore(f"127.0.0.1:{stack.PORTS['firestore']}", stack.PROJECT)
    tenancy.cache.clear()
    seed.seed()
    # the running function instances trust the member records they read for MEMBER_CACHE_SECONDS:
    # wait them out, as a client would after an admin change, so the next test sees the seed
    time.sleep(settings.get().member_cache_seconds + 1)


def test_fuzzing_every_operation_finds_no_server_error_and_no_schema_mismatch(reseeded_afterwards: str) -> None:
    token = stack.login(reseeded_afterwards, "admin@demo.example.com")
    result = fuzz.run(reseeded_afterwards, token, max_examples=4, max_time=150, seed=8)
    if not result.passed and result.only_emulator_resets:
        # Under load the Functions emulator sometimes drops a worker's socket and answers 500
        # `{"code":"ECONNRESET"}` itself, without a Content-Type: that answer never comes from our handlers
        # (they always answer API.md's error shape), so it is reported, not failed on. `make fuzz` keeps it.
        print(f"fuzz: the emulator reset {result.output.count('ECONNRESET')} connections; no handler 5xx")
        return
    assert result.passed, result.summary()
