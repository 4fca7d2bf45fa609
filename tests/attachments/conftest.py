"""The attachments tests use the comms fixtures and the Storage emulator."""

from tests.comms.conftest import _fresh_adapters, world  # noqa: F401 - fixtures
from tests.comms.storage import storage_emulator  # noqa: F401 - fixture
