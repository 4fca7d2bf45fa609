"""Test tiers, each runnable alone: unit, service (Firestore emulator), http (real handlers on the
Firestore and Auth emulators), rules (firestore.rules on the Firestore emulator), e2e (the whole suite),
prod (every deployed function started as Cloud Functions starts it, against loopback stand-ins)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT))

PROJECT = "demo-justo"
os.environ.update({"JUSTO_ENV": "test", "GCLOUD_PROJECT": PROJECT, "GOOGLE_CLOUD_PROJECT": PROJECT})
# Token verification in emulator mode; replaced by a real Auth emulator where a test needs one.
os.environ.setdefault("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9")
os.environ.pop("FIRESTORE_EMULATOR_HOST", None)

TIERS = ("unit", "service", "http", "rules", "e2e", "prod")
_outcomes: Counter[tuple[str, str]] = Counter()


def pytest_configure(config: pytest.Config) -> None:
    """Declare the tier markers."""
    for tier in TIERS:
        config.addinivalue_line("markers", f"{tier}: the {tier} test tier")


def _tier(item: pytest.Item) -> str:
    marks = [tier for tier in TIERS if item.get_closest_marker(tier)]
    if len(marks) != 1:
        raise pytest.UsageError(f"{item.nodeid} must carry exactly one tier marker of {TIERS}, has {marks}")
    return marks[0]


# Fixtures that start an emulator (Java for Firestore, firebase-tools for Auth, a process for Storage), with
# everything built on them: the unit tier may use none; the service, http, rules and e2e tiers need one.
EMULATOR_FIXTURES = frozenset({"firestore_emulator", "auth_emulator", "storage_emulator", "own_firestore", "suite"})
NEEDS_EMULATOR = ("service", "http", "rules", "e2e")


def tier_misfit(tier: str, fixturenames: Any) -> str | None:
    """Why a test of this tier may not use these fixtures (None when it may)."""
    emulators = sorted(EMULATOR_FIXTURES.intersection(fixturenames))
    if tier == "unit" and emulators:
        return f"is a unit test but starts {emulators}: the unit tier runs without Java or emulators"
    if tier in NEEDS_EMULATOR and not emulators:
        return f"is a {tier} test that needs no emulator: pure logic belongs in the unit tier"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test belongs to exactly one tier, and the tier matches what it starts."""
    misfits = [(item.nodeid, tier_misfit(_tier(item), getattr(item, "fixturenames", ()))) for item in items]
    wrong = [f"{nodeid} {misfit}" for nodeid, misfit in misfits if misfit]
    if wrong:
        raise pytest.UsageError("\n".join(wrong))


class EmulatorInUnitTier(RuntimeError):
    """A unit test tried to start an emulator itself."""


@pytest.fixture(autouse=True)
def _unit_tests_start_no_emulator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the unit tier, starting an emulator or the suite from a test body fails too (the collection guard
    only sees fixtures)."""
    if request.node.get_closest_marker("unit") is None:
        return
    from devtools import emulators, stack

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise EmulatorInUnitTier("a unit test may not start an emulator: mark it service, http or e2e")

    monkeypatch.setattr(emulators.Emulator, "start", refuse)
    monkeypatch.setattr(stack.Stack, "start", refuse)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count outcomes per tier."""
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        tier = next((t for t in TIERS if t in report.keywords), "?")
        _outcomes[(tier, report.outcome)] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print how many tests ran per tier."""
    tiers = sorted({tier for tier, _ in _outcomes}, key=lambda t: TIERS.index(t) if t in TIERS else 99)
    if not tiers:
        return
    terminalreporter.section("tests per tier")
    for tier in tiers:
        counts = ", ".join(
            f"{_outcomes[(tier, o)]} {o}" for o in ("passed", "failed", "skipped") if _outcomes[(tier, o)]
        )
        terminalreporter.write_line(f"{tier:8} {counts}")


# ---- emulators -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[str]:
    """The official Firestore emulator jar on a free port, loaded with firestore.rules."""
    from devtools import emulators

    try:
        emulator = emulators.firestore().start()
    except FileNotFoundError as error:
        pytest.skip(f"Firestore emulator unavailable: {error}")
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    _reset_process_state()
    yield emulator.host
    emulator.stop()
    os.environ.pop("FIRESTORE_EMULATOR_HOST", None)


@pytest.fixture(scope="session")
def auth_emulator(firestore_emulator: str) -> Iterator[str]:
    """The firebase-tools Auth emulator on a free port."""
    from devtools import emulators

    emulator = emulators.auth()
    try:
        emulator.start(timeout=90)
    except (FileNotFoundError, RuntimeError) as error:
        pytest.skip(f"Auth emulator unavailable: {error}")
    previous = os.environ.get("FIREBASE_AUTH_EMULATOR_HOST")
    os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = emulator.host
    _reset_process_state()
    yield emulator.host
    emulator.stop()
    if previous:
        os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = previous
    _reset_process_state()


def _reset_process_state() -> None:
    """Forget clients and settings built for another emulator."""
    import firebase_admin

    from core import clients, settings, tenancy

    with contextlib.suppress(ValueError):
        firebase_admin.delete_app(firebase_admin.get_app())
    clients.firebase_app.cache_clear()
    clients.reset()
    settings.reset()
    tenancy.cache.clear()


@pytest.fixture
def db(firestore_emulator: str) -> Iterator[Any]:
    """An empty Firestore database for one test."""
    from core import clients, tenancy
    from devtools import emulators

    emulators.clear_firestore(firestore_emulator, PROJECT)
    tenancy.cache.clear()
    yield clients.db()


@pytest.fixture
def clock() -> Iterator[Any]:
    """A clock the test can move; restored afterwards."""
    from datetime import UTC, datetime

    from core import clock as clock_module

    fixed = clock_module.FixedClock(datetime(2026, 11, 25, 6, 0, tzinfo=UTC))
    previous = clock_module.install(fixed)
    yield fixed
    clock_module.install(previous)


from tests.support.storage import bucket, storage_emulator  # noqa: E402, F401 - fixtures for every tier
