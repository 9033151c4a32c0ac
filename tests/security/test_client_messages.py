"""Issue 8, E17 and E20: messages that give their advice once and name the right server.

* E17: a refused connection to loopback (nothing listens: the fake is not running) is final at
  once, without 7.5 s of retries, and the message gives its advice once, in the client and in
  the magics alike.
* E20: a server that is not Roblox's (the fake, a proxy) is named as what it is: "the server at
  http://127.0.0.1:PORT did not accept the credential", not "Roblox did not accept...".
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from rbxsecrets_magic import AuthenticationError, SecretsClient, TransportError
from tests.rbxsecrets_magic.support import MagicShell, canned_client


def _dead_url() -> str:
    """A loopback URL where nothing listens (a port just freed)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_refusal_from_loopback_is_final_at_once() -> None:
    waits: list[float] = []
    client = SecretsClient(
        1,
        api_key="dead-server-key-0123456789",
        base_url=_dead_url(),
        rate_limit=None,
        sleep=waits.append,
    )
    with pytest.raises(TransportError) as info:
        client.list()
    assert waits == []  # no retry, no backoff
    message = str(info.value)
    assert "refused" in message
    assert message.count("Check the network") == 1
    assert message.count("RBX_OPEN_CLOUD_URL") == 1


def test_the_magic_gives_its_advice_once(
    shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RBX_API_KEY", "dead-server-key-0123456789")
    shell.ok(f"%config RbxSecretsMagics.base_url = {_dead_url()!r}")
    message = shell.usage_error("%rbx_secret_list --universe 1")
    assert message.count("Check the network") == 1, message
    assert message.count("RBX_OPEN_CLOUD_URL") == 1, message


def test_a_server_that_is_not_roblox_is_named(fake_open_cloud: Any) -> None:
    client = SecretsClient(
        fake_open_cloud.universe_id,
        api_key="not-a-known-key-0123456789",
        base_url=fake_open_cloud.url,
        rate_limit=None,
    )
    with pytest.raises(AuthenticationError) as info:
        client.list()
    message = str(info.value)
    assert f"the server at {fake_open_cloud.url} did not accept the credential" in message
    assert "Roblox" not in message


@pytest.mark.parametrize("status", [400, 401, 429, 500, 418])
def test_every_status_names_the_server_that_answered(status: int, fake_open_cloud: Any) -> None:
    fake_open_cloud.fake.inject_fault("list_secrets", status=status, times=10)
    client = SecretsClient(
        fake_open_cloud.universe_id,
        api_key=fake_open_cloud.api_key,
        base_url=fake_open_cloud.url,
        rate_limit=None,
        max_retries=0,
    )
    with pytest.raises(Exception) as info:
        client.list()
    message = str(info.value)
    assert f"the server at {fake_open_cloud.url}" in message
    assert "Roblox" not in message.replace("Roblox's rules", "")


def test_roblox_is_still_named_when_it_answers() -> None:
    client, _ = canned_client((401, {"errors": [{"message": "Invalid API Key"}]}, {}))
    with pytest.raises(AuthenticationError, match="Roblox did not accept the credential"):
        client.list()
