"""Issue 8, C9: the client never waits without bound, and never longer than it says.

* Pacing to a server's ``x-ratelimit-limit`` never waits longer than Roblox's documented
  window (60 s for 120 per minute): a longer wait is an error that states it. Time is virtual
  here (the client's injectable clock and sleep), so a day of waiting would take no time; the
  tests look at the waits asked for.
* ``timeout`` bounds a whole request (connecting, sending, reading every byte), not each read:
  a hostile loopback server that sends one byte at a time cannot keep a call busy.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from rbxsecrets_magic import Pacer, RbxSecretsError, SecretsClient, TransportError
from tests.rbxsecrets_magic.support import VirtualClock, canned_client
from tests.security.hostile import HostileServer, drip

LIST = b'{"secrets": [], "nextPageCursor": null}'


class _Recording(VirtualClock):
    """A virtual clock that remembers every wait asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        super().sleep(seconds)


def test_a_server_quota_of_one_a_day_is_refused_not_slept() -> None:
    clock = _Recording()
    headers = {"x-ratelimit-limit": "1, 1;w=86400", "x-ratelimit-remaining": "0"}
    client, adapter = canned_client(
        (200, {"secrets": []}, headers),
        (200, {"secrets": []}, headers),
        pacer=Pacer((120, 60.0), clock=clock, sleep=clock.sleep),
    )
    assert client.list() == []
    with pytest.raises(RbxSecretsError) as info:
        client.list()
    message = str(info.value)
    assert "86400 s" in message and "60 s" in message
    assert max(clock.waits, default=0.0) <= 60.0
    assert len(adapter.sent) == 1  # nothing more was sent


def test_pacing_still_waits_what_the_window_allows() -> None:
    clock = _Recording()
    headers = {"x-ratelimit-limit": "2, 2;w=60", "x-ratelimit-remaining": "0"}
    client, adapter = canned_client(
        (200, {"secrets": []}, headers),
        (200, {"secrets": []}, headers),
        pacer=Pacer((120, 60.0), clock=clock, sleep=clock.sleep),
    )
    client.list()
    client.list()
    assert clock.waits == [pytest.approx(30.0)]
    assert len(adapter.sent) == 2


def test_a_retry_after_longer_than_the_window_is_reported_not_slept() -> None:
    clock = _Recording()
    client, adapter = canned_client(
        (429, {"detail": "slow down"}, {"Retry-After": "90"}),
        (200, {"secrets": []}, {}),
        clock=clock,
        sleep=clock.sleep,
    )
    with pytest.raises(RbxSecretsError) as info:
        client.list()
    assert "90 s" in str(info.value)
    assert max(clock.waits, default=0.0) <= 60.0
    assert len(adapter.sent) == 1


def _slow_body(server: HostileServer, conn: socket.socket) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(
        LIST
    )
    server.send(conn, head, body=False)
    if drip(server, conn, LIST, 0.1):
        return
    server.send(conn, LIST[server.sent :])  # past the bound: finish at once


def _slow_head(server: HostileServer, conn: socket.socket) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(
        LIST
    )
    sent = 0
    for index in range(len(head)):
        if server.expired():
            break
        server.send(conn, head[index : index + 1], body=False)
        sent += 1
        time.sleep(0.1)
    server.send(conn, head[sent:] + LIST)


@pytest.mark.parametrize("script", [_slow_body, _slow_head], ids=["body", "head"])
def test_timeout_bounds_the_whole_request_not_each_read(script: Any) -> None:
    # One byte every 0.1 s never trips a per-read timeout of 0.5 s; the server stops dripping
    # after 2 s and then answers in full. The client must have given up long before that.
    with HostileServer(script, limit=2.0) as server:
        client = SecretsClient(
            1,
            api_key="hostile-test-key-0123456789",
            base_url=server.url,
            timeout=0.5,
            max_retries=0,
            rate_limit=None,
        )
        with pytest.raises(TransportError) as info:
            client.list()
    assert "no answer within 0.5 s" in str(info.value)
