"""A tiny hostile HTTP server on loopback for the security tests (this module holds no tests).

Each connection runs a script: read the request, then answer however the test wants (one byte
at a time, a huge declared length, an endless body). Every script is bounded in time: the
server stops it after ``limit`` seconds and ``stop()`` joins every thread.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Self


class HostileServer:
    """Serves ``script(server, conn)`` to every connection until stopped."""

    def __init__(
        self, script: Callable[[HostileServer, socket.socket], None], limit: float = 5.0
    ) -> None:
        self.script = script
        self.limit = limit
        self.sent = 0  # body bytes written so far, over every connection
        self.requests = 0
        # The request each connection's script was started for: (head, body), by socket.
        self.first_request: dict[socket.socket, tuple[bytes, bytes]] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    def __enter__(self) -> Self:
        self._started = time.monotonic()
        self._accepter.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop accepting and end every script (they check ``stopping``)."""
        self.stopping.set()
        self._accepter.join(5)
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def expired(self) -> bool:
        """Whether the script should give up: stopped, or past its time bound."""
        return self.stopping.is_set() or time.monotonic() - self._started > self.limit

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.5)
            try:
                head, body = read_request_and_body(conn)
                with self._lock:
                    self.requests += 1
                    self.first_request[conn] = (head, body)
                self.script(self, conn)
            except OSError:
                pass  # the client hung up: what these tests expect

    def send(self, conn: socket.socket, data: bytes, *, body: bool = True) -> None:
        """Write ``data``, counting it as body bytes unless ``body`` is False."""
        conn.sendall(data)
        if body:
            with self._lock:
                self.sent += len(data)


def read_request(conn: socket.socket) -> bytes:
    """Read one request's head and its Content-Length body; return the head."""
    return read_request_and_body(conn)[0]


def read_request_and_body(conn: socket.socket) -> tuple[bytes, bytes]:
    """Read one request's head and its Content-Length body; return both (empty at EOF)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head, rest[:length]


def drip(
    server: HostileServer, conn: socket.socket, data: bytes, every: float, *, body: bool = True
) -> bool:
    """Send ``data`` one byte per ``every`` seconds; False once the time bound is reached."""
    for index in range(len(data)):
        if server.expired():
            return False
        server.send(conn, data[index : index + 1], body=body)
        time.sleep(every)
    return True
