"""Issue 8, item 15: the fake reads paths and chunked bodies the way the wire means them.

An encoded slash (``%2F``) is part of a path segment, never a separator, whichever way a
request reaches the fake (loopback server, ``requests`` adapter, httpx transport). A chunk size
is hex digits only: no ``0x`` prefix, no sign, no underscore, no whitespace around it (RFC 9112
section 7.1; ``int(text, 16)`` accepts all of those).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest
import requests

from fakeserver import FakeOpenCloud, FakeServer

UNIVERSE = 111
StartResponse = Callable[..., Any]


@pytest.fixture(scope="module")
def fake() -> FakeOpenCloud:
    fake = FakeOpenCloud()
    fake.add_universe(UNIVERSE)
    return fake


@pytest.fixture(autouse=True)
def api_token(fake: FakeOpenCloud) -> None:
    """A secret named ``api_token`` exists, so a request that reached it would not be a 404."""
    fake.put_secret(UNIVERSE, "api_token", "S3CRET-value")


@pytest.fixture(scope="module")
def headers(fake: FakeOpenCloud) -> dict[str, str]:
    return dict(fake.add_api_key().headers)


@pytest.fixture(scope="module")
def server(fake: FakeOpenCloud) -> Iterator[FakeServer]:
    with fake.serve() as running:
        yield running


def _via_loopback(server: FakeServer, fake: FakeOpenCloud) -> Callable[..., int]:
    def send(method: str, path: str, headers: dict[str, str]) -> int:
        return requests.request(method, server.url + path, headers=headers, timeout=10).status_code

    return send


def _via_requests_adapter(server: FakeServer, fake: FakeOpenCloud) -> Callable[..., int]:
    session = requests.Session()
    fake.mount(session, "https://apis.roblox.com")

    def send(method: str, path: str, headers: dict[str, str]) -> int:
        url = "https://apis.roblox.com" + path
        return session.request(method, url, headers=headers).status_code

    return send


def _via_httpx(server: FakeServer, fake: FakeOpenCloud) -> Callable[..., int]:
    from fakeserver.transports.httpx_route import httpx_handler

    client = httpx.Client(transport=httpx.MockTransport(httpx_handler(fake)))

    def send(method: str, path: str, headers: dict[str, str]) -> int:
        url = "https://apis.roblox.com" + path
        return client.request(method, url, headers=headers).status_code

    return send


TRANSPORTS = {
    "loopback": _via_loopback,
    "requests-adapter": _via_requests_adapter,
    "httpx": _via_httpx,
}


@pytest.fixture(params=sorted(TRANSPORTS))
def send(
    request: pytest.FixtureRequest, server: FakeServer, fake: FakeOpenCloud
) -> Callable[..., int]:
    return TRANSPORTS[request.param](server, fake)


def test_the_plain_path_is_served(send: Callable[..., int], headers: dict[str, str]) -> None:
    # The control: the same request without the encoded slash is a 200 on every transport.
    assert send("GET", f"/cloud/v2/universes/{UNIVERSE}/secrets/public-key", headers) == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/cloud/v2/universes/{UNIVERSE}%2Fsecrets/public-key"),
        ("GET", f"/cloud/v2/universes/{UNIVERSE}%2fsecrets%2Fpublic-key"),
        ("GET", f"/cloud/v2/universes%2F{UNIVERSE}/secrets/public-key"),
        ("GET", f"/cloud%2Fv2/universes/{UNIVERSE}/secrets/public-key"),
        ("GET", f"/cloud/v2/universes/{UNIVERSE}%2Fsecrets"),
        ("DELETE", f"/cloud/v2/universes/{UNIVERSE}/secrets%2Fapi_token"),
        ("DELETE", f"/cloud/v2/universes/{UNIVERSE}%2Fsecrets%2Fapi_token"),
    ],
)
def test_an_encoded_slash_is_not_a_separator(
    fake: FakeOpenCloud,
    send: Callable[..., int],
    headers: dict[str, str],
    method: str,
    path: str,
) -> None:
    assert send(method, path, headers) == 404
    assert "api_token" in fake.secret_ids(UNIVERSE)


def test_an_encoded_slash_inside_a_secret_id_is_not_a_route_to_another_secret(
    fake: FakeOpenCloud, send: Callable[..., int], headers: dict[str, str]
) -> None:
    # ".../secrets/x%2F..%2Fapi_token" must not reach "api_token" by any normalisation.
    status = send("DELETE", f"/cloud/v2/universes/{UNIVERSE}/secrets/x%2F..%2Fapi_token", headers)
    assert status in (400, 404)
    assert "api_token" in fake.secret_ids(UNIVERSE)


# --------------------------------------------------------------------------- chunk sizes


def _echo(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [b"body=" + body]


@pytest.fixture(scope="module")
def echo_server() -> Iterator[FakeServer]:
    with FakeServer(_echo) as running:
        yield running


def _post_chunked(server: FakeServer, chunked_body: bytes) -> bytes:
    """Send one chunked POST on a fresh connection; return everything the server sent."""
    head = (
        b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n"
    )
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(head + chunked_body)
        chunks: list[bytes] = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "size",
    [
        b"0x2",
        b"0X2",
        b"+2",
        b"-2",
        b"1_0",
        b" 2",
        b"2 ",
        b"\t2",
        b"2\t",
        b"",
        b"2 2",
        b"\xef\xbc\x92",
    ],
)
def test_a_chunk_size_is_hex_digits_only(echo_server: FakeServer, size: bytes) -> None:
    # Every body below would decode to b"ab" (or b"0123456789abcdef") if the size were read
    # leniently; each must be refused before the app sees it.
    data = b"0123456789abcdef" if size == b"1_0" else b"ab"
    reply = _post_chunked(echo_server, size + b"\r\n" + data + b"\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 "), reply[:60]
    assert b"body=" not in reply


@pytest.mark.parametrize(
    "size", [b"2", b"02", b"0000002", b"2;name=value", b"2 ;name", b"2\t; a=b;c"]
)
def test_valid_chunk_sizes_and_extensions_are_read(echo_server: FakeServer, size: bytes) -> None:
    reply = _post_chunked(echo_server, size + b"\r\nab\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert reply.endswith(b"body=ab")


def test_uppercase_and_lowercase_hex_sizes(echo_server: FakeServer) -> None:
    body = b"A\r\n" + b"x" * 10 + b"\r\nb\r\n" + b"y" * 11 + b"\r\n0\r\n\r\n"
    assert _post_chunked(echo_server, body).endswith(b"body=" + b"x" * 10 + b"y" * 11)


def test_the_last_chunk_size_is_checked_too(echo_server: FakeServer) -> None:
    reply = _post_chunked(echo_server, b"2\r\nab\r\n0x0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 ")
