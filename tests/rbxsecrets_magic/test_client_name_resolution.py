"""A host name that does not resolve fails at once, not after seconds of silent retries.

The resolver (monkeypatched here: no lookup leaves the machine) already retried; backing off
cures a mistyped URL no better. Nothing was sent, so a write has failed, never "outcome
unknown".
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from rbxsecrets_magic.errors import TransportError
from rbxsecrets_magic.opencloud.client import SecretsClient

HOST = "apis.roblox.invalid"


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == HOST:
            asked.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize("operation", ["list", "set"])
def test_an_unresolvable_host_fails_at_once(lookups: list[str], operation: str) -> None:
    waits: list[float] = []
    client = SecretsClient(
        1234567, api_key="k", base_url=f"https://{HOST}", max_retries=5, sleep=waits.append
    )
    with pytest.raises(TransportError) as caught:
        if operation == "list":
            client.list()
        else:
            client.set("A", "a-value")
    assert waits == [] and lookups == [HOST]  # one lookup, no backoff
    assert "could not be resolved" in str(caught.value)
    assert not caught.value.outcome_unknown  # nothing was sent
