"""Capture tests share the provider stub fixture of the comms tests."""

from tests.comms.stub import stub  # noqa: F401 - a fixture, found by name
