"""Each test helper (builder, fixture, reader, waiter) has one home: no function of any size is defined twice,
word for word, under tests/ (a copy drifts from its original; tests/support/ is where shared ones live)."""

from __future__ import annotations

import ast
from collections import defaultdict

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.unit

MIN_NODES = 15  # smaller bodies (a one-line return) repeat by nature


def _body(node: ast.FunctionDef) -> list[ast.stmt]:
    """The statements of a function without its docstring."""
    first = node.body[0]
    docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    return node.body[1:] if docstring else node.body


def copies(sources: dict[str, str]) -> list[list[str]]:
    """Groups of top-level helpers (not tests) with the same body, as `path::name`."""
    by_body: defaultdict[str, list[str]] = defaultdict(list)
    for path, source in sources.items():
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("test_"):
                module = ast.Module(body=_body(node), type_ignores=[])
                if sum(1 for _ in ast.walk(module)) >= MIN_NODES:
                    by_body[ast.dump(module)].append(f"{path}::{node.name}")
    return sorted(group for group in by_body.values() if len(group) > 1)


def test_no_helper_is_defined_twice_under_tests() -> None:
    sources = {str(path.relative_to(ROOT)): path.read_text() for path in sorted((ROOT / "tests").rglob("*.py"))}
    assert copies(sources) == [], "move the copies to one home in tests/support/"


def test_the_check_sees_a_copy_under_another_name_and_docstring() -> None:
    helper = (
        "def {name}(org_id, **settings):\n"
        "    {doc}\n"
        "    ref = org(org_id)\n"
        "    ref.update({{k: v for k, v in settings.items()}})\n"
        "    cache.clear()\n"
    )
    sources = {
        "a.py": helper.format(name="set_settings", doc='"""One."""'),
        "b.py": helper.format(name="set_org_settings", doc='"""Another."""'),
        "c.py": "def short():\n    return 1\n\n\ndef test_x():\n    return 1\n",
        "d.py": "def short():\n    return 1\n",
    }
    assert copies(sources) == [["a.py::set_settings", "b.py::set_org_settings"]]
