"""The threaded loopback HTTP/1.1 server.

``FakeServer`` serves any WSGI app (normally ``FakeOpenCloud.app``) over real sockets::

    with FakeServer(fake) as server:          # 127.0.0.1, a free port (or: fake.serve())
        requests.get(server.url + "/cloud/v2/universes/1/secrets/public-key", headers=...)

It speaks HTTP/1.1 with keep-alive, one thread per connection, and writes each response with a
single ``sendall``: a handler that writes the status line, headers and body separately meets
delayed ACKs on the client and falls to tens of requests per second. It starts and stops in
milliseconds: the accept loop sleeps on a selector that ``stop`` wakes through a socket pair,
and so does every connection waiting for bytes. Woken, a connection thread itself decides: a
request whose first byte has arrived is answered (if the rest keeps coming), an idle connection
is closed at once. ``stop`` never shuts a socket under a thread that may be receiving a request,
so a client whose request arrives as the server stops gets an answer, not a connection reset.

What a test suite throws at it stays bounded. At most ``max_connections`` connections are
served at once; the accept loop closes the excess at once (with a 503 if the client listens).
A connection idle for ``timeout`` seconds is closed, a request not fully received within
``timeout`` seconds of its first byte gets a 408, and an answer the client does not take
within ``timeout`` closes its connection. When ``accept`` fails for want of descriptors,
buffers or memory, the accept loop pauses (a little longer each time, up to half a second)
and tries again: the waiting connections stay in the listen backlog until they can be taken.

An exception raised by the app (other than ``DropConnection``) answers the client with a 500
and is kept; ``stop()`` (and so leaving the ``with`` block) re-raises it in the test, the way
pytest-httpserver does. ``DropConnection`` closes the socket without a response.

The WSGI plumbing (``build_environ``, ``call_app``) lives in :mod:`fakeserver.transports.wsgi`,
shared with the in-process transports.
"""

from __future__ import annotations

import contextlib
import email.utils
import io
import json
import math
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO, Self

from ..errors import DropConnection, UnreadableRequest, raise_collected
from .hosts import HostCheck
from .http1 import (
    CONTINUE,
    MAX_LINE,
    RequestHead,
    encode_answer,
    plain_answer,
    read_body,
    read_head,
    read_request_line,
)
from .wsgi import AppSource, WSGIApp, build_environ, call_app, request_path

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

#: A client's address as ``accept`` gives it: ``(host, port)``, with flow info and scope for IPv6.
_Peer = tuple[str, int] | tuple[str, int, int, int]

__all__ = ["FakeServer", "RequestLogger", "internal_error"]

#: ``on_request(method, path, status, seconds)``; ``status`` is ``None`` for a dropped connection.
RequestLogger = Callable[[str, str, "int | None", float], None]

# How long stop() waits for requests already being answered before giving up on them.
STOP_GRACE_SECONDS = 5.0
#: Connections served at once unless ``FakeServer(max_connections=...)`` says otherwise.
DEFAULT_MAX_CONNECTIONS = 200
#: Seconds a connection may stay idle, or take to send one request, unless told otherwise.
DEFAULT_TIMEOUT = 5.0
# After stop(), a request that has begun is still read as long as its bytes keep coming;
# one that sends nothing for this long is dropped, so stop() never waits out a stalled client.
_STOP_STALL_SECONDS = 0.25
# The accept loop's pause after accept() fails (out of descriptors...): doubling, bounded.
_ACCEPT_PAUSE_MIN = 0.01
_ACCEPT_PAUSE_MAX = 0.5

_INTERNAL_ERROR_DETAIL = "the fake raised an exception; it is re-raised in the test"


def internal_error(
    instance: str = "/", *, status_as_number: bool = False
) -> tuple[str, list[tuple[str, str]], bytes]:
    """The 500 answer a client gets when the app raised; its cause goes to the test.

    A ProblemDetails body like every other error of the fake, ``instance`` and the
    ``status_as_number`` switch included, so a client parsing errors meets no new shape.
    """
    body = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.6.1",
        "title": "Internal Server Error",
        "status": 500 if status_as_number else "500",
        "detail": _INTERNAL_ERROR_DETAIL,
        "instance": instance,
    }
    return (
        "500 Internal Server Error",
        [("Content-Type", "application/json")],
        json.dumps(body, separators=(",", ":")).encode("ascii"),
    )


