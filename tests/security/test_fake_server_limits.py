"""Issue 8, items 12 and 13: the loopback server survives what a test suite throws at it.

- 12: running out of file descriptors makes ``accept`` fail; the server backs off and keeps
  serving once descriptors are free again, instead of ending its accept loop for good.
- 13: concurrent connections are capped (the excess is closed at once), idle and half-sent
  connections time out, new requests are answered once a flood is gone, and ``stop()`` ends
  a thread waiting on a half-sent request instead of waiting for it.

Everything stays on loopback and is bounded: waits have generous limits, and the checks count
threads and connections, never durations.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import fakeserver
from fakeserver import FakeServer

ROOT = Path(fakeserver.__file__).resolve().parents[1]
StartResponse = Callable[..., Any]
GENEROUS = 20.0  # seconds: the most any wait below may take; a pass takes far less


def _hello(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def _wait_for(condition: Callable[[], bool], what: str, limit: float = GENEROUS) -> None:
    """Poll ``condition`` until it holds; fail the test, naming ``what``, after ``limit`` s."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.01)


def _connection_threads(ports: set[int]) -> list[threading.Thread]:
    """The live server threads serving client sockets bound to ``ports``.

    Connection threads are named after the client's port (``fakeserver-conn-<port>``).
    """
    return [
        thread
        for thread in threading.enumerate()
        if thread.name.startswith("fakeserver-conn-")
        and thread.name.rsplit("-", 1)[-1].isdigit()
        and int(thread.name.rsplit("-", 1)[-1]) in ports
    ]


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (end of file or reset); reads what is pending."""
    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        while True:
            if not sock.recv(65536):
                return True
            if not select.select([sock], [], [], 0)[0]:
                return False
    except OSError:
        return True


def _open(server: FakeServer, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection((server.host, server.port), timeout=GENEROUS)
        socks.append(sock)
    return socks


def _ports(socks: Iterable[socket.socket]) -> set[int]:
    return {sock.getsockname()[1] for sock in socks}


def _read_to_end(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


# --------------------------------------------------------------------------- 13: the cap


def test_default_cap_bounds_connection_threads() -> None:
    # 400 idle connections: a few hundred at most get a thread, the rest are closed at once.
    with FakeServer(_hello) as server:
        socks = _open(server, 400)
        try:
            ports = _ports(socks)
            _wait_for(
                lambda: sum(_closed_by_server(s) for s in socks) >= 100,
                "the server closing the connections beyond its cap",
            )
            assert len(_connection_threads(ports)) <= 300
            assert server.errors == []
        finally:
            for sock in socks:
                sock.close()


def test_a_flood_over_the_cap_is_shed_and_new_requests_answered_after() -> None:
    with FakeServer(_hello, max_connections=8, timeout=60) as server:
        socks = _open(server, 60)
        try:
            ports = _ports(socks)
            closed: set[int] = set()

            def shed() -> bool:
                closed.update(
                    i for i, s in enumerate(socks) if i not in closed and _closed_by_server(s)
                )
                return len(closed) >= 52

            _wait_for(shed, "the 52 connections beyond the cap being closed")
            assert len(_connection_threads(ports)) <= 8
            # The 8 kept connections are real: each still answers a request.
            kept = [s for i, s in enumerate(socks) if i not in closed]
            assert len(kept) == 8
            for sock in kept:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        finally:
            for sock in socks:
                sock.close()
        # The flood is gone: its threads end, and a new client is served.
        _wait_for(lambda: not _connection_threads(ports), "the flood's threads ending")
        assert requests.get(server.url, timeout=GENEROUS).text == "hello"


def test_a_refused_connection_is_told_why_when_it_asks() -> None:
    with FakeServer(_hello, max_connections=1, timeout=60) as server:
        with socket.create_connection((server.host, server.port), timeout=GENEROUS) as kept:
            kept.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert kept.recv(65536).startswith(b"HTTP/1.1 200 OK")
            with socket.create_connection((server.host, server.port), timeout=GENEROUS) as extra:
                reply = _read_to_end(extra)
        # Either a 503 that names the cap, or a plain close: never a served request.
        assert reply == b"" or reply.startswith(b"HTTP/1.1 503 ")


def test_cap_and_timeout_are_validated() -> None:
    for bad in (
        {"max_connections": 0},
        {"timeout": 0},
        {"timeout": float("nan")},
        {"timeout": float("inf")},
        {"max_connections": -5},
    ):
        with pytest.raises(ValueError):
            FakeServer(_hello, **bad)


# --------------------------------------------------------------------------- 13: timeouts


def test_idle_connections_time_out_and_their_threads_end() -> None:
    with FakeServer(_hello, timeout=0.3) as server:
        socks = _open(server, 6)
        try:
            # Half of them make a request first, then idle on keep-alive.
            for sock in socks[:3]:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
            ports = _ports(socks)
            _wait_for(
                lambda: all(_closed_by_server(s) for s in socks),
                "the server closing idle connections",
            )
            _wait_for(lambda: not _connection_threads(ports), "idle threads ending")
        finally:
            for sock in socks:
                sock.close()
        assert requests.get(server.url, timeout=GENEROUS).text == "hello"
        assert server.errors == []


@pytest.mark.parametrize(
    "partial",
    [
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # headers never end
        b"GET / HT",  # request line never ends
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc",  # body never ends
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    ],
)
def test_a_half_sent_request_times_out(partial: bytes) -> None:
    with FakeServer(_hello, timeout=0.3) as server:
        with socket.create_connection((server.host, server.port), timeout=GENEROUS) as sock:
            sock.sendall(partial)
            reply = _read_to_end(sock)
            ports = _ports([sock])
        assert reply == b"" or reply.startswith(b"HTTP/1.1 408 ")
        _wait_for(lambda: not _connection_threads(ports), "the half-sent request's thread ending")
        assert server.errors == []


def test_a_request_sent_a_byte_at_a_time_times_out_as_a_whole() -> None:
    # Each byte arrives well within the timeout; the request as a whole never completes.
    with FakeServer(_hello, timeout=0.5) as server:
        with socket.create_connection((server.host, server.port), timeout=GENEROUS) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n")
            deadline = time.monotonic() + GENEROUS
            closed = False
            while time.monotonic() < deadline and not closed:
                try:
                    sock.sendall(b"X")
                except OSError:
                    closed = True
                    break
                closed = _closed_by_server(sock)
                time.sleep(0.05)
        assert closed, "a request dripped a byte at a time was never cut off"


def test_a_session_reconnects_after_the_server_closed_its_idle_connection() -> None:
    # Keep-alive still works for a normal client, and a pooled connection the server has
    # closed for idleness is replaced, not reported as an error.
    before = {t.name for t in threading.enumerate()}
    with FakeServer(_hello, timeout=0.3) as server, requests.Session() as session:
        first = session.get(server.url, timeout=GENEROUS)
        second = session.get(server.url, timeout=GENEROUS)
        assert first.text == second.text == "hello"
        ports = {
            int(t.name.rsplit("-", 1)[-1])
            for t in threading.enumerate()
            if t.name.startswith("fakeserver-conn-") and t.name not in before
        }
        assert len(ports) == 1  # one keep-alive connection served both requests
        _wait_for(lambda: not _connection_threads(ports), "the idle keep-alive connection closing")
        assert session.get(server.url, timeout=GENEROUS).text == "hello"


# --------------------------------------------------------------------------- 13: stop()


def test_stop_ends_the_thread_of_a_half_sent_request() -> None:
    # stop() neither waits out the request's timeout nor leaves the thread behind.
    server = FakeServer(_hello).start()
    sock = socket.create_connection((server.host, server.port), timeout=GENEROUS)
    try:
        ports = _ports([sock])
        _wait_for(lambda: bool(_connection_threads(ports)), "the connection being accepted")
        sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly part")
        time.sleep(0.1)  # let the first bytes reach the server, so the request has begun
        threads = _connection_threads(ports)
        server.stop()
        assert threads
        assert not any(thread.is_alive() for thread in threads)
        reply = _read_to_end(sock)
        assert reply == b"" or reply.startswith(b"HTTP/1.1 ")
    finally:
        sock.close()


def test_stop_still_answers_a_request_that_has_fully_arrived() -> None:
    entered = threading.Event()
    release = threading.Event()

    def slow(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        entered.set()
        release.wait(GENEROUS)
        start_response("200 OK", [])
        return [b"finished"]

    server = FakeServer(slow).start()
    outcome: list[str] = []
    client = threading.Thread(
        target=lambda: outcome.append(requests.get(server.url, timeout=GENEROUS).text)
    )
    client.start()
    assert entered.wait(GENEROUS)
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    _wait_for(lambda: not server.running, "stop() to begin")
    release.set()
    stopper.join(GENEROUS)
    client.join(GENEROUS)
    assert outcome == ["finished"]


# --------------------------------------------------------------------------- 12: descriptors

_CHILD = """
import resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), hard))
from fakeserver.cli import main
sys.exit(main(["--universe-id", "111"]))
"""


@pytest.fixture
def fd_starved_fake() -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """``rbx-fakeserver`` in a child whose file descriptor limit is 64, and its ready line."""
    if not hasattr(os, "fork"):
        pytest.skip("RLIMIT_NOFILE is POSIX")
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, "64"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout = child.stdout
        assert stdout is not None
        ready_line: list[str] = []
        reader = threading.Thread(target=lambda: ready_line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(GENEROUS)
        assert ready_line and ready_line[0], "the fake did not start"
        # Keep draining the request log, so the child never blocks on a full pipe.
        threading.Thread(target=stdout.read, daemon=True).start()
        yield child, json.loads(ready_line[0])
    finally:
        if child.poll() is None:
            child.terminate()
        try:
            child.wait(GENEROUS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _open_fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def test_running_out_of_descriptors_does_not_stop_the_server(
    fd_starved_fake: tuple[subprocess.Popen[str], dict[str, Any]],
) -> None:
    child, ready = fd_starved_fake
    url = f"{ready['url']}/cloud/v2/universes/111/secrets/public-key"
    headers = {"x-api-key": ready["api_key"]}
    assert requests.get(url, headers=headers, timeout=GENEROUS).status_code == 200

    host, port = ready["url"].removeprefix("http://").rsplit(":", 1)
    socks = [socket.create_connection((host, int(port)), timeout=GENEROUS) for _ in range(100)]
    try:
        if _open_fds(child.pid) is None:
            time.sleep(1.0)  # no /proc: give the server time to run into its limit
        else:
            _wait_for(
                lambda: (_open_fds(child.pid) or 0) >= 60,
                "the fake running into its descriptor limit",
            )
            time.sleep(0.2)  # its accept() now fails with EMFILE
    finally:
        for sock in socks:
            sock.close()

    # Descriptors are free again: the same fake answers new requests.
    for _ in range(3):
        assert requests.get(url, headers=headers, timeout=GENEROUS).status_code == 200
    assert child.poll() is None
    child.terminate()
    assert child.wait(GENEROUS) == 0
    assert child.stderr is not None
    assert "in a server thread" not in child.stderr.read()


@pytest.mark.parametrize(
    "partial",
    [
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # half a head: headers never end
        b"GET / HTTP/1.1\r\nHo",  # a header line never ends
        b"GET / HT",  # the request line never ends
        # half a body
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly part",
    ],
    ids=["half-head", "half-header-line", "half-request-line", "half-body"],
)
def test_stop_returns_promptly_with_a_half_sent_request(partial: bytes) -> None:
    # The grace period is for answering requests that have arrived, not for waiting on a
    # client that stalls: stop() must not wait it out (a bound, far above the stall allowed).
    server = FakeServer(_hello).start()
    sock = socket.create_connection((server.host, server.port), timeout=GENEROUS)
    try:
        ports = _ports([sock])
        _wait_for(lambda: bool(_connection_threads(ports)), "the connection being accepted")
        sock.sendall(partial)
        time.sleep(0.1)  # let the first bytes reach the server, so the request has begun
        threads = _connection_threads(ports)
        started = time.monotonic()
        server.stop()
        took = time.monotonic() - started
        assert threads and not any(thread.is_alive() for thread in threads)
        grace = sys.modules[FakeServer.__module__].STOP_GRACE_SECONDS
        assert took < 1.0 < grace, f"stop() took {took:.2f} s"
    finally:
        sock.close()
