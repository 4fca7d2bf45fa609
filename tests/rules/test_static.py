"""The rules and their matrix checked as text, without the emulator: every collection of the data model and of
the code has its rows, no row lets an ended session in, and every allow statement asks for a live session."""

from __future__ import annotations

import re

import pytest

from tests.rules.matrix import ROWS

pytestmark = pytest.mark.unit

ARCHITECTURE = "docs/architecture.md"


def _data_model_collections() -> set[str]:
    from tests.conftest import ROOT

    text = (ROOT / ARCHITECTURE).read_text()
    section = text.split("## Firestore data model", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        for path in re.findall(r"`([^`]+)`", first_cell):
            names.update(part for i, part in enumerate(path.split("/")) if i % 2 == 0 and part != "*")
    return names


def test_every_collection_of_the_data_model_has_every_operation_in_the_matrix() -> None:
    collections = _data_model_collections()
    assert {"leads", "private", "activity", "notifications", "platform"} <= collections  # the parse worked
    missing: dict[str, set[str]] = {}
    for name in sorted(collections):
        pattern = re.compile(rf"(^|/){re.escape(name)}(/|$| )")
        operations = {row.operation for row in ROWS if pattern.search(row.target.split(" (")[0].split(" {")[0])}
        operations |= {row.operation for row in ROWS if row.operation == "list" and f" {name}" in f" {row.target}"}
        operations = {"update" if op == "upsert" else op for op in operations}
        lacking = {"get", "list", "create", "update", "delete"} - operations
        if lacking:
            missing[name] = lacking
    assert not missing, f"collections of {ARCHITECTURE} without these operations in the matrix: {missing}"


def _collections_in_code() -> set[str]:
    """Collection names the functions name: collection("x") and collection(CONSTANT) with CONSTANT = "x"."""
    from tests.conftest import ROOT

    names: set[str] = set()
    for path in (ROOT / "functions").rglob("*.py"):
        if "venv" in path.parts:
            continue
        text = path.read_text()
        constants = dict(re.findall(r'^([A-Z_]+) = "([A-Za-z]+)"', text, flags=re.MULTILINE))
        names.update(re.findall(r'\.collection\("([A-Za-z]+)"\)', text))
        names.update(constants[c] for c in re.findall(r"\.collection\(([A-Z_]+)\)", text) if c in constants)
    return names


def test_every_collection_the_functions_name_is_in_the_matrix() -> None:
    in_code = _collections_in_code()
    assert {"leads", "members", "otpChallenges"} <= in_code  # the scan worked
    in_matrix = {part for row in ROWS for part in re.split(r"[/ ]", row.target)}
    assert in_code - in_matrix == set(), "add rows for these collections to tests/rules/matrix.py"


def test_no_row_allows_a_caller_whose_session_ended() -> None:
    """A dismissed, logged-out or lapsed caller is denied everywhere, so a new row cannot list one as allowed."""
    from tests.rules.matrix import ENDED

    allowing = {row.id: sorted(row.allowed & set(ENDED)) for row in ROWS if row.allowed & set(ENDED)}
    assert allowing == {}


def _allow_statements(source: str) -> list[str]:
    """The condition of every `allow ...: if ...;` statement of a rules source, comments removed."""
    code = re.sub(r"//[^\n]*", "", source)
    return [" ".join(c.split()) for c in re.findall(r"\ballow\s+[a-z, ]+:\s*if\s+(.*?);", code, flags=re.DOTALL)]


def test_every_allow_of_the_rules_asks_for_a_live_session() -> None:
    """Every statement that lets a client read or write checks the session first (inOrg, or ownFeed for the
    feed); both end in sessionAlive, which reads the member record and the organization. A new match block
    (a new listener path) that forgets it fails here, before any cell is run."""
    from tests.conftest import ROOT

    source = (ROOT / "firestore.rules").read_text()
    statements = _allow_statements(source)
    assert len(statements) >= 10, statements  # the parse found them
    unguarded = [c for c in statements if not re.search(r"\b(inOrg|ownFeed)\(", c)]
    assert unguarded == []
    for guard in ("inOrg", "ownFeed"):
        body = re.search(rf"function {guard}\([^)]*\)\s*\{{(.*?)\}}", source, flags=re.DOTALL)
        assert body and "sessionAlive(" in body.group(1), f"{guard} must check sessionAlive"


def test_the_allow_check_sees_an_unguarded_statement() -> None:
    """Control: a statement without the session check is found."""
    assert _allow_statements("match /x/{y} {\n  allow read: if request.auth != null; // no session\n}") == [
        "request.auth != null"
    ]
