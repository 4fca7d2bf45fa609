"""The hash chain: intact trails verify; altering or deleting one entry fails the check and names it."""

from __future__ import annotations

from typing import Any

import pytest

from core import audit
from ops.cli import main as cli

pytestmark = pytest.mark.service


def _trail(count: int = 6) -> list[str]:
    return [audit.record("org1", "login", actor=f"u{i}", attemptsLeft=i) for i in range(count)]


def test_an_untouched_trail_verifies(db: Any, capsys: Any) -> None:
    _trail()
    verdict = audit.verify("org1")
    assert verdict.ok and verdict.checked == 6
    assert cli(["audit-verify", "--org", "org1"]) == 0
    assert "6 entries verified" in capsys.readouterr().out


def test_altering_one_entry_names_it(db: Any, capsys: Any) -> None:
    ids = _trail()
    audit.entries_ref("org1").document(ids[2]).update({"actorId": "someone-else"})
    verdict = audit.verify("org1")
    assert not verdict.ok and verdict.problem == "altered" and verdict.entry_id == ids[2] == "000000000003"
    assert cli(["audit-verify", "--org", "org1"]) == 1
    assert "000000000003" in capsys.readouterr().out


def test_altering_an_entry_and_recomputing_its_hash_still_names_it(db: Any) -> None:
    ids = _trail()
    ref = audit.entries_ref("org1").document(ids[3])
    entry = ref.get().to_dict()
    entry["details"] = {"attemptsLeft": 99}
    entry["hash"] = audit.entry_hash(entry["prevHash"], entry)
    ref.set(entry)
    verdict = audit.verify("org1")
    assert not verdict.ok and verdict.entry_id == ids[3]


def test_deleting_an_entry_in_the_middle_names_the_missing_one(db: Any) -> None:
    ids = _trail()
    audit.entries_ref("org1").document(ids[1]).delete()
    verdict = audit.verify("org1")
    assert not verdict.ok and verdict.problem == "missing" and verdict.entry_id == ids[1]


def test_deleting_the_newest_entry_is_caught_against_the_head(db: Any) -> None:
    ids = _trail()
    audit.entries_ref("org1").document(ids[-1]).delete()
    verdict = audit.verify("org1")
    assert not verdict.ok and verdict.problem == "missing" and verdict.entry_id == ids[-1]


def test_deleting_the_first_entry_is_caught(db: Any) -> None:
    ids = _trail()
    audit.entries_ref("org1").document(ids[0]).delete()
    verdict = audit.verify("org1")
    assert not verdict.ok and verdict.entry_id == ids[0]


def test_an_organization_without_a_trail_verifies_empty(db: Any) -> None:
    assert audit.verify("nobody").ok and audit.verify("nobody").checked == 0
