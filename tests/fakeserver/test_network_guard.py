"""The network guard: beyond loopback, every connection and name lookup is refused, unlooked-up."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from fakeserver import FakeOpenCloud
from fakeserver.network_guard import NetworkBlockedError, is_loopback_host, loopback_only

HINT = "@pytest.mark.fake_open_cloud(allow_network=True)"
# TEST-NET-3: documentation only, never routed; the guard must refuse it before any packet.
FAR_ADDRESS = "203.0.113.7"


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every host name the real ``getaddrinfo`` was asked for, installed under the guard."""
    seen: list[object] = []
    real = socket.getaddrinfo

    def counting(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    yield seen


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST.", "::ffff:127.0.0.1"],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)
    assert is_loopback_host(host.encode())


@pytest.mark.parametrize(
    "host",
    ["apis.roblox.com", FAR_ADDRESS, "10.0.0.1", "::2", "localhost.evil.test", "127.1", None, 5],
)
def test_other_hosts(host: object) -> None:
    assert not is_loopback_host(host)


def _message(info: pytest.ExceptionInfo[NetworkBlockedError]) -> str:
    text = str(info.value)
    assert "\n" not in text
    assert text.endswith(f"to allow it: {HINT}")
    return text


def test_requests_is_refused_without_a_lookup(lookups: list[object]) -> None:
    with loopback_only(HINT), pytest.raises(NetworkBlockedError) as info:
        requests.get("https://apis.roblox.com/cloud/v2/universes/1/secrets", timeout=5)
    assert _message(info).startswith("blocked network access to apis.roblox.com:443:")
    assert lookups == []


def test_httpx_is_refused_without_a_lookup(lookups: list[object]) -> None:
    with loopback_only(HINT), pytest.raises(NetworkBlockedError) as info:
        httpx.get("https://apis.roblox.com/cloud/v2/universes/1/secrets")
    assert "apis.roblox.com:443" in _message(info)
    assert lookups == []


def test_asyncio_is_refused_without_a_lookup(lookups: list[object]) -> None:
    async def connect() -> None:
        await asyncio.open_connection("apis.roblox.com", 443)

    with loopback_only(HINT), pytest.raises(NetworkBlockedError):
        asyncio.run(connect())
    assert lookups == []


def test_raw_sockets_are_refused(lookups: list[object]) -> None:
    with loopback_only(HINT):
        with pytest.raises(NetworkBlockedError, match="apis.roblox.com:443"):
            socket.create_connection(("apis.roblox.com", 443), timeout=1)
        for name in ("gethostbyname", "gethostbyname_ex"):
            with pytest.raises(NetworkBlockedError, match="apis.roblox.com"):
                getattr(socket, name)("apis.roblox.com")
        with socket.socket() as sock:
            # A name given to connect() would be looked up inside C: refused before that.
            with pytest.raises(NetworkBlockedError, match="apis.roblox.com:443"):
                sock.connect(("apis.roblox.com", 443))
            with pytest.raises(NetworkBlockedError, match=f"{FAR_ADDRESS}:443"):
                sock.connect((FAR_ADDRESS, 443))
            with pytest.raises(NetworkBlockedError, match=f"{FAR_ADDRESS}:80"):
                sock.connect_ex((FAR_ADDRESS, 80))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            with pytest.raises(NetworkBlockedError, match=f"{FAR_ADDRESS}:53"):
                udp.sendto(b"query", (FAR_ADDRESS, 53))
            with pytest.raises(NetworkBlockedError, match=f"{FAR_ADDRESS}:53"):
                udp.sendto(b"query", 0, (FAR_ADDRESS, 53))
            udp.sendto(b"to nobody", ("127.0.0.1", 9))  # loopback: sent
    assert lookups == []


def test_loopback_still_works_and_the_patch_is_undone(lookups: list[object]) -> None:
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    key = fake.add_api_key()
    with fake.serve() as server, loopback_only(HINT), loopback_only("inner hint"):
        url = f"{server.url}/cloud/v2/universes/{universe.universe_id}/secrets"
        assert requests.get(url, headers=key.headers, timeout=5).status_code == 200
        assert httpx.get(url, headers=key.headers).status_code == 200
        with socket.create_connection(("localhost", server.port), timeout=5):
            pass
        with pytest.raises(NetworkBlockedError, match=re.escape(f"to allow it: {HINT}") + "$"):
            socket.gethostbyname("apis.roblox.com")  # the outermost hint
    assert "127.0.0.1" in lookups  # the counter sits under the guard and sees what passes
    assert "connect" not in vars(socket.socket)
    assert "connect_ex" not in vars(socket.socket)
    assert "sendto" not in vars(socket.socket)
    assert socket.getaddrinfo.__name__ == "counting"


def test_the_patch_is_undone_after_an_error() -> None:
    before = socket.create_connection
    with pytest.raises(ZeroDivisionError), loopback_only(HINT):
        1 / 0  # noqa: B018
    assert socket.create_connection is before
    assert "connect" not in vars(socket.socket)


def test_unix_sockets_and_binding_are_left_alone(tmp_path: Any) -> None:
    with loopback_only(HINT):
        assert socket.getaddrinfo(None, 0, flags=socket.AI_PASSIVE)
        with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as client:
            server.bind(str(tmp_path / "s"))
            server.listen()
            client.connect(str(tmp_path / "s"))