class _Date:
    """The ``Date`` header value, formatted at most once a second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        """Start with nothing cached."""
        self._second = -1
        self._value = ""

    def now(self) -> str:
        """Return the current time in IMF-fixdate form."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._value = email.utils.formatdate(now, usegmt=True)
            self._second = second
        return self._value


class _RequestTimedOut(Exception):
    """A request began to arrive but was not complete within the server's timeout."""


class _Connection:
    """One accepted socket and whether a request on it is being read or answered.

    ``busy`` and ``deadline`` are touched only by the connection's own thread: ``busy`` is set
    once the first byte of a request is in hand (with ``deadline``, the monotonic time by which
    the whole request must have arrived) and cleared after the answer is sent.
    """

    __slots__ = ("busy", "deadline", "sock")

    def __init__(self, sock: socket.socket) -> None:
        """Track ``sock``, idle until a request starts arriving."""
        self.sock = sock
        self.busy = False
        self.deadline = 0.0


_Selector: type[selectors.BaseSelector] = getattr(
    selectors, "PollSelector", selectors.SelectSelector
)


class _RequestReader(socket.SocketIO):
    """The raw reader under a connection's buffered reader: every read waits first.

    It waits until the client sends something, ``stop()`` writes to the wake socket, or time
    is up. While the connection is idle, time is up ``timeout`` seconds after the wait began,
    and a wait that ends without the client's bytes reports end of file, which closes the
    connection. While a request is arriving, time is up at the connection's ``deadline``
    (``_RequestTimedOut``), or, after ``stop()``, once the client has sent nothing for
    ``_STOP_STALL_SECONDS`` (``ConnectionAbortedError``). Once the wake-up is seen, idle waits
    return at once: bytes already received are answered, silence closes the connection.
    A poll selector needs no descriptor of its own, unlike epoll's, so a connection costs one
    descriptor even when the process has none to spare.
    """

    def __init__(self, connection: _Connection, wake: socket.socket, timeout: float) -> None:
        """Read ``connection.sock``; wait on it and on ``wake``, for ``timeout`` when idle."""
        super().__init__(connection.sock, "rb")
        self._connection = connection
        self._timeout = timeout
        self._wake: socket.socket | None = wake
        self._selector = _Selector()
        self._selector.register(connection.sock, selectors.EVENT_READ)
        self._selector.register(wake, selectors.EVENT_READ)

    def readinto(self, b: WriteableBuffer) -> int | None:
        """Wait for the client's bytes and read them into ``b`` (see the class docstring)."""
        if self._connection.busy:
            if not self._wait(self._connection.deadline, stall=_STOP_STALL_SECONDS):
                if self._wake is None and time.monotonic() < self._connection.deadline:
                    raise ConnectionAbortedError("the server stopped while the request stalled")
                raise _RequestTimedOut
        elif not self._wait(time.monotonic() + self._timeout, stall=0.0):
            return 0
        return super().readinto(b)

    def _wait(self, deadline: float, *, stall: float) -> bool:
        """Whether the client's bytes came before ``deadline`` (or, after ``stop()``, ``stall``)."""
        sock = self._connection.sock
        # After stop(), the wait ends ``stall`` seconds after it began (or after the wake-up
        # came): a fixed point, or a silent client would restart the stall at every turn.
        stalled_at = None if self._wake is not None else time.monotonic() + stall
        while True:
            end = deadline if stalled_at is None else min(deadline, stalled_at)
            remaining = end - time.monotonic()
            if remaining <= 0:
                # Bytes already received still count; only a wait that would block is over.
                return any(key.fileobj is sock for key, _ in self._selector.select(0))
            ready = self._selector.select(remaining)
            if any(key.fileobj is sock for key, _ in ready):
                return True
            if ready and self._wake is not None:
                # stop() came: the wake socket is never drained, so stop watching it.
                self._selector.unregister(self._wake)
                self._wake = None
                stalled_at = time.monotonic() + stall

    def close(self) -> None:
        """Release the selector, then the reader."""
        self._selector.close()
        super().close()


# --------------------------------------------------------------------------- the server


