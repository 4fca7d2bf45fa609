"""The hostile-input tests use the comms world (an organization, members, a lead, templates) and the Storage
emulator (attachments), which tests/support/storage.py starts for every tier."""

from tests.comms.conftest import _fresh_adapters, world  # noqa: F401 - fixtures
