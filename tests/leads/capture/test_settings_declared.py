"""Every environment setting lead capture, imports and retention read is declared where deploys learn of
settings (core.settings.PLAIN: README's table, `make deploy-check`): a new one read in these packages and not
declared fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import settings

pytestmark = pytest.mark.unit

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"
READERS = [
    *sorted((FUNCTIONS / "leads" / "capture").glob("*.py")),
    FUNCTIONS / "leads" / "imports.py",
    FUNCTIONS / "privacy" / "retention.py",
    FUNCTIONS / "core" / "ttl.py",
]
READ = re.compile(r"""(?:_env|days_setting|environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']""")
RUNTIME = {"CLOUD_TASKS_EMULATOR_HOST", "FUNCTIONS_EMULATOR", "FIRESTORE_EMULATOR_HOST", "STORAGE_EMULATOR_HOST"}


def test_every_setting_these_packages_read_is_declared_for_deploys() -> None:
    read = {name for path in READERS for name in READ.findall(path.read_text())}
    assert "CAPTURE_RETRY_BACKOFF_SEC" in read and "RETENTION_CAPTURE_DAYS" in read  # the scan sees them
    declared = {setting.name for setting in settings.PLAIN}
    assert sorted(read - declared - RUNTIME) == []
