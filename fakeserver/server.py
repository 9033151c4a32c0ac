"""The threaded loopback HTTP/1.1 server, and the ``rbx-fakeserver`` command line.

``FakeServer`` serves any WSGI app (normally ``FakeOpenCloud.app``) over real sockets::

    with FakeServer(fake) as server:          # 127.0.0.1, a free port
        requests.get(server.url + "/cloud/v2/universes/1/secrets/public-key", headers=...)

It speaks HTTP/1.1 with keep-alive, one thread per connection, and writes each response with a
single ``sendall``: a handler that writes the status line, headers and body separately meets
delayed ACKs on the client and falls to tens of requests per second. It starts and stops in
milliseconds: the accept loop sleeps on a selector that ``stop`` wakes through a socket pair,
and idle keep-alive connections are shut down instead of waited for.

An exception raised by the app (other than ``DropConnection``) answers the client with a 500
and is kept; ``stop()`` (and so leaving the ``with`` block) re-raises it in the test, the way
pytest-httpserver does. ``DropConnection`` closes the socket without a response.

The helpers ``build_environ`` and ``call_app`` are shared with the in-process transports, so the
app sees the same WSGI environ whichever way a request arrives.
"""

from __future__ import annotations

import builtins
import email.utils
import io
import os
import queue
import re
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Any, BinaryIO, cast
from urllib.parse import unquote_to_bytes

from fakeserver.errors import DropConnection

__all__ = ["FakeServer", "build_environ", "call_app", "main"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: ``on_request(method, path, status, seconds)``; ``status`` is ``None`` for a dropped connection.
RequestLogger = Callable[[str, str, "int | None", float], None]

MAX_LINE = 65536
MAX_HEADERS = 100
MAX_BODY = 1024 * 1024
# How long stop() waits for requests already being answered before giving up on them.
STOP_GRACE_SECONDS = 5.0

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")
_BAD_VALUE = re.compile(r"[\x00\r\n]")
_STATUS = re.compile(r"[1-9][0-9]{2} [^\r\n]*\Z")
# A WSGI app must not set these: they describe the connection, which the server owns.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade",
     "proxy-connection", "te", "trailer"}
)
_INTERNAL_ERROR_BODY = (
    b'{"type":"about:blank","title":"Internal Server Error","status":"500",'
    b'"detail":"the fake raised an exception; it is re-raised in the test"}'
)


# --------------------------------------------------------------------------- WSGI plumbing


