"""firestore.rules on the official emulator, cell by cell: every caller against every row of
tests/rules/matrix.py, through the REST API with the caller's emulator ID token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.rules.firestore_rest import Client, UnexpectedReply
from tests.rules.matrix import CALLER_KEYS, LEGEND, ROWS, Row, fill
from tests.rules.report import REPORT, Cell
from tests.rules.world import Caller, World, seed

pytestmark = pytest.mark.rules

ARCHITECTURE = "docs/architecture.md"


@pytest.fixture(scope="module")
def world(firestore_emulator: str) -> World:
    """Both organizations seeded once for the module with the admin client (which skips the rules)."""
    from core import clients, tenancy
    from devtools import emulators

    emulators.clear_firestore(firestore_emulator, "demo-justo")
    tenancy.cache.clear()
    built = seed(clients.db())
    REPORT.columns = [(caller.key, caller.label) for caller in built.callers]
    REPORT.legend = LEGEND
    return built


@pytest.fixture(scope="module")
def rest(firestore_emulator: str, world: World) -> Iterator[dict[str, Client]]:
    """One REST client per caller."""
    made = {caller.key: Client(firestore_emulator, caller.token) for caller in world.callers}
    yield made
    for client in made.values():
        client.session.close()


def _cell(row: Row, caller: Caller, world: World, client: Client, db: Any) -> Cell:
    expected = caller.key in row.allowed
    if row.reset is not None:
        assert row.path is not None
        db.document(fill(row.path, caller, world)).set(row.reset)
    before = row.state(db, caller, world) if row.path else None
    try:
        allowed: bool | None = row.act(client, caller, world)
    except UnexpectedReply as error:
        return Cell(None, expected, str(error))
    if row.path is None:
        return Cell(allowed, expected)
    after = row.state(db, caller, world)
    if allowed and after == before:
        return Cell(allowed, expected, "allowed, but the document did not change")
    if not allowed and after != before:
        return Cell(allowed, expected, f"denied, but the document changed: {before} -> {after}")
    return Cell(allowed, expected)


@pytest.mark.parametrize("index", range(len(ROWS)), ids=[row.id for row in ROWS])
def test_row(index: int, world: World, rest: dict[str, Client]) -> None:
    from core import clients

    row = ROWS[index]
    db = clients.db()
    cells = {caller.key: _cell(row, caller, world, rest[caller.key], db) for caller in world.callers}
    REPORT.rows[index] = (row.collection, row.operation, row.target, cells)
    wrong = {
        key: f"{'allowed' if cell.allowed else 'denied' if cell.allowed is False else 'error'}"
        f" (expected {'allowed' if cell.expected else 'denied'}) {cell.note}".strip()
        for key, cell in cells.items()
        if not cell.ok
    }
    assert not wrong, f"{row.id}: {wrong}"


def test_rows_name_only_known_callers(world: World) -> None:
    assert tuple(caller.key for caller in world.callers) == CALLER_KEYS
    unknown = {row.id: row.allowed - set(CALLER_KEYS) for row in ROWS if row.allowed - set(CALLER_KEYS)}
    assert not unknown
    assert len({row.id for row in ROWS}) == len(ROWS), "row ids must be unique"


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


# Every denied request of the matrix logs "WARNING: Operation failed: ..."; anything else is a finding.
EXPECTED_LOG_LINE = re.compile(r"^WARNING: Operation failed:")


def test_emulator_log_has_no_warnings_but_denials(firestore_emulator: str) -> None:
    """After the matrix: the jar's log (devtools/emulators.py writes it) holds no warning or error but denials."""
    from devtools import toolchain

    port = firestore_emulator.rsplit(":", 1)[1]
    log = toolchain.CACHE / f"firestore-{port}.log"
    assert log.exists(), f"no emulator log at {log}"
    findings = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if re.match(r"^(WARNING|SEVERE|ERROR)\b", line) and not EXPECTED_LOG_LINE.match(line)
    ]
    assert findings == []


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
