"""Issue 8, C10 and C11: answers are bounded in size and pages, and checked for shape.

* C10: a declared ``Content-Length`` over the cap is refused before reading; a body without
  one is read in chunks and dropped once it passes the cap; a listing takes at most as many
  pages as 500 secrets can fill (plus one), and a cursor seen before ends it with an error.
* C11: every 2xx is checked for the shape the API documents; anything else is an
  ``RbxSecretsError`` naming the server that sent it, never a success: no raw ``TypeError``,
  no empty listing made of an HTML page, no "created" for a write nobody confirmed.
"""

from __future__ import annotations

import base64
import socket
from typing import Any

import pytest
import requests
from IPython.core.error import UsageError
from nacl.public import PrivateKey

from rbxsecrets_magic import RbxSecretsError, SecretsClient
from tests.rbxsecrets_magic.support import CannedAdapter, MagicShell, canned_client
from tests.security.hostile import HostileServer

MIB = 1024 * 1024
PUBLIC = base64.b64encode(bytes(PrivateKey.generate().public_key)).decode()
KEY = {"id": "public-key", "secret": PUBLIC, "key_id": "1"}


def _huge_declared(server: HostileServer, conn: socket.socket) -> None:
    server.send(
        conn,
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3000000000\r\n\r\n",
        body=False,
    )
    server.send(conn, b'{"secrets": [' + b" " * 65536)
    while not server.expired():  # then nothing: a client that reads on would wait here
        server.stopping.wait(0.05)


def _endless_chunked(server: HostileServer, conn: socket.socket) -> None:
    server.send(
        conn,
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        body=False,
    )
    chunk = b" " * 65536
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    server.send(conn, b'2\r\n{"\r\n', body=False)
    while not server.expired() and server.sent < 64 * MIB:
        server.send(conn, frame)
    server.send(conn, b'e\r\nsecrets": []}\r\n0\r\n\r\n', body=False)


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    with HostileServer(_huge_declared, limit=3.0) as server:
        client = SecretsClient(
            1,
            api_key="hostile-test-key-0123456789",
            base_url=server.url,
            timeout=2.0,
            max_retries=0,
            rate_limit=None,
        )
        with pytest.raises(RbxSecretsError) as info:
            client.list()
    message = str(info.value)
    assert f"unexpected answer from the server at {server.url}" in message
    assert "MiB" in message


def test_a_body_without_a_length_is_cut_at_the_cap() -> None:
    with HostileServer(_endless_chunked, limit=3.0) as server:
        client = SecretsClient(
            1,
            api_key="hostile-test-key-0123456789",
            base_url=server.url,
            timeout=2.5,
            max_retries=0,
            rate_limit=None,
        )
        with pytest.raises(RbxSecretsError) as info:
            client.list()
        sent = server.sent
    assert "MiB" in str(info.value)
    # The client hung up soon after the cap (socket buffers hold a few MiB more).
    assert sent < 32 * MIB


class _Pages(CannedAdapter):
    """A listing whose next-page cursor never ends (a fresh one each time, or the same one)."""

    def __init__(self, repeat: bool) -> None:
        super().__init__()
        self.repeat = repeat

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        assert len(self.sent) < 2000, "the client kept asking for pages"
        cursor = "same" if self.repeat else f"c{len(self.sent)}"
        self.answers = [(200, {"secrets": [], "nextPageCursor": cursor}, {})]
        return super().send(request, **kwargs)


def _paged_client(repeat: bool) -> tuple[SecretsClient, _Pages]:
    adapter = _Pages(repeat)
    session = requests.Session()
    session.mount("https://apis.roblox.com", adapter)
    client = SecretsClient(
        123, api_key="canned-api-key-0123456789", session=session, rate_limit=None
    )
    return client, adapter


def test_a_listing_that_never_ends_stops_at_the_page_cap() -> None:
    client, adapter = _paged_client(repeat=False)
    with pytest.raises(RbxSecretsError, match="pages"):
        client.list(page_size=1)
    assert len(adapter.sent) == 501  # 500 secrets at most, one per page, and an empty last page
    client, adapter = _paged_client(repeat=False)
    with pytest.raises(RbxSecretsError, match="pages"):
        client.list(page_size=500)
    assert len(adapter.sent) == 2


def test_a_repeated_cursor_is_an_error_not_a_short_listing() -> None:
    client, adapter = _paged_client(repeat=True)
    with pytest.raises(RbxSecretsError, match="cursor"):
        client.list()
    assert len(adapter.sent) == 2


# -- C11: the shape of every success --------------------------------------------------------

WRONG_LISTS = [
    {"secrets": 5},
    {"secrets": [5]},
    {"secrets": [{"domain": "*"}]},
    {"secrets": [], "nextPageCursor": 7},
    [],
    "<html><body>Welcome to the captive portal</body></html>",
    b"",
]


@pytest.mark.parametrize("body", WRONG_LISTS)
def test_a_wrong_shaped_listing_is_an_error(body: Any) -> None:
    client, _ = canned_client((200, body, {}))
    with pytest.raises(RbxSecretsError) as info:
        client.list()
    assert "unexpected answer from Roblox (apis.roblox.com)" in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        "<html><body>OK</body></html>",
        [],
        b"5",
        {"id": "someone_else"},
        '"created"',
    ],
)
@pytest.mark.parametrize("status", [200, 201])
def test_a_wrong_shaped_write_answer_is_never_a_success(body: Any, status: int) -> None:
    client, _ = canned_client((200, KEY, {}), (status, body, {}))
    with pytest.raises(RbxSecretsError) as info:
        client.set("api_token", "value-1234")
    assert "unexpected answer" in str(info.value).lower()
    assert getattr(info.value, "outcome_unknown", False)  # it may have been stored


@pytest.mark.parametrize(
    "body",
    [
        {"secret": 5, "key_id": "1"},
        {"secret": "bm90IGEga2V5", "key_id": "1"},
        {"secret": PUBLIC},
        "<html></html>",
        b"",
    ],
)
def test_a_wrong_shaped_public_key_is_an_error(body: Any) -> None:
    client, _ = canned_client((200, body, {}))
    with pytest.raises(RbxSecretsError, match="(?i)unexpected answer"):
        client.public_key()


def test_the_magic_shows_one_line_not_a_type_error(
    shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = CannedAdapter((200, {"secrets": 5}, {}))
    real_session = requests.Session

    def session() -> requests.Session:
        made = real_session()
        made.mount("https://apis.roblox.com", adapter)
        return made

    monkeypatch.setattr(requests, "Session", session)
    monkeypatch.setenv("RBX_API_KEY", "canned-api-key-0123456789")
    result = shell.run("%rbx_secret_list --universe 123")
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    assert "unexpected answer" in str(result.error_in_exec).lower()


@pytest.mark.parametrize("status", [200, 400])
def test_an_answer_nested_too_deeply_is_an_error_not_a_recursion_error(status: int) -> None:
    """Issue 18, B8: json parses nesting recursively; 100,000 brackets used to escape."""
    deep = "[" * 100_000 + "]" * 100_000
    client, _ = canned_client((status, deep, {"Content-Type": "application/json"}), max_retries=0)
    with pytest.raises(RbxSecretsError) as info:
        client.list()
    assert "\n" not in str(info.value)