def build_environ(
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    scheme: str = "http",
    server_name: str = "127.0.0.1",
    server_port: int = 80,
    remote_addr: str = "127.0.0.1",
    remote_port: int = 0,
    protocol: str = "HTTP/1.1",
    script_name: str = "",
) -> dict[str, Any]:
    """Return the PEP 3333 environ for one request.

    Parameters
    ----------
    target:
        The request target as sent, percent-encoded: ``"/path?query"`` or an absolute URL.
        ``PATH_INFO`` gets it decoded (bytes as latin-1, as PEP 3333 says); ``RAW_URI`` and
        ``REQUEST_URI`` keep it as sent.
    headers:
        Header names and values as sent. Names holding ``_`` are dropped, as nginx does, so
        that ``x_api_key`` cannot pose as ``x-api-key``; repeated names are joined with ``,``.
    body:
        The whole request body, already de-chunked.
    script_name:
        A path prefix the app is mounted under (``"/proxy"``, no trailing slash): a target
        under it becomes ``SCRIPT_NAME`` plus the rest in ``PATH_INFO``, so the app sees
        ``/cloud/v2/...`` whatever base URL the client was given.
    """
    if target.startswith(("http://", "https://")):
        rest = target.split("://", 1)[1]
        slash = rest.find("/")
        target = rest[slash:] if slash >= 0 else "/"
    path, _, query = target.partition("?")
    if script_name and (path == script_name or path.startswith(script_name + "/")):
        path = path[len(script_name):] or "/"
    else:
        script_name = ""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": unquote_to_bytes(path.encode("latin-1")).decode("latin-1"),
        "QUERY_STRING": query,
        "RAW_URI": target,
        "REQUEST_URI": target,
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": protocol,
        "REMOTE_ADDR": remote_addr,
        "REMOTE_PORT": str(remote_port),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        if "_" in name:
            continue
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ[key] = value
            continue
        if key == "CONTENT_LENGTH":
            continue
        key = "HTTP_" + key
        previous = environ.get(key)
        environ[key] = value if previous is None else f"{previous},{value}"
    if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def call_app(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run ``app`` on ``environ`` and return its status line, headers and whole body.

    The body is buffered: the fake's answers are small, and one write per response is what
    keeps the loopback server fast. Exceptions from the app propagate (``DropConnection``
    included); a malformed status or header is a ``ValueError``/``TypeError``.
    """
    response: list[Any] = []
    chunks: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if response and exc_info is None:
            raise AssertionError("start_response called twice without exc_info")
        if not isinstance(status, str) or not _STATUS.match(status):
            raise ValueError(f"malformed WSGI status line {status!r}")
        for name, value in headers:
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError("WSGI header names and values must be str")
            if not _TOKEN.match(name) or "\r" in value or "\n" in value:
                raise ValueError(f"malformed WSGI header {name!r}")
        response[:] = [status, list(headers)]
        return chunks.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            if not isinstance(chunk, bytes):
                raise TypeError("a WSGI app must yield bytes")
            chunks.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not response:
        raise RuntimeError("the WSGI app returned without calling start_response")
    return response[0], response[1], b"".join(chunks)


def internal_error() -> tuple[str, list[tuple[str, str]], bytes]:
    """The 500 answer a client gets when the app raised; its cause goes to the test."""
    return (
        "500 Internal Server Error",
        [("Content-Type", "application/json")],
        _INTERNAL_ERROR_BODY,
    )


def raise_collected(errors: Sequence[Exception], what: str) -> None:
    """Raise the one error in ``errors`` as it is, several as an ``ExceptionGroup``.

    Before Python 3.11, which has no ``ExceptionGroup``, the first error is raised.
    """
    group: Any = getattr(builtins, "ExceptionGroup", None)
    if len(errors) == 1 or (errors and group is None):
        raise errors[0]
    if errors:
        raise group(f"{len(errors)} errors {what}", list(errors))


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


class _BadRequest(Exception):
    """The bytes on the wire are not an HTTP/1.x request we accept; answered, then closed."""

    def __init__(self, status: int, detail: str) -> None:
        """Keep the status and a fixed, data-free explanation."""
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _Connection:
    """One accepted socket and whether a request on it is being answered."""

    __slots__ = ("busy", "sock")

    def __init__(self, sock: socket.socket) -> None:
        """Track ``sock``, idle until a request line arrives."""
        self.sock = sock
        self.busy = False


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

    Use it as a context manager, or call ``start()`` and ``stop()``. Exceptions raised by the
    app are answered with a 500 and re-raised by ``stop()``; ``errors`` lists them meanwhile.
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_request: RequestLogger | None = None,
    ) -> None:
        """Prepare the server; nothing listens until ``start()``."""
        wsgi = getattr(app, "app", app)
        if not callable(wsgi):
            raise TypeError("FakeServer needs a FakeOpenCloud or a WSGI callable")
        self.fake: Any = app if wsgi is not app else None
        self.app: WSGIApp = wsgi
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
            target=self._accept_loop, args=(listener, self._wake[0], ready),
            name=f"fakeserver-accept-{self._address[1]}", daemon=True,
        )
        self._acceptor.start()
        ready.wait()
        return self

    def stop(self) -> None:
        """Stop accepting, close idle connections, wait briefly for requests in flight.

        Then re-raise what the app raised in server threads: one exception as it is, several
        as an ``ExceptionGroup``. Calling ``stop()`` again only re-raises new errors.
        """
        with self._lock:
            listener, wake, acceptor = self._listener, self._wake, self._acceptor
            self._stopping = True
            self._listener = self._wake = self._acceptor = None
        if listener is not None and wake is not None and acceptor is not None:
            wake[1].send(b"x")
            acceptor.join()
            listener.close()
            wake[0].close()
            wake[1].close()
            with self._lock:
                for connection in self._connections:
                    if not connection.busy:
                        _shutdown(connection.sock)
                threads = list(self._connections.values())
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
        self.raise_errors()

    def take_errors(self) -> list[Exception]:
        """Return and forget the exceptions raised in server threads so far."""
        with self._lock:
            errors, self._errors = self._errors, []
        return errors

    def raise_errors(self) -> None:
        """Re-raise (and forget) the exceptions the app raised in server threads, if any."""
        raise_collected(self.take_errors(), "raised in fake server threads")

    def __enter__(self) -> FakeServer:
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
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            ready.set()
            while True:
                for key, _ in selector.select():
                    if key.fileobj is wake:
                        return
                    try:
                        sock, peer = listener.accept()
                    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                        continue
                    except OSError as exc:
                        self._record(exc)
                        return
                    self._spawn(sock, peer)

    def _spawn(self, sock: socket.socket, peer: Any) -> None:
        """Start the thread that serves one accepted connection."""
        sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = _Connection(sock)
        thread = threading.Thread(
            target=self._serve_connection, args=(connection, peer[0], peer[1]),
            name=f"fakeserver-conn-{peer[1]}", daemon=True,
        )
        with self._lock:
            self._connections[connection] = thread
        thread.start()

    def _serve_connection(self, connection: _Connection, peer_host: str, peer_port: int) -> None:
        """Answer requests on one connection until either side closes it."""
        sock = connection.sock
        rfile = cast(BinaryIO, sock.makefile("rb", buffering=MAX_LINE))
        try:
            while self._serve_one(connection, rfile, peer_host, peer_port):
                with self._lock:
                    connection.busy = False
                    if self._stopping:
                        break
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
        self, connection: _Connection, rfile: BinaryIO, peer_host: str, peer_port: int
    ) -> bool:
        """Read, answer and log one request; return whether to keep the connection open."""
        line = rfile.readline(MAX_LINE + 1)
        # RFC 9112 section 2.2: ignore empty lines before a request line.
        blank = 0
        while line in (b"\r\n", b"\n") and blank < 8:
            blank += 1
            line = rfile.readline(MAX_LINE + 1)
        if not line:
            return False
        with self._lock:
            connection.busy = True
        started = time.perf_counter()
        try:
            method, target, version, headers, body, keep_alive = self._read_request(
                line, rfile, connection.sock
            )
        except _BadRequest as bad:
            self._send_plain(connection.sock, bad.status, bad.detail)
            self._log("-", "-", bad.status, time.perf_counter() - started)
            return False

        environ = build_environ(
            method, target, headers, body,
            server_name=self._address[0] if self._address else "127.0.0.1",
            server_port=self._address[1] if self._address else 0,
            remote_addr=peer_host, remote_port=peer_port, protocol=version,
        )
        try:
            status, out_headers, out_body = call_app(self.app, environ)
        except DropConnection:
            self._log(method, target, None, time.perf_counter() - started)
            return False
        except Exception as exc:  # noqa: BLE001  kept and re-raised in the test by stop()
            self._record(exc)
            status, out_headers, out_body = internal_error()

        code = int(status[:3])
        head = [f"HTTP/1.1 {status}\r\n"]
        length: str | None = None
        for name, value in out_headers:
            lowered = name.lower()
            if lowered in _HOP_BY_HOP:
                if lowered == "content-length":
                    length = value
                continue
            head.append(f"{name}: {value}\r\n")
        if code >= 200 and code not in (204, 304):
            if method != "HEAD" or length is None:
                length = str(len(out_body))
            head.append(f"Content-Length: {length}\r\n")
        head.append(f"Date: {self._date.now()}\r\n")
        if not keep_alive:
            head.append("Connection: close\r\n")
        elif version == "HTTP/1.0":
            head.append("Connection: keep-alive\r\n")
        head.append("\r\n")
        payload = "".join(head).encode("latin-1")
        if method != "HEAD" and code >= 200 and code not in (204, 304):
            payload += out_body
        # Logged before sending, so a client that waits for each answer sees log lines in
        # the order of its requests.
        self._log(method, target, code, time.perf_counter() - started)
        connection.sock.sendall(payload)
        return keep_alive

    def _read_request(
        self, line: bytes, rfile: BinaryIO, sock: socket.socket
    ) -> tuple[str, str, str, list[tuple[str, str]], bytes, bool]:
        """Parse the request line, headers and body; raise ``_BadRequest`` on bad input."""
        if len(line) > MAX_LINE:
            raise _BadRequest(414, "request line too long")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3:
            raise _BadRequest(400, "malformed request line")
        method, target, version = parts
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise _BadRequest(400, "unsupported HTTP version")
        if not _TOKEN.match(method):
            raise _BadRequest(400, "malformed method")
        if not target or not (target[0] == "/" or target.startswith(("http://", "https://"))):
            raise _BadRequest(400, "malformed request target")
        if _BAD_TARGET.search(target):
            raise _BadRequest(400, "malformed request target")

        headers: list[tuple[str, str]] = []
        length_header: str | None = None
        chunked = False
        expect_continue = False
        connection_tokens = ""
        while True:
            raw = rfile.readline(MAX_LINE + 1)
            if len(raw) > MAX_LINE:
                raise _BadRequest(431, "header line too long")
            if raw in (b"\r\n", b"\n"):
                break
            if not raw:
                raise OSError("connection closed inside the headers")
            if raw[0] in b" \t":
                raise _BadRequest(400, "obsolete header folding")
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep or not _TOKEN.match(name):
                raise _BadRequest(400, "malformed header")
            value = value.strip(" \t\r\n")
            if _BAD_VALUE.search(value):
                raise _BadRequest(400, "malformed header")
            lowered = name.lower()
            if lowered == "content-length":
                if length_header is not None and length_header != value:
                    raise _BadRequest(400, "conflicting Content-Length")
                length_header = value
            elif lowered == "transfer-encoding":
                if value.lower() != "chunked" or chunked:
                    raise _BadRequest(400, "unsupported Transfer-Encoding")
                chunked = True
            elif lowered == "expect":
                expect_continue = value.lower() == "100-continue"
            elif lowered == "connection":
                connection_tokens = value.lower()
            headers.append((name, value))
            if len(headers) > MAX_HEADERS:
                raise _BadRequest(431, "too many headers")

        if version == "HTTP/1.1":
            keep_alive = "close" not in connection_tokens
        else:
            keep_alive = "keep-alive" in connection_tokens

        if chunked and length_header is not None:
            raise _BadRequest(400, "both Content-Length and Transfer-Encoding")
        length = 0
        if length_header is not None:
            if not length_header.isdigit() or not length_header.isascii():
                raise _BadRequest(400, "malformed Content-Length")
            length = int(length_header)
            if length > MAX_BODY:
                raise _BadRequest(413, "request body too large")
        if expect_continue and version == "HTTP/1.1" and (length or chunked):
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if chunked:
            body = _read_chunked(rfile)
        elif length:
            body = rfile.read(length)
            if len(body) < length:
                raise OSError("connection closed inside the body")
        else:
            body = b""
        return method, target, version, headers, body, keep_alive

    def _send_plain(self, sock: socket.socket, status: int, detail: str) -> None:
        """Answer a request we could not parse, and say the connection closes."""
        body = (detail + "\n").encode("ascii")
        phrase = HTTPStatus(status).phrase
        head = (
            f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        sock.sendall(head.encode("ascii") + body)

    def _log(self, method: str, target: str, status: int | None, seconds: float) -> None:
        """Report one request to ``on_request`` (path only, never the query string)."""
        if self.on_request is None:
            return
        try:
            self.on_request(method, target.partition("?")[0], status, seconds)
        except Exception as exc:  # noqa: BLE001  a failing logger is a test failure too
            self._record(exc)


def _read_chunked(rfile: BinaryIO) -> bytes:
    """Read a chunked body (RFC 9112 section 7.1), ignoring extensions and trailers."""
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = rfile.readline(MAX_LINE + 1)
        if not size_line:
            raise OSError("connection closed inside a chunked body")
        size_text = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _BadRequest(400, "malformed chunk size") from None
        if size < 0 or not size_text.isalnum():
            raise _BadRequest(400, "malformed chunk size")
        total += size
        if total > MAX_BODY:
            raise _BadRequest(413, "request body too large")
        if size == 0:
            break
        chunk = rfile.read(size)
        if len(chunk) < size:
            raise OSError("connection closed inside a chunked body")
        chunks.append(chunk)
        if rfile.readline(3) not in (b"\r\n", b"\n"):
            raise _BadRequest(400, "malformed chunk")
    for _ in range(MAX_HEADERS):
        trailer = rfile.readline(MAX_LINE + 1)
        if trailer in (b"\r\n", b"\n", b""):
            break
    return b"".join(chunks)


def _shutdown(sock: socket.socket) -> None:
    """Shut a socket down both ways, which wakes a thread blocked reading it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


# --------------------------------------------------------------------------- command line


def _is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback address."""
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {str(info[4][0]) for info in infos}
    return bool(addresses) and all(
        ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses
    )


def _rate_limit(text: str) -> tuple[int, float]:
    """Parse ``N/SECONDS`` (e.g. ``120/60``) for ``--rate-limit``."""
    import argparse

    count, sep, window = text.partition("/")
    try:
        parsed = (int(count), float(window))
    except ValueError:
        parsed = (0, 0.0)
    if not sep or parsed[0] <= 0 or not parsed[1] > 0:
        raise argparse.ArgumentTypeError(
            "expected N/SECONDS with N >= 1 and SECONDS > 0, e.g. 120/60"
        )
    return parsed


def _printable(text: str) -> str:
    """Escape control characters so a hostile path cannot rewrite the terminal."""
    if text.isprintable():
        return text
    return text.encode("unicode_escape").decode("ascii")


def _parser() -> Any:
    """The command line's argument parser."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="rbx-fakeserver",
        description=(
            "Serve a decrypting fake of the Roblox Open Cloud secrets store on loopback. "
            "The first stdout line is JSON with url, universe_ids and api_key; then one line "
            "per request. Ctrl-C or SIGTERM stops it."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; loopback only unless "
                             "--allow-remote)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a --host that is not a loopback address")
    parser.add_argument("--universe-id", type=int, action="append", dest="universe_ids",
                        metavar="ID", help="a universe to create (repeatable; one generated "
                                           "if absent)")
    parser.add_argument("--api-key", help="the API key to accept (generated if absent); it has "
                                          "read and write on every universe")
    parser.add_argument("--rate-limit", type=_rate_limit, metavar="N/SECONDS",
                        help="turn rate limiting on, e.g. 120/60")
    parser.add_argument("--expose-plaintext", action="store_true",
                        help="serve GET /_fake/universes/{universeId}/secrets/{secretId}/plaintext"
                             " (off: that path is a 404)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fake server from the command line until Ctrl-C or SIGTERM; return 0.

    Exits with status 2 on a bad argument, including a non-loopback ``--host`` without
    ``--allow-remote``.
    """
    import json
    import signal

    parser = _parser()
    args = parser.parse_args(argv)
    if not args.allow_remote and not _is_loopback(args.host):
        print(
            f"rbx-fakeserver: refusing to listen on {args.host!r}, which is not a loopback "
            "address; pass --allow-remote to allow it",
            file=sys.stderr,
        )
        return 2

    from fakeserver.backend import FakeOpenCloud

    fake = FakeOpenCloud(rate_limit=args.rate_limit, expose_plaintext=args.expose_plaintext)
    try:
        universe_ids = [fake.add_universe(u).universe_id for u in (args.universe_ids or [None])]
        api_key = fake.add_api_key(key=args.api_key)
    except ValueError as exc:
        # The backend's messages name the rule, never the rejected key.
        print(f"rbx-fakeserver: {exc}", file=sys.stderr)
        return 2

    log = _LogWriter(sys.stdout.fileno())

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        server = FakeServer(fake, args.host, args.port, on_request=log).start()
    except OSError as exc:
        print(f"rbx-fakeserver: cannot listen on {args.host}:{args.port}: {exc.strerror}",
              file=sys.stderr)
        return 1
    ready = {"url": server.url, "universe_ids": universe_ids, "api_key": api_key.key}
    print(json.dumps(ready), flush=True)
    # Only now: lines of requests that raced the first line wait in the queue until it is out.
    log.start()
    try:
        while not stop.wait(1.0):
            # Errors in server threads are the fake's bugs: show them, keep serving.
            _report(server.take_errors())
    finally:
        try:
            server.stop()
        except Exception as exc:  # noqa: BLE001  the client already got a 500; report, exit 0
            _report(list(getattr(exc, "exceptions", [exc])))
        log.close()
    return 0


class _LogWriter:
    """The command line's request log: one stdout line per request, written by its own thread.

    Server threads only queue lines. A parent that reads the first line and then never drains
    the pipe must not stall the fake once the pipe buffer is full, so lines beyond the queue's
    bound are dropped, and a closed pipe just ends the logging. The thread writes to the file
    descriptor, not through ``sys.stdout``, so that if it is stuck on a full pipe at exit it
    holds no lock the interpreter needs to shut down.
    """

    def __init__(self, fd: int, limit: int = 10_000) -> None:
        """Queue lines for file descriptor ``fd``; nothing is written before ``start()``."""
        self._fd = fd
        self._queue: queue.Queue[str | None] = queue.Queue(limit)
        self._thread = threading.Thread(target=self._run, name="fakeserver-log", daemon=True)
        self.dropped = 0

    def __call__(self, method: str, path: str, status: int | None, seconds: float) -> None:
        """Queue the line for one request (the ``FakeServer.on_request`` signature)."""
        shown = "dropped" if status is None else str(status)
        line = f"{_printable(method)} {_printable(path)} {shown} {seconds * 1000:.2f}ms\n"
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            self.dropped += 1

    def start(self) -> None:
        """Start writing queued lines."""
        self._thread.start()

    def close(self, timeout: float = 0.5) -> None:
        """Write what is queued (waiting at most ``timeout`` seconds) and stop."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        """Write lines in batches until ``close()`` or until the reader goes away."""
        while True:
            batch = [self._queue.get()]
            while len(batch) < 256:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            data = memoryview("".join(line for line in batch if line is not None).encode())
            try:
                while data:
                    data = data[os.write(self._fd, data):]
            except OSError:
                return  # BrokenPipeError included: nobody reads the log any more
            if None in batch:
                return


def _report(errors: Sequence[BaseException]) -> None:
    """Tell stderr where the fake raised, without the message (it could quote a request)."""
    import traceback

    for exc in errors:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        print(f"rbx-fakeserver: {type(exc).__name__} in a server thread{where}; the client got "
              "a 500", file=sys.stderr, flush=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
