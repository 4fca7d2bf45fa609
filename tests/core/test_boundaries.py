"""Layering: core (the ground floor) imports no feature package, lazily or not, its modules form no circle,
and bench/ imports no test code."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
CORE = FUNCTIONS / "core"
# Every top-level package or module of functions/ that is not core: features, triggers, main, registry.
FEATURES = frozenset(
    path.stem
    for path in FUNCTIONS.iterdir()
    if path.name not in {"core", "venv"}
    and not path.name.startswith((".", "_"))
    and (path.suffix == ".py" or (path.is_dir() and any(path.glob("*.py"))))
)


def module_name(path: Path, base: Path) -> str:
    """The dotted name of a source file under base (a package's __init__ is the package)."""
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, base: Path) -> set[str]:
    """Every module a file imports anywhere in it (top level, in functions, under TYPE_CHECKING), resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path, base) if path.name == "__init__.py" else module_name(path, base).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                source = node.module or ""
            if source:
                found.add(source)
            # `from core import http` imports the module core.http, not only the package.
            found.update(".".join(filter(None, [source, alias.name])) for alias in node.names if alias.name != "*")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def core_files() -> list[Path]:
    """Every source file of core."""
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 10, "core's sources were not found"
    return files


def test_core_imports_no_feature_package() -> None:
    """No module of core imports a feature package, even inside a function."""
    assert {"devices", "leads", "auth", "triggers"} <= FEATURES
    leaks = {
        f"{path.relative_to(FUNCTIONS)} imports {name}"
        for path in core_files()
        for name in imported_modules(path, FUNCTIONS)
        if name.split(".")[0] in FEATURES
    }
    assert not leaks, sorted(leaks)


def test_bench_imports_no_test_code() -> None:
    """The benchmarks use devtools (the in-process caller, tokens), never a module of tests/."""
    files = sorted((ROOT / "bench").rglob("*.py"))
    assert files, "bench's sources were not found"
    leaks = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in imported_modules(path, ROOT)
        if name.split(".")[0] == "tests"
    }
    assert not leaks, sorted(leaks)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of graph (module -> modules it imports), as the path around it, or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def test_core_modules_import_no_circle() -> None:
    """No chain of imports inside core leads back to where it started (type-only and lazy ones included)."""
    files = core_files()
    modules = {module_name(path, FUNCTIONS) for path in files}
    graph = {
        module_name(path, FUNCTIONS): (imported_modules(path, FUNCTIONS) & modules) - {module_name(path, FUNCTIONS)}
        for path in files
    }
    assert "core.idempotency" in graph["core.http"], "the walk lost the router's idempotency step"
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


@pytest.mark.parametrize(
    ("graph", "cyclic"),
    [
        ({"a": {"b"}, "b": {"a"}}, True),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
        ({"a": {"b", "c"}, "b": {"c"}, "c": set()}, False),
        ({"a": {"a"}}, True),
    ],
)
def test_the_cycle_search_finds_circles(graph: dict[str, set[str]], cyclic: bool) -> None:
    """The circle search itself reports a circle of any length and passes a diamond."""
    cycle = find_cycle(graph)
    assert (cycle is not None) == cyclic
    if cycle:
        assert cycle[0] == cycle[-1] and all(b in graph[a] for a, b in itertools.pairwise(cycle))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import devices.service", "devices.service"),
        ("def f():\n    from devices.service import tokens_of", "devices.service"),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from leads import models", "leads.models"),
        ("import importlib\nimportlib.import_module('triggers.masking')", "triggers.masking"),
        ("from .. import registry", "registry"),
        ("from . import http", "core.http"),
    ],
)
def test_the_walk_sees_every_kind_of_import(tmp_path: Path, source: str, expected: str) -> None:
    """The checker itself finds lazy, type-only, dynamic and relative imports (so its silence means something)."""
    (tmp_path / "core").mkdir()
    path = tmp_path / "core" / "probe.py"
    path.write_text(source)
    assert expected in imported_modules(path, tmp_path)
