"""The rules tier prints the matrix it checked (tests/rules/report.py)."""

from __future__ import annotations

from typing import Any

from tests.rules.report import REPORT


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the access matrix after the run, even when output is captured."""
    lines = REPORT.lines()
    if not lines:
        return
    terminalreporter.section("firestore.rules access matrix")
    for line in lines:
        terminalreporter.write_line(line)
