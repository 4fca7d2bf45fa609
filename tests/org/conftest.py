"""Fixtures of the org tests: the provider stub (a test message per channel goes to it)."""

from __future__ import annotations

from tests.comms.stub import stub  # noqa: F401 - the shared provider stub fixture
