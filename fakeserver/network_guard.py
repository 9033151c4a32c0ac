"""Refuse every connection and name lookup beyond loopback while a block runs.

The pytest plugin turns this on for tests that use the fake, so a test that forgets
``base_url`` (and would otherwise reach ``https://apis.roblox.com``) fails at once::

    with loopback_only("@pytest.mark.fake_open_cloud(allow_network=True)"):
        requests.get("https://apis.roblox.com")  # NetworkBlockedError, no DNS lookup made

It patches the ``socket`` module, which ``requests`` (urllib3), ``httpx`` (httpcore, anyio)
and raw sockets all go through: ``socket.getaddrinfo``, ``gethostbyname(_ex)``,
``create_connection``, and ``socket.socket.connect``/``connect_ex`` (so ``ssl`` sockets too)
and ``sendto`` (UDP).
A name is judged before it is looked up, so a blocked name is never sent to a resolver.
Loopback is ``localhost``, 127.0.0.0/8 and ``::1`` (also IPv4-mapped); Unix sockets and other
address families are left alone. The patch is process-wide (server threads included) and
nests: it is undone when the outermost block ends.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .errors import NetworkBlockedError
from .transports.hosts import is_loopback_host

__all__ = ["NetworkBlockedError", "is_loopback_host", "loopback_only"]

# Binding to these (getaddrinfo with AI_PASSIVE, a server's wildcard) reaches no other host.
_UNSPECIFIED = {"", "0.0.0.0", "::"}  # noqa: S104  a name judged, not an address bound


class _Guard:
    """The installed patches and how deep the nesting is; one per process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.hint = ""
        self.saved: list[tuple[Any, str, Any]] = []

    def refuse(self, host: object, port: object = None) -> NetworkBlockedError:
        """The one-line error for ``host``."""
        shown = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
        where = f"{shown}:{port}" if port not in (None, 0, "") else shown
        return NetworkBlockedError(
            f"blocked network access to {where}: only loopback is reachable in this test "
            f"(the fake Open Cloud's network guard); to allow it: {self.hint}"
        )

    def check_address(self, address: object) -> None:
        """Raise unless ``address`` (a ``connect`` argument) is loopback or not an IP address."""
        __tracebackhide__ = True  # pytest shows the caller's line
        if not isinstance(address, tuple) or len(address) < 2:
            return  # AF_UNIX paths, and families with addresses of their own
        host, port = address[0], address[1]
        if not is_loopback_host(host):
            raise self.refuse(host, port)

    def install(self) -> None:
        """Patch the socket module, remembering what was there."""
        for owner, name, replacement in [*self._lookup_patches(), *self._socket_patches()]:
            # vars(): socket.socket inherits connect from _socket.socket; undo must not copy it.
            self.saved.append((owner, name, vars(owner).get(name, _MISSING)))
            setattr(owner, name, replacement)

    def _lookup_patches(self) -> list[tuple[Any, str, Any]]:
        """Name lookups and ``create_connection``, judged before anything is looked up."""
        real_getaddrinfo = socket.getaddrinfo
        real_create_connection = socket.create_connection
        guard = self

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True  # pytest shows the caller's line
            if host is not None and host not in _UNSPECIFIED and not is_loopback_host(host):
                raise guard.refuse(host, port)
            return real_getaddrinfo(host, port, *args, **kwargs)

        def by_name(original: Callable[[str], Any]) -> Callable[[str], Any]:
            def lookup(hostname: str) -> Any:
                __tracebackhide__ = True  # pytest shows the caller's line
                if not is_loopback_host(hostname):
                    raise guard.refuse(hostname)
                return original(hostname)

            return lookup

        def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
            __tracebackhide__ = True  # pytest shows the caller's line
            guard.check_address(address)
            return real_create_connection(address, *args, **kwargs)

        return [
            (socket, "getaddrinfo", getaddrinfo),
            (socket, "gethostbyname", by_name(socket.gethostbyname)),
            (socket, "gethostbyname_ex", by_name(socket.gethostbyname_ex)),
            (socket, "create_connection", create_connection),
        ]

    def _socket_patches(self) -> list[tuple[Any, str, Any]]:
        """The socket methods that take an address: ``connect``, ``connect_ex``, ``sendto``."""
        guard = self

        def checked(original: Callable[..., Any], least: int) -> Callable[..., Any]:
            """``original``, first checking its last argument, the address (IP sockets only).

            ``least`` is how many arguments a call with an address has at least.
            """

            def method(sock: socket.socket, *args: Any) -> Any:
                __tracebackhide__ = True  # pytest shows the caller's line
                if sock.family in (socket.AF_INET, socket.AF_INET6) and len(args) >= least:
                    guard.check_address(args[-1])
                return original(sock, *args)

            return method

        return [
            (socket.socket, "connect", checked(socket.socket.connect, 1)),
            (socket.socket, "connect_ex", checked(socket.socket.connect_ex, 1)),
            # sendto(data, address) or sendto(data, flags, address).
            (socket.socket, "sendto", checked(socket.socket.sendto, 2)),
        ]

    def uninstall(self) -> None:
        """Put back what ``install`` replaced."""
        for owner, name, original in reversed(self.saved):
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self.saved.clear()


_MISSING = object()
_GUARD = _Guard()


@contextmanager
def loopback_only(hint: str) -> Iterator[None]:
    """Refuse connections and name lookups beyond loopback until the block ends.

    ``hint`` says how to allow the network; it ends the error's one line. Nested blocks keep
    the outermost block's hint.
    """
    with _GUARD.lock:
        if _GUARD.depth == 0:
            _GUARD.hint = hint
            _GUARD.install()
        _GUARD.depth += 1
    try:
        yield
    finally:
        with _GUARD.lock:
            _GUARD.depth -= 1
            if _GUARD.depth == 0:
                _GUARD.uninstall()
