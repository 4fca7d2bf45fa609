"""The tier guard of tests/conftest.py: a unit test starts no emulator (so the unit tier runs without Java), and a
service or http test that starts none is pure logic filed in the wrong tier."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import EMULATOR_FIXTURES, NEEDS_EMULATOR, ROOT, TIERS, EmulatorInUnitTier, tier_misfit

pytestmark = pytest.mark.unit

# What a fixture's body says when it starts an emulator or a process serving as one.
STARTS_AN_EMULATOR = ("emulators.", "Popen(", "Stack(", "create_server(")


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("fixture", sorted(EMULATOR_FIXTURES))
def test_only_the_unit_tier_is_refused_an_emulator(tier: str, fixture: str) -> None:
    misfit = tier_misfit(tier, ["clock", fixture, "tmp_path"])
    assert (misfit is not None) is (tier == "unit")
    if misfit:
        assert fixture in misfit and "without Java" in misfit


@pytest.mark.parametrize("tier", TIERS)
def test_a_test_without_an_emulator_belongs_in_the_unit_tier(tier: str) -> None:
    misfit = tier_misfit(tier, ["clock", "monkeypatch"])
    assert (misfit is not None) is (tier in NEEDS_EMULATOR)
    if misfit:
        assert tier in misfit and "unit tier" in misfit


def _fixtures() -> dict[str, tuple[set[str], bool]]:
    """Every fixture under tests/: the fixtures it asks for, and whether its body starts an emulator."""
    found: dict[str, tuple[set[str], bool]] = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef):
                continue
            if not any("fixture" in ast.unparse(decorator) for decorator in node.decorator_list):
                continue
            body = ast.get_source_segment(source, node) or ""
            asks = {arg.arg for arg in node.args.args}
            found[node.name] = (
                asks | found.get(node.name, (set(), False))[0],
                any(m in body for m in STARTS_AN_EMULATOR),
            )
    return found


def test_every_fixture_that_starts_an_emulator_is_known_to_the_guard() -> None:
    fixtures = _fixtures()
    standing = set(EMULATOR_FIXTURES)  # fixtures standing on an emulator the guard knows, directly or not
    while grown := {name for name, (asks, _) in fixtures.items() if asks & standing} - standing:
        standing |= grown
    assert {"db", "bucket", "world"} <= standing  # the walk worked
    standing.add("_unit_tests_start_no_emulator")  # names the emulators to refuse them
    unknown = sorted(name for name, (_, starts) in fixtures.items() if starts and name not in standing)
    assert unknown == [], "add these to EMULATOR_FIXTURES in tests/conftest.py"


def test_every_emulator_fixture_of_the_guard_still_exists() -> None:
    assert set(EMULATOR_FIXTURES) <= set(_fixtures())


def test_one_storage_emulator_serves_every_tier() -> None:
    starting = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "tests").rglob("*.py")
        if path.name != "test_tiers.py"
        and any(name in path.read_text() for name in ("gcp_storage_emulator", "gcp-storage-emulator"))
    }
    assert starting == {"tests/support/storage.py"}
    definitions = [
        (str(path.relative_to(ROOT)), node.name)
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef) and node.name in {"storage_emulator", "bucket"}
    ]
    assert definitions == [("tests/support/storage.py", "storage_emulator"), ("tests/support/storage.py", "bucket")]


def test_a_unit_test_that_starts_an_emulator_itself_fails() -> None:
    from devtools import emulators, stack

    with pytest.raises(EmulatorInUnitTier):
        emulators.Emulator("firestore", ["java", "-version"], 1, "http://127.0.0.1:1/").start()
    with pytest.raises(EmulatorInUnitTier):
        stack.Stack().start()
