"""firestore.rules load with zero warnings (warnings fail the build), and the check can see a warning.

The jar started with --rules prints no compiler issues, so the rules are loaded again the way firebase-tools
loads them (PUT :securityRules), whose reply lists every issue with its severity. The jar's log is checked
after the matrix (tests/rules/test_matrix.py)."""

from __future__ import annotations

import pytest

from tests.rules.firestore_rest import rules_issues
from tests.rules.report import REPORT

pytestmark = pytest.mark.rules


def _source() -> str:
    from tests.conftest import ROOT

    return (ROOT / "firestore.rules").read_text()


def _describe(issue: dict[str, object]) -> str:
    position = issue.get("sourcePosition") or {}
    line = position.get("line") if isinstance(position, dict) else None
    return f"{issue.get('severity')}: line {line}: {issue.get('description')}"


def test_rules_compile_with_no_issues(firestore_emulator: str) -> None:
    """The emulator compiles the rules it was started with again and reports every issue, warnings included."""
    issues = rules_issues(firestore_emulator, _source())
    REPORT.warnings = [_describe(issue) for issue in issues]
    assert issues == [], REPORT.warnings


def test_the_issue_check_sees_a_warning(firestore_emulator: str) -> None:
    """Control: an unused function is a WARNING the check reports (in another project, not ours)."""
    source = _source().replace(
        "    function signedIn() {",
        "    function neverCalled() {\n      return true;\n    }\n    function signedIn() {",
        1,
    )
    issues = rules_issues(firestore_emulator, source, project="demo-rules-control")
    assert [issue.get("severity") for issue in issues] == ["WARNING"]
    assert "neverCalled" in str(issues[0].get("description"))
