"""The webhooks tests share the comms fixtures: an organization, members, leads and provider stubs."""

from tests.comms.conftest import _fresh_adapters, stub, world  # noqa: F401 - fixtures
