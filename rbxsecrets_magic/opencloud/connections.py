"""The ``requests`` plumbing under the client: quiet, deadline-bound connections, no proxies.

* :class:`QuietAdapter` is mounted for the base URL on the client's session. Its connections
  ignore ``http.client``'s debug printing, which would print every header (the API key) and
  body (the ciphertext) to stdout; and it never retries, because every retry is decided by
  :class:`rbxsecrets_magic.opencloud.sending.Sender`, the same way whatever session it is given.
* :func:`exchange`: while the client sends one request, its connections hold that request to
  one deadline across connecting, the TLS handshake, sending and every read of the answer
  (each socket operation may take only what is left), so a server that sends one byte at a
  time cannot keep a call busy past its ``timeout``. They also record whether any byte of the
  request was written: a write that provably was not sent can be sent again safely.
* :func:`debug_output_would_print`: a caller's session may route the base URL through an
  adapter of its own, whose connections the client does not own and cannot quiet without
  changing them for the caller's other requests too. While ``http.client`` debug output is on,
  the client then refuses to send (:class:`~rbxsecrets_magic.opencloud.sending.Sender`) rather than
  print the key.
* :func:`no_proxies`: plain ``http://`` (loopback only) never goes through a proxy from the
  environment, which would carry the credential in clear text.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError

from ..settings import MAX_CONCURRENCY

__all__ = [
    "Exchange",
    "QuietAdapter",
    "debug_output_would_print",
    "exchange",
    "no_proxies",
    "session_for",
]

_current = threading.local()


class Exchange:
    """One of the client's requests, as its connection sees it.

    Attributes
    ----------
    deadline:
        ``time.monotonic()`` by which the whole request must be done.
    seen:
        Whether one of the client's own connections carried it (else a caller's adapter did,
        and ``sent`` proves nothing).
    sent:
        Whether any byte of the request was written to a socket.
    """

    __slots__ = ("deadline", "seen", "sent")

    def __init__(self, timeout: float) -> None:
        """Start the clock: the request must be done within ``timeout`` seconds."""
        self.deadline = time.monotonic() + timeout
        self.seen = False
        self.sent = False

    def remaining(self) -> float:
        """Seconds left before the deadline (0 or less once it has passed)."""
        return self.deadline - time.monotonic()


@contextmanager
def exchange(timeout: float) -> Iterator[Exchange]:
    """Hold the client's connections, in this thread, to one deadline ``timeout`` s away."""
    previous = getattr(_current, "exchange", None)
    current = Exchange(timeout)
    _current.exchange = current
    try:
        yield current
    finally:
        _current.exchange = previous


def _exchange() -> Exchange | None:
    found: Exchange | None = getattr(_current, "exchange", None)
    return found


