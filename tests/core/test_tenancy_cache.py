"""The per-instance cache's "read in this request" (core.tenancy.org_now's shortcut): only the very handling
that made a read may stand on it, and only for moments; an earlier request's copy, an event redelivered with
the same id, or a read made outside any request never passes for a fresh one."""

from __future__ import annotations

from typing import Any

import pytest

from core import logs, tenancy

pytestmark = pytest.mark.unit


class _Snapshot:
    exists = True

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value

    def to_dict(self) -> dict[str, Any]:
        return self.value


def _read(cache: tenancy.TtlCache, value: dict[str, Any]) -> None:
    cache.get("orgs/o1", fresh=True, reader=lambda: _Snapshot(value))


def test_a_read_stands_for_now_only_inside_the_handling_that_made_it() -> None:
    cache = tenancy.TtlCache()
    with logs.request(request_id="event-1"):
        _read(cache, {"n": 1})
        assert cache.read_in_this_request("orgs/o1") == (True, {"n": 1})
        assert cache.read_in_this_request("orgs/o2") == (False, None)
    with logs.request(request_id="event-1"):  # a redelivery with the same id is another handling
        assert cache.read_in_this_request("orgs/o1") == (False, None)
    assert cache.read_in_this_request("orgs/o1") == (False, None)  # outside any request


def test_a_read_made_outside_a_request_or_too_long_ago_is_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tenancy.TtlCache()
    _read(cache, {"n": 1})
    with logs.request():
        assert cache.read_in_this_request("orgs/o1") == (False, None)
        _read(cache, {"n": 2})
        later = tenancy.time.monotonic() + tenancy.SAME_REQUEST_SECONDS + 0.1
        monkeypatch.setattr(tenancy.time, "monotonic", lambda: later)
        assert cache.read_in_this_request("orgs/o1") == (False, None)