class FakeServer:
    """A threaded HTTP/1.1 server with keep-alive, serving one WSGI app on loopback.

    Parameters
    ----------
    app:
        A ``FakeOpenCloud`` (its ``.app`` is served) or any WSGI callable.
    host, port:
        Where to listen; port 0 (the default) picks a free port, read back from ``.port``.
    on_request:
        Called after every request with ``(method, path, status, seconds)``; ``status`` is
        ``None`` when the connection was dropped. ``path`` excludes the query string.
    max_connections:
        How many connections are served at once (each has a thread); the accept loop closes
        any beyond that at once, with a 503 if the client listens.
    timeout:
        Seconds a connection may stay idle before it is closed, a request may take to arrive
        from its first byte to its last (then a 408), and a client may take to accept an
        answer.

    Use it as a context manager, or call ``start()`` and ``stop()``. Exceptions raised by the
    app are answered with a 500 and re-raised by ``stop()``; ``errors`` lists them meanwhile.
    """

    def __init__(
        self,
        app: AppSource,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_request: RequestLogger | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Prepare the server; nothing listens until ``start()``."""
        wsgi = getattr(app, "app", app)
        if not callable(wsgi):
            raise TypeError("FakeServer needs a FakeOpenCloud or a WSGI callable")
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or (max_connections < 1)
        ):
            raise ValueError("max_connections must be a whole number >= 1")
        if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout > 0):
            raise ValueError("timeout must be a finite number of seconds > 0")
        self.max_connections = max_connections
        self.timeout = float(timeout)
        self.fake: AppSource | None = app if wsgi is not app else None
        # Only its own names: a page that rebinds a name of its own to 127.0.0.1 gets a 421.
        everywhere = host.strip("[]") in ("", "0.0.0.0", "::")  # noqa: S104  compared only
        self.app: WSGIApp = HostCheck(wsgi, self._own_names, loopback=True, addresses=everywhere)
        self.on_request = on_request
        self._bind = (host, port)
        self._address: tuple[str, int] | None = None
        self._listener: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._acceptor: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connections: dict[_Connection, threading.Thread] = {}
        self._errors: list[Exception] = []
        self._stopping = False
        self._date = _Date()

    # ----------------------------------------------------------------- public surface

    @property
    def host(self) -> str:
        """The address the server is bound to, e.g. ``"127.0.0.1"``."""
        return self._bound()[0]

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._bound()[1]

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``"http://127.0.0.1:51234"``."""
        host, port = self._bound()
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    @property
    def errors(self) -> list[Exception]:
        """Exceptions raised in server threads so far and not yet re-raised."""
        with self._lock:
            return list(self._errors)

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._listener is not None and not self._stopping

    def start(self) -> FakeServer:
        """Bind, listen and start accepting; return ``self`` once connections are accepted.

        Raises ``OSError`` in the caller if the address cannot be bound.
        """
        if self._listener is not None or self._stopping:
            raise RuntimeError("a FakeServer can be started once")
        host, port = self._bind
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, proto)
        try:
            if sys.platform != "win32":
                # Lets a fixed --port be reused at once after a restart (TIME_WAIT).
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen(128)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        bound = listener.getsockname()
        self._address = (bound[0], bound[1])
        self._listener = listener
        self._wake = socket.socketpair()
        ready = threading.Event()
        self._acceptor = threading.Thread(
            target=self._accept_loop,
            args=(listener, self._wake[0], ready),
            name=f"fakeserver-accept-{self._address[1]}",
            daemon=True,
        )
        self._acceptor.start()
        ready.wait()
        return self

    def stop(self) -> None:
        """Stop accepting, close idle connections, let requests that have begun finish.

        A request is answered if its first byte reached the server before its connection
        thread saw the wake-up (pipelined ones included); ``stop`` waits for those up to
        ``STOP_GRACE_SECONDS`` in all. Idle keep-alive connections close at once.

        Then re-raise what the app raised in server threads: one exception as it is, several
        as an ``ExceptionGroup``. Calling ``stop()`` again only re-raises new errors.
        """
        with self._lock:
            listener, wake, acceptor = self._listener, self._wake, self._acceptor
            self._stopping = True
            self._listener = self._wake = self._acceptor = None
        if listener is not None and wake is not None and acceptor is not None:
            # Wakes the acceptor and every idle connection thread; see _RequestReader.
            wake[1].send(b"x")
            acceptor.join()
            listener.close()
            with self._lock:
                threads = list(self._connections.values())
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            if not any(thread.is_alive() for thread in threads):
                # A thread still answering past the grace period may wait on it again later.
                wake[0].close()
                wake[1].close()
        self.raise_errors()

    def take_errors(self) -> list[Exception]:
        """Return and forget the exceptions raised in server threads so far."""
        with self._lock:
            errors, self._errors = self._errors, []
        return errors

    def raise_errors(self) -> None:
        """Re-raise (and forget) the exceptions the app raised in server threads, if any."""
        raise_collected(self.take_errors(), "raised in fake server threads")

    def __enter__(self) -> Self:
        """Start the server unless it already runs."""
        if self._listener is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server; errors from its threads are raised here."""
        self.stop()

    def __repr__(self) -> str:
        """Show where it listens and whether it runs."""
        where = self.url if self._address is not None else "not started"
        state = "running" if self.running else "stopped"
        return f"<FakeServer {where} {state}>"

    # ----------------------------------------------------------------- threads

    def _own_names(self) -> set[str]:
        """The host names, besides loopback, that name this server: where it binds."""
        names = {self._bind[0]}
        if self._address is not None:
            names.add(self._address[0])
        return names

    def _bound(self) -> tuple[str, int]:
        """The bound address, once started."""
        if self._address is None:
            raise RuntimeError("the FakeServer is not started")
        return self._address

    def _record(self, exc: Exception) -> None:
        """Keep an exception raised in a server thread for the test to see."""
        with self._lock:
            self._errors.append(exc)

    def _accept_loop(
        self, listener: socket.socket, wake: socket.socket, ready: threading.Event
    ) -> None:
        """Accept connections until ``stop()`` writes to the wake socket."""
        pause = 0.0
        # Both selectors are made now: once descriptors run out, an epoll one could not be.
        with selectors.DefaultSelector() as selector, _Selector() as stop_watch:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            stop_watch.register(wake, selectors.EVENT_READ)
            ready.set()
            while True:
                for key, _ in selector.select():
                    if key.fileobj is wake:
                        return
                    try:
                        sock, peer = listener.accept()
                    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                        continue
                    except OSError:
                        # EMFILE, ENFILE, ENOBUFS, ENOMEM...: the process or the machine is
                        # short of something a test suite will give back. The connection
                        # waits in the backlog meanwhile; never give up on it for good.
                        pause = min(max(2 * pause, _ACCEPT_PAUSE_MIN), _ACCEPT_PAUSE_MAX)
                        if stop_watch.select(pause):
                            return
                        continue
                    pause = 0.0
                    self._spawn(sock, peer, wake)

    def _spawn(self, sock: socket.socket, peer: _Peer, wake: socket.socket) -> None:
        """Start the thread that serves one accepted connection, or refuse it if full."""
        with self._lock:
            full = len(self._connections) >= self.max_connections
        if full:
            _refuse(sock)
            return
        connection = _Connection(sock)
        thread = threading.Thread(
            target=self._serve_connection,
            args=(connection, wake, peer[0], peer[1]),
            name=f"fakeserver-conn-{peer[1]}",
            daemon=True,
        )
        try:
            # A timeout, not blocking mode: it bounds sendall to a client that stops reading.
            # Reads never block in the socket: _RequestReader waits before each one.
            sock.settimeout(self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections[connection] = thread
            thread.start()
        except (OSError, RuntimeError):
            # The client is already gone, or no thread can be started now (too many
            # threads): the connection is refused, the server goes on.
            with self._lock:
                self._connections.pop(connection, None)
            sock.close()

    def _serve_connection(
        self, connection: _Connection, wake: socket.socket, peer_host: str, peer_port: int
    ) -> None:
        """Answer requests on one connection until either side closes it, or ``stop()``."""
        sock = connection.sock
        rfile = io.BufferedReader(_RequestReader(connection, wake, self.timeout), MAX_LINE)
        try:
            # No check of _stopping here: the next idle wait returns at once after stop(),
            # and answers a request that has already begun to arrive instead of dropping it.
            while self._serve_one(connection, rfile, peer_host, peer_port):
                connection.busy = False
        except _RequestTimedOut:
            with contextlib.suppress(OSError):
                sock.sendall(plain_answer(408, "request not received in time"))
            self._log("-", "-", 408, self.timeout)
        except OSError:
            # The client went away, or stop() shut the socket: nothing to report.
            pass
        except Exception as exc:  # noqa: BLE001  a bug in this file is still a test failure
            self._record(exc)
        finally:
            with self._lock:
                self._connections.pop(connection, None)
            rfile.close()
            _shutdown(sock)
            sock.close()

    def _serve_one(
        self,
        connection: _Connection,
        rfile: io.BufferedReader[_RequestReader],
        peer_host: str,
        peer_port: int,
    ) -> bool:
        """Read, answer and log one request; return whether to keep the connection open."""
        line = self._begin_request(connection, rfile)
        if not line:
            return False
        started = time.perf_counter()
        try:
            head, body = self._read_request(line, rfile, connection.sock)
        except UnreadableRequest as bad:
            connection.sock.sendall(plain_answer(bad.status, bad.detail))
            self._log("-", "-", bad.status, time.perf_counter() - started)
            return False
        answer = self._call_app(head, body, peer_host, peer_port)
        if answer is None:
            self._log(head.method, head.target, None, time.perf_counter() - started)
            return False
        status, headers, out_body = answer
        payload = encode_answer(head, status, headers, out_body, date=self._date.now())
        # Logged before sending, so a client that waits for each answer sees log lines in
        # the order of its requests.
        self._log(head.method, head.target, int(status[:3]), time.perf_counter() - started)
        connection.sock.sendall(payload)
        return head.keep_alive

    def _begin_request(
        self, connection: _Connection, rfile: io.BufferedReader[_RequestReader]
    ) -> bytes:
        """Wait for the next request and return its request line; ``b""`` if none comes."""
        # Waits while idle (see _RequestReader); a byte already buffered (pipelining) is
        # returned at once. Either way the request has begun to arrive from here on.
        if not rfile.peek(1):
            return b""
        connection.busy = True
        connection.deadline = time.monotonic() + self.timeout
        return read_request_line(rfile)

    @staticmethod
    def _read_request(
        line: bytes, rfile: BinaryIO, sock: socket.socket
    ) -> tuple[RequestHead, bytes]:
        """Read the rest of the request after ``line``: header fields, then the body."""
        head = read_head(line, rfile)
        if head.wants_continue:
            sock.sendall(CONTINUE)
        return head, read_body(head, rfile)

    def _call_app(
        self, head: RequestHead, body: bytes, peer_host: str, peer_port: int
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """Run the app on one request; ``None`` if it asked to drop the connection."""
        environ = build_environ(
            head.method,
            head.target,
            head.headers,
            body,
            server_name=self._address[0] if self._address else "127.0.0.1",
            server_port=self._address[1] if self._address else 0,
            remote_addr=peer_host,
            remote_port=peer_port,
            protocol=head.version,
        )
        try:
            return call_app(self.app, environ)
        except DropConnection:
            return None
        except Exception as exc:  # noqa: BLE001  kept and re-raised in the test by stop()
            self._record(exc)
            return internal_error(
                request_path(environ),
                status_as_number=bool(getattr(self.fake, "problem_status_as_number", False)),
            )

    def _log(self, method: str, target: str, status: int | None, seconds: float) -> None:
        """Report one request to ``on_request`` (path only, never the query string)."""
        if self.on_request is None:
            return
        try:
            self.on_request(method, target.partition("?")[0], status, seconds)
        except Exception as exc:  # noqa: BLE001  a failing logger is a test failure too
            self._record(exc)


_FULL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\n"
    b"Content-Length: 46\r\nConnection: close\r\n\r\n"
    b"the fake server has too many open connections\n"
)


def _refuse(sock: socket.socket) -> None:
    """Close a connection beyond the cap at once, with a 503 if it fits the send buffer."""
    with contextlib.suppress(OSError):
        sock.setblocking(False)
        sock.send(_FULL)
    _shutdown(sock)
    sock.close()


def _shutdown(sock: socket.socket) -> None:
    """Shut a socket down both ways, which wakes a thread blocked reading it."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
