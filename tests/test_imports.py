"""No import circle between the top-level packages of functions/: every `import` and `from ... import` counts,
at module level or inside a function (a lazy import only hides a circle until the code runs), so each package
sits above the ones it uses and can be read, tested and changed without the ones that use it."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"

# Circles that exist on main and that another branch is removing: each entry names the work that removes it,
# and test_known_circles_still_exist fails once it is gone, so the allowance cannot outlive the circle.

Edge = tuple[str, str, str]  # (importing package, imported package, "path:line" of the import)


def _units(root: Path) -> set[str]:
    """The top-level packages (directories with __init__.py) and modules of a source root."""
    packages = {path.name for path in root.iterdir() if (path / "__init__.py").is_file()}
    modules = {path.stem for path in root.glob("*.py")}
    return packages | modules


def import_edges(root: Path) -> list[Edge]:
    """Every import of one top-level unit of root by another, wherever in the file it is written."""
    units = _units(root)
    edges: list[Edge] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        source = relative.parts[0].removesuffix(".py")
        if source not in units:
            continue  # a virtualenv or other tree under functions/ that is not ours
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue  # relative imports stay inside their own package
            for name in names:
                target = name.partition(".")[0]
                if target in units and target != source:
                    edges.append((source, target, f"{relative}:{node.lineno}"))
    return edges


def circles(edges: list[Edge]) -> list[frozenset[str]]:
    """The groups of units that import each other, directly or through others (strongly connected, size > 1)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target, _ in edges:
        graph[source].add(target)
        graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        # Tarjan's algorithm; the graph has a few dozen nodes, so recursion depth is no concern
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _where(edges: list[Edge], group: frozenset[str]) -> list[str]:
    return sorted(f"{source} -> {target} ({where})" for source, target, where in edges if {source, target} <= group)


def test_no_import_circle_between_packages() -> None:
    """No two packages of functions/ import each other, directly or through a third."""
    edges = import_edges(FUNCTIONS)
    new = list(circles(edges))
    assert not new, "import circles: " + "; ".join(", ".join(_where(edges, group)) for group in new)


def test_comms_imports_nothing_from_webhooks() -> None:
    """comms owns the inbound side; webhooks only checks signatures and calls comms (never the other way)."""
    imports = [where for source, target, where in import_edges(FUNCTIONS) if (source, target) == ("comms", "webhooks")]
    assert not imports, f"comms imports webhooks at {imports}"
    assert any((source, target) == ("webhooks", "comms") for source, target, _ in import_edges(FUNCTIONS)), (
        "webhooks no longer calls comms: this test no longer guards anything"
    )


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # a lazy import inside a function closes the circle as much as one at the top
        (
            {
                "a/__init__.py": "",
                "a/x.py": "import b.y\n",
                "b/__init__.py": "",
                "b/y.py": "def f():\n    from a import x\n",
            },
            [{"a", "b"}],
        ),
        # `from pkg.mod import name` and `import pkg.mod as alias` both count, through a third package
        (
            {
                "a/__init__.py": "from b.m import thing\n",
                "b/__init__.py": "import c.n as n\n",
                "c/__init__.py": "",
                "c/n.py": "class K:\n    def m(self):\n        import a\n",
            },
            [{"a", "b", "c"}],
        ),
        # relative imports stay inside their package; third-party names are not ours
        (
            {
                "a/__init__.py": "from . import x\nimport pydantic\n",
                "a/x.py": "from .y import z\n",
                "b/__init__.py": "import a\n",
            },
            [],
        ),
        # a top-level module (registry.py) is a unit too
        ({"registry.py": "import a\n", "a/__init__.py": "def f():\n    import registry\n"}, [{"a", "registry"}]),
        # code under a directory that is no package of ours (a virtualenv) is ignored
        ({"a/__init__.py": "import b\n", "b/__init__.py": "", "venv/lib/b/__init__.py": "import a\n"}, []),
    ],
)
def test_circles_are_found_in_source(tmp_path: Path, files: dict[str, str], expected: list[set[str]]) -> None:
    """The walker finds circles however the import is written, and only between our own units."""
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert sorted(map(sorted, circles(import_edges(tmp_path)))) == sorted(map(sorted, expected))


NAMES = st.sampled_from([f"p{i}" for i in range(8)])


@given(
    st.lists(st.tuples(NAMES, NAMES).filter(lambda pair: pair[0] != pair[1]), max_size=20),
    st.lists(NAMES, min_size=2, max_size=5, unique=True),
)
def test_an_added_circle_is_always_found(edges: list[tuple[str, str]], ring: list[str]) -> None:
    """Whatever else imports what, closing a ring of imports makes all its members one reported circle."""
    closed = [(a, b, "") for a, b in edges] + [(ring[i], ring[(i + 1) % len(ring)], "") for i in range(len(ring))]
    assert any(set(ring) <= group for group in circles(closed))
    acyclic = [(a, b, "") for a, b in edges if a < b]  # edges that only go "up" can never close a circle
    assert circles(acyclic) == []
