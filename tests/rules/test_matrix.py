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
