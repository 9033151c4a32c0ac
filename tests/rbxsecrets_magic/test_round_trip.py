"""One round trip that runs against the fake by default and against Roblox when asked.

Set ``RBX_LIVE_TESTS=1`` with ``RBX_API_KEY`` (secret-store read and write for the universe)
and ``RBX_UNIVERSE_ID`` to run it against the real Open Cloud API instead of the fake. It
creates, updates, lists and deletes one secret with a random name, and removes it even when an
assertion fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator

import pytest

from rbxsecrets_magic import SecretsClient

LIVE = os.environ.get("RBX_LIVE_TESTS") == "1"

# What the store now holds for a secret id; None where nobody can know (the real service).
Oracle = Callable[[str], "str | None"]


@pytest.fixture
def client_and_oracle(request: pytest.FixtureRequest) -> Iterator[tuple[SecretsClient, Oracle]]:
    if LIVE:
        universe = os.environ.get("RBX_UNIVERSE_ID")
        if not universe or not os.environ.get("RBX_API_KEY"):
            pytest.fail("RBX_LIVE_TESTS=1 needs RBX_API_KEY and RBX_UNIVERSE_ID")
        with SecretsClient(universe) as live:
            yield live, lambda secret_id: None
        return
    served = request.getfixturevalue("fake_open_cloud")
    with SecretsClient(served.universe_id, api_key=served.api_key, base_url=served.url) as fake:
        yield fake, served.plaintext


def test_set_update_list_delete_round_trip(
    client_and_oracle: tuple[SecretsClient, Oracle],
) -> None:
    client, stored = client_and_oracle
    name = f"rbxsecrets_round_trip_{secrets.token_hex(4)}"
    first_value, second_value = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    try:
        assert client.set(name, first_value, domain="*.example.com").action == "created"
        assert stored(name) in (first_value, None)
        assert client.set(name, second_value).action == "updated"
        assert stored(name) in (second_value, None)
        listed = {info.id: info for info in client.list()}
        assert listed[name].domain == "*.example.com"  # an update without a domain keeps it
    finally:
        client.delete(name)
    assert name not in {info.id for info in client.list()}
