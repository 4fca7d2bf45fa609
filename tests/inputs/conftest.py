"""The hostile-input tests use the comms world (an organization, members, a lead, templates) and the Storage
emulator (attachments)."""

from tests.comms.conftest import _fresh_adapters, world  # noqa: F401 - fixtures
from tests.comms.storage import storage_emulator  # noqa: F401 - fixture