class _DeadlineReader(io.RawIOBase):
    """Reads a socket, giving each read only the time left before the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self._sock.settimeout(left)
        return self._sock.recv_into(buffer)


class _DeadlineResponse(http.client.HTTPResponse):
    """``http.client``'s response, reading through :class:`_DeadlineReader` in an exchange.

    ``http.client`` reads the status line, the headers and the body with many small reads;
    a per-read timeout never fires against a server that sends a byte every so often.
    """

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        current = _exchange()
        if current is not None:
            self.fp.close()
            self.fp = io.BufferedReader(_DeadlineReader(sock, current.deadline))


class _Quiet:
    """Mixed into the client's connections: no debug output, one deadline, a record of sending.

    At a ``debuglevel`` above 0 (the usual recipe for debugging ``requests``) ``http.client``
    prints every header sent, the API key included, and the body, the ciphertext included.
    """

    debuglevel = 0
    response_class: type[http.client.HTTPResponse] = _DeadlineResponse
    timeout: Any
    sock: Any
    auto_open: int

    def _new_conn(self) -> socket.socket:
        current = _exchange()
        if current is not None:
            current.seen = True
            left = current.remaining()
            if left <= 0:
                raise ConnectTimeoutError(self, "connect timed out (no time left)")
            if isinstance(self.timeout, (int, float)):
                self.timeout = min(self.timeout, left)
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        if current is not None:
            # The TLS handshake that may follow gets only what is left too.
            sock.settimeout(max(current.remaining(), 0.001))
        return sock

    def send(self, data: Any) -> None:
        current = _exchange()
        if current is not None:
            current.seen = True
            if self.sock is None and self.auto_open:
                self.connect()  # type: ignore[attr-defined]
            left = current.remaining()
            if left <= 0:
                raise TimeoutError("timed out")  # before writing: nothing was sent
            current.sent = True
            self.sock.settimeout(left)
        super().send(data)  # type: ignore[misc]


class _QuietHTTPConnection(_Quiet, HTTPConnection):
    """A connection that ignores ``http.client.HTTPConnection.debuglevel`` (see :class:`_Quiet`)."""


class _QuietHTTPSConnection(_Quiet, HTTPSConnection):
    """:class:`_QuietHTTPConnection` over TLS."""


class _QuietHTTPPool(HTTPConnectionPool):
    ConnectionCls = _QuietHTTPConnection


class _QuietHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _QuietHTTPSConnection


_QUIET_POOLS = {"http": _QuietHTTPPool, "https": _QuietHTTPSPool}


class QuietAdapter(HTTPAdapter):
    """The adapter the client mounts: quiet connections, one per thread, no urllib3 retries."""

    def __init__(self) -> None:
        """Keep up to ``MAX_CONCURRENCY`` connections; ``max_retries`` stays requests' 0."""
        super().__init__(pool_connections=1, pool_maxsize=MAX_CONCURRENCY)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Create the pool manager, with quiet connections."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _QUIET_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> urllib3.PoolManager:
        """The manager for an HTTP(S) proxy, with quiet connections (SOCKS left as is)."""
        manager: urllib3.PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):
            manager.pool_classes_by_scheme = _QUIET_POOLS
        return manager


def session_for(base_url: str, session: requests.Session | None) -> requests.Session:
    """``session`` (or a new one) with :class:`QuietAdapter` for ``base_url`` where it fits.

    A stock ``HTTPAdapter`` for the base URL, whatever its ``max_retries``, is replaced for
    that URL only, so urllib3 retries nothing behind the client's back. An adapter of another
    kind (such as ``fakeserver``'s in-process one) is the caller's choice and is left alone.
    """
    session = session if session is not None else requests.Session()
    prefix = f"{base_url}/"
    if type(session.get_adapter(prefix)) is HTTPAdapter:
        session.mount(prefix, QuietAdapter())
    return session


def debug_output_would_print(session: requests.Session, url: str) -> bool:
    """Whether ``http.client`` debug output would print the headers of a request to ``url``.

    True when the session's adapter for ``url`` talks through ``http.client`` (an
    ``HTTPAdapter``, stock or a caller's subclass) with connections that are not quiet, while
    ``http.client.HTTPConnection.debuglevel`` (or that connection class's own) is above 0.
    Adapters that answer in-process (``fakeserver``'s, mocks) never print.
    """
    try:
        adapter = session.get_adapter(url)
    except requests.exceptions.InvalidSchema:
        return False
    if not isinstance(adapter, HTTPAdapter):
        return False
    level: object = http.client.HTTPConnection.debuglevel
    classes = getattr(getattr(adapter, "poolmanager", None), "pool_classes_by_scheme", None)
    if isinstance(classes, Mapping):
        pool = classes.get(urlsplit(url).scheme)
        level = getattr(getattr(pool, "ConnectionCls", None), "debuglevel", level)
    return isinstance(level, int) and level > 0


def no_proxies(base_url: str) -> dict[str, str]:
    """``proxies=`` for requests to ``base_url``: none at all for plain ``http://``.

    ``requests`` takes ``HTTP_PROXY``/``ALL_PROXY`` from the environment, which would carry
    the credential in clear text to the proxy; a None entry overrides the environment's
    (requests documents it; its type stubs do not admit None, hence the cast).
    """
    parts = urlsplit(base_url)
    if parts.scheme != "http":
        return {}
    host = parts.hostname or ""
    keys = ("http", "all", f"http://{host}", f"all://{host}")
    return cast("dict[str, str]", dict.fromkeys(keys))
