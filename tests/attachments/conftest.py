"""The attachments tests use the comms fixtures (and the Storage emulator of tests/support/storage.py)."""

from tests.comms.conftest import _fresh_adapters, world  # noqa: F401 - fixtures
