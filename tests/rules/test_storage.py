"""storage.rules deny every client read and write.

The Storage emulator of firebase-tools cannot run offline here (it downloads a rules-runtime jar at start),
so this checks the file itself: one match over every path whose only statement denies everything. The app
needs nothing more: attachments move through v4 signed URLs, which Cloud Storage authorizes by the signing
service account, never by these rules.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.unit


DENY_ALL = (
    "rules_version = '2'; service firebase.storage { match /b/{bucket}/o { match /{allPaths=**} "
    "{ allow read, write: if false; } } }"
)


def _normalized(source: str) -> str:
    """The rules without comments, whitespace collapsed."""
    return " ".join(re.sub(r"//[^\n]*", "", source).split())


def test_storage_rules_deny_every_client_read_and_write() -> None:
    from tests.conftest import ROOT

    assert _normalized((ROOT / "storage.rules").read_text()) == DENY_ALL


def test_the_check_would_see_an_opening() -> None:
    """Control: an added allow statement (even inside the same match) changes what the test compares."""
    opened = DENY_ALL.replace("if false; }", "if false; allow read: if request.auth != null; }")
    assert _normalized("// a comment\n" + DENY_ALL) == DENY_ALL
    assert _normalized(opened) != DENY_ALL
