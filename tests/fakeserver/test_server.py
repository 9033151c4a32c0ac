"""The loopback HTTP/1.1 server: lifecycle, keep-alive, HTTP edge cases, errors in threads."""

from __future__ import annotations

import base64
import re
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

import pytest
import requests
from nacl.public import PublicKey, SealedBox

from fakeserver import FakeOpenCloud
from fakeserver.errors import DropConnection
from fakeserver.transports.server import FakeServer
from fakeserver.transports.wsgi import build_environ

StartResponse = Callable[..., Any]


def echo(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Answer with what the app saw: method, path, query, remote port, body, one header."""
    body = environ["wsgi.input"].read()
    if environ["PATH_INFO"] == "/drop":
        raise DropConnection("test")
    if environ["PATH_INFO"] == "/boom":
        raise ValueError("detail that must not reach the client")
    text = "|".join(
        [
            environ["REQUEST_METHOD"],
            environ["PATH_INFO"],
            environ["QUERY_STRING"],
            environ["REMOTE_PORT"],
            environ.get("HTTP_X_API_KEY", "-"),
            environ.get("CONTENT_TYPE", "-"),
        ]
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [text.encode("utf-8") + b"|" + body]


def raw_exchange(server: FakeServer, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send raw bytes, then read until the server closes the connection."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks: list[bytes] = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def seal(value: str, public_key: str) -> str:
    box = SealedBox(PublicKey(base64.b64decode(public_key)))
    return base64.b64encode(box.encrypt(value.encode())).decode()


@pytest.fixture
def server() -> Iterable[FakeServer]:
    with FakeServer(echo) as running:
        yield running


# --------------------------------------------------------------------------- lifecycle


def test_start_and_stop() -> None:
    server = FakeServer(echo)
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018
    assert server.start() is server
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    assert server.port > 0 and server.host == "127.0.0.1" and server.running
    assert "running" in repr(server)
    assert requests.get(server.url + "/x").status_code == 200
    server.stop()
    assert not server.running
    with pytest.raises(OSError):
        socket.create_connection((server.host, server.port), timeout=1).close()
    server.stop()  # a second stop is harmless
    with pytest.raises(RuntimeError):
        server.start()


def test_serves_a_fake_from_fake_serve() -> None:
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    key = fake.add_api_key()
    with fake.serve() as server:
        assert server.fake is fake
        url = f"{server.url}/cloud/v2/universes/{universe.universe_id}/secrets"
        body = {
            "id": "a_b",
            "secret": seal("plain", universe.public_key),
            "key_id": universe.key_id,
        }
        assert requests.post(url, json=body, headers=key.headers).status_code == 201
    assert fake.plaintext(universe.universe_id, "a_b") == "plain"


def test_bind_error_raises_in_the_caller(server: FakeServer) -> None:
    with pytest.raises(OSError):
        FakeServer(echo, port=server.port).start()


def test_rejects_what_is_not_an_app() -> None:
    with pytest.raises(TypeError):
        FakeServer(42)


def test_ipv6_loopback() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = FakeServer(echo, host="::1").start()
    except OSError:
        pytest.skip("::1 not available")
    try:
        assert server.url.startswith("http://[::1]:")
        assert requests.get(server.url + "/six").text.startswith("GET|/six|")
    finally:
        server.stop()


# --------------------------------------------------------------------------- keep-alive


def test_keep_alive_reuses_one_connection(server: FakeServer) -> None:
    with requests.Session() as session:
        ports = {
            session.post(server.url + "/k", data=b"x" * i).text.split("|")[3] for i in range(30)
        }
    assert len(ports) == 1


def test_keep_alive_with_the_real_fake() -> None:
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    key = fake.add_api_key()
    ports: set[str] = set()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        ports.add(environ["REMOTE_PORT"])
        return fake.app(environ, start_response)

    with FakeServer(app) as server, requests.Session() as session:
        session.headers.update(key.headers)
        url = f"{server.url}/cloud/v2/universes/{universe.universe_id}/secrets"
        for i in range(20):
            body = {
                "id": f"s{i}",
                "secret": seal(f"value {i}", universe.public_key),
                "key_id": universe.key_id,
            }
            assert session.post(url, json=body).status_code == 201
    assert len(ports) == 1
    assert [fake.plaintext(universe.universe_id, f"s{i}") for i in range(20)] == [
        f"value {i}" for i in range(20)
    ]


def test_pipelined_requests_get_answers_in_order(server: FakeServer) -> None:
    data = (
        b"POST /one HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /two?q=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    reply = raw_exchange(server, data)
    assert reply.count(b"HTTP/1.1 200 OK") == 2
    assert reply.index(b"POST|/one||") < reply.index(b"GET|/two|q=1|")
    assert reply.rstrip().endswith(b"|")


def test_http10_closes_after_the_answer(server: FakeServer) -> None:
    reply = raw_exchange(server, b"GET /old HTTP/1.0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close\r\n" in reply


def test_stop_closes_idle_keep_alive_connections(server: FakeServer) -> None:
    sock = socket.create_connection((server.host, server.port), timeout=5)
    try:
        sock.sendall(b"GET /idle HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 OK")
        server.stop()
        assert sock.recv(65536) == b""
    finally:
        sock.close()


def test_stop_lets_a_request_in_flight_finish() -> None:
    entered = threading.Event()

    def slow(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        entered.set()
        threading.Event().wait(0.2)
        start_response("200 OK", [])
        return [b"finished"]

    server = FakeServer(slow).start()
    outcome: list[Any] = []
    client = threading.Thread(target=lambda: outcome.append(requests.get(server.url).text))
    client.start()
    assert entered.wait(5)
    server.stop()
    client.join(5)
    assert outcome == ["finished"]


def _read_to_end(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; a reset fails the test."""
    chunks: list[bytes] = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_stop_answers_a_request_pipelined_behind_one_in_flight() -> None:
    # The second request is fully received while the first is being answered and stop() has
    # begun: it has arrived, so it is answered rather than reset with the connection.
    entered = threading.Event()
    release = threading.Event()

    def app(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        if environ["PATH_INFO"] == "/first":
            entered.set()
            release.wait(5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    server = FakeServer(app).start()
    stopper = threading.Thread(target=server.stop)
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"GET /first HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert entered.wait(5)
        sock.sendall(b"GET /second HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        stopper.start()
        while server.running:  # stop() has begun once the server says it is not running
            threading.Event().wait(0.001)
        release.set()
        reply = _read_to_end(sock)
    stopper.join(5)
    assert not stopper.is_alive()
    assert reply.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert reply.endswith(b"/second")


def test_stop_answers_a_request_that_reached_an_idle_connection() -> None:
    # A request sent on an idle keep-alive connection just before stop() is in the server's
    # receive buffer when stop() runs; the connection thread may not have woken up yet.
    for _ in range(30):
        server = FakeServer(echo).start()
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(b"GET /warm HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
            sock.sendall(b"GET /late HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            server.stop()
            reply = _read_to_end(sock)
        assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"GET|/late|" in reply


# --------------------------------------------------------------------------- HTTP details


def test_chunked_body_is_decoded(server: FakeServer) -> None:
    data = (
        b"POST /chunks HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n"
    )
    assert raw_exchange(server, data).endswith(b"|hello world")


def test_requests_generator_body_is_sent_chunked(server: FakeServer) -> None:
    reply = requests.post(server.url + "/gen", data=(c for c in [b"ab", b"cd"]))
    assert reply.text.endswith("|abcd")


def test_expect_100_continue(server: FakeServer) -> None:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /e HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"body")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 OK") and reply.endswith(b"|body")


def test_head_sends_headers_only(server: FakeServer) -> None:
    reply = raw_exchange(
        server, b"HEAD /h HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Content-Length: " in head
    assert body == b""


def test_header_names_with_underscores_are_dropped(server: FakeServer) -> None:
    assert requests.get(server.url + "/u", headers={"x_api_key": "k"}).text.split("|")[4] == "-"
    assert requests.get(server.url + "/u", headers={"X-Api-Key": "k"}).text.split("|")[4] == "k"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 400),
        (b"GET noslash HTTP/1.1\r\n\r\n", 400),
        (b"G(T / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nA: " + b"b" * 70000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\n" + b"A: b\r\n" * 101 + b"\r\n", 431),
    ],
)
def test_malformed_requests_get_a_4xx_and_a_close(
    server: FakeServer, request_bytes: bytes, status: int
) -> None:
    reply = raw_exchange(server, request_bytes)
    assert reply.startswith(f"HTTP/1.1 {status} ".encode()), reply[:80]
    assert b"Connection: close" in reply
    assert server.errors == []
    assert requests.get(server.url + "/still-alive").status_code == 200


def test_clients_that_vanish_mid_request_are_not_errors(server: FakeServer) -> None:
    for partial in (
        b"GET / HT",
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
    ):
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(partial)
    assert requests.get(server.url + "/ok").status_code == 200
    server.stop()  # would raise if a thread had recorded an error


def test_build_environ() -> None:
    environ = build_environ(
        "PATCH",
        "https://h.example/a%2Fb/%C3%A9?x=%20",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", "999"),
            ("X-Dup", "1"),
            ("x-dup", "2"),
            ("X_Sneaky", "no"),
        ],
        b"body",
        scheme="https",
        server_name="h.example",
        server_port=443,
    )
    # Bytes as latin-1, per PEP 3333; an encoded slash is data, not a separator (issue 8).
    assert environ["PATH_INFO"] == "/a%2Fb/\u00c3\u00a9"
    assert environ["RAW_URI"] == "/a%2Fb/%C3%A9?x=%20"
    assert environ["QUERY_STRING"] == "x=%20"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == "4"  # what arrived, not what was claimed
    assert environ["HTTP_X_DUP"] == "1,2"
    assert "HTTP_X_SNEAKY" not in environ
    assert environ["wsgi.input"].read() == b"body"
    assert environ["wsgi.url_scheme"] == "https" and environ["SERVER_PORT"] == "443"
    assert "CONTENT_LENGTH" not in build_environ("GET", "/", [], b"")
    mounted = build_environ("GET", "/pre/cloud/v2?x", [], b"", script_name="/pre")
    assert (mounted["SCRIPT_NAME"], mounted["PATH_INFO"]) == ("/pre", "/cloud/v2")
    outside = build_environ("GET", "/prefix/a", [], b"", script_name="/pre")
    assert (outside["SCRIPT_NAME"], outside["PATH_INFO"]) == ("", "/prefix/a")


# --------------------------------------------------------------------------- errors


def test_app_error_is_a_500_and_is_reraised_on_stop() -> None:
    server = FakeServer(echo).start()
    reply = requests.get(server.url + "/boom")
    assert reply.status_code == 500
    assert reply.json()["status"] == "500"
    assert "must not reach" not in reply.text
    assert [type(e) for e in server.errors] == [ValueError]
    with pytest.raises(ValueError, match="must not reach the client"):
        server.stop()
    server.stop()  # already re-raised: nothing more


@pytest.mark.parametrize("as_number", [False, True])
def test_500_is_problem_details_with_instance(as_number: bool) -> None:
    fake = FakeOpenCloud(problem_status_as_number=as_number)
    universe_id = fake.add_universe().universe_id
    key = fake.add_api_key()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the backend")

    fake.backend.list_secrets = broken  # type: ignore[method-assign]
    path = f"/cloud/v2/universes/{universe_id}/secrets"
    server = fake.serve().start()
    body = requests.get(server.url + path, headers=key.headers).json()
    with pytest.raises(RuntimeError):
        server.stop()
    assert set(body) == {"type", "title", "status", "detail", "instance"}
    assert body["instance"] == path
    assert body["status"] == (500 if as_number else "500")


def test_several_errors_raise_as_a_group() -> None:
    server = FakeServer(echo).start()
    requests.get(server.url + "/boom")
    requests.get(server.url + "/boom")
    with pytest.raises(ExceptionGroup) as caught:
        server.stop()
    assert [type(e) for e in caught.value.exceptions] == [ValueError, ValueError]


def test_leaving_the_with_block_reraises() -> None:
    with pytest.raises(ValueError), FakeServer(echo) as server:
        assert requests.get(server.url + "/boom").status_code == 500


def test_errors_in_the_real_fake_are_reraised(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    key = fake.add_api_key()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the backend")

    monkeypatch.setattr(fake.backend, "get_public_key", broken)
    server = fake.serve().start()
    url = f"{server.url}/cloud/v2/universes/{universe.universe_id}/secrets/public-key"
    assert requests.get(url, headers=key.headers).status_code == 500
    with pytest.raises(RuntimeError, match="a bug in the backend"):
        server.stop()


@pytest.mark.parametrize(
    "app_result",
    [
        lambda sr: ["not bytes"],
        lambda sr: [b"no start_response"],
        lambda sr: sr("200", []) or [b""],
        lambda sr: sr("200 OK", [("X-Bad", "a\r\nInjected: 1")]) or [b""],
    ],
)
def test_wsgi_contract_violations_are_errors(app_result: Callable[[StartResponse], Any]) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Any:
        return app_result(start_response)

    server = FakeServer(app).start()
    reply = requests.get(server.url)
    assert reply.status_code == 500
    assert "Injected" not in reply.headers
    with pytest.raises((TypeError, ValueError, RuntimeError)):
        server.stop()


def test_drop_connection_closes_without_a_response(server: FakeServer) -> None:
    assert raw_exchange(server, b"GET /drop HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") == b""
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/drop")
    assert server.errors == []
    assert requests.get(server.url + "/after").status_code == 200


def test_on_request_logs_method_path_status() -> None:
    seen: list[tuple[str, str, int | None]] = []
    with FakeServer(echo, on_request=lambda m, p, s, t: seen.append((m, p, s))) as server:
        requests.get(server.url + "/a?secret=query")
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/drop")
        raw_exchange(server, b"BROKEN\r\n\r\n")
    assert seen == [("GET", "/a", 200), ("GET", "/drop", None), ("-", "-", 400)]


def test_parallel_connections_with_the_real_fake() -> None:
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    key = fake.add_api_key()
    failures: list[int] = []

    def worker(n: int, url: str) -> None:
        with requests.Session() as session:
            for i in range(15):
                body = {
                    "id": f"w{n}_{i}",
                    "secret": seal(f"{n}:{i}", universe.public_key),
                    "key_id": universe.key_id,
                }
                status = session.post(url, json=body, headers=key.headers).status_code
                if status != 201:
                    failures.append(status)

    with fake.serve() as server:
        url = f"{server.url}/cloud/v2/universes/{universe.universe_id}/secrets"
        threads = [threading.Thread(target=worker, args=(n, url)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []
    assert len(fake.secret_ids(universe.universe_id)) == 120
    assert all(
        fake.plaintext(universe.universe_id, f"w{n}_{i}") == f"{n}:{i}"
        for n in range(8)
        for i in range(15)
    )
