"""The chain check as a pure function over entries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from core.audit import GENESIS, entry_hash, entry_id, verify_entries

pytestmark = pytest.mark.unit


def _chain(count: int, start: int = 1, previous: str = GENESIS) -> list[tuple[str, dict[str, Any]]]:
    entries = []
    for seq in range(start, start + count):
        entry: dict[str, Any] = {"seq": seq, "action": "login", "actorId": "u", "targetId": None, "details": {},
                                 "createdAt": datetime(2026, 1, 1, tzinfo=UTC), "prevHash": previous}  # fmt: skip
        entry["hash"] = entry_hash(previous, entry)
        previous = entry["hash"]
        entries.append((entry_id(seq), entry))
    return entries


def test_a_chain_from_an_anchor_verifies_and_older_leftovers_are_ignored() -> None:
    full = _chain(10)
    anchor_id, anchor = full[3]
    kept = full[2:]  # two entries before the anchor were not deleted yet
    verdict = verify_entries(kept, anchor_seq=anchor["seq"], anchor_hash=anchor["hash"], head_seq=10,
                             head_hash=full[-1][1]["hash"])  # fmt: skip
    assert verdict.ok and verdict.checked == 6 and anchor_id == "000000000004"


def test_a_wrong_anchor_names_the_first_kept_entry() -> None:
    full = _chain(5)
    verdict = verify_entries(full[2:], anchor_seq=2, anchor_hash="f" * 64)
    assert not verdict.ok and verdict.entry_id == "000000000003"


def test_an_entry_out_of_order_is_named() -> None:
    full = _chain(3)
    verdict = verify_entries([full[0], ("000000000001x", full[1][1])])
    assert not verdict.ok
