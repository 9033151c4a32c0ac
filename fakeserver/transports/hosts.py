"""Which ``Host`` the fake answers: its own names only, a defence against DNS rebinding.

A web page can point a name it controls at 127.0.0.1 and have the browser send requests to the
fake; they arrive with that name in ``Host``. With ``--expose-plaintext`` the fake would hand
such a page plaintexts. So each transport answers only the hosts that name it:

- the loopback server (:class:`~fakeserver.transports.server.FakeServer`): ``localhost``,
  127.0.0.0/8, ``[::1]`` and the address it is bound to (bound to all interfaces with
  ``--allow-remote``: any IP address, since rebinding needs a name);
- the in-process transports (``fake.mount``, ``fake.respx_route``): the host of the base URL
  they intercept (``apis.roblox.com`` by default).

Any other ``Host`` gets ``421 Misdirected Request`` with a one-line body. A request without
``Host`` (HTTP/1.0) is answered: a browser always sends one. Only the name is compared, not
the port, so a forwarded port still works.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = ["HostCheck", "for_base_url", "host_name", "is_loopback_host"]

_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def is_loopback_host(host: object) -> bool:
    """Whether ``host`` (a name or address, as a socket call or a URL gives it) means this machine.

    ``localhost``, 127.0.0.0/8 and ``::1`` (also IPv4-mapped, bracketed or with a zone). No
    other name is accepted: judging it would need a lookup.
    """
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        return address in _LOOPBACK_V4
    return int(address) == 1


def _is_address(name: str) -> bool:
    """Whether ``name`` is an IP address rather than a name."""
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True


def host_name(value: str) -> str:
    """The name in a ``Host`` value (``name``, ``name:port``, ``[v6]:port``), lower-cased."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    name, _, _ = value.partition(":") if value.count(":") == 1 else (value, "", "")
    return name.rstrip(".")


class HostCheck:
    """WSGI middleware: answer ``421`` to a request whose ``Host`` does not name the fake.

    Parameters
    ----------
    app:
        The WSGI app behind it.
    names:
        A function giving the accepted host names (lower case, IPv6 without brackets) at the
        time of the request: a server knows its bound address only once it has started.
    loopback:
        Also accept every loopback name and address (the loopback server does).
    addresses:
        Also accept every IP address (a server bound to all interfaces, reached by any of
        them): rebinding needs a name, so an address in ``Host`` cannot be one.
    """

    def __init__(
        self,
        app: WSGIApp,
        names: Callable[[], Iterable[str]],
        *,
        loopback: bool = False,
        addresses: bool = False,
    ) -> None:
        """Check requests for ``app``; see the class docstring."""
        self.app = app
        self._names = names
        self._loopback = loopback
        self._addresses = addresses

    def allows(self, host: str) -> bool:
        """Whether a ``Host`` header value names the fake."""
        name = host_name(host)
        if self._loopback and is_loopback_host(name):
            return True
        if self._addresses and _is_address(name):
            return True
        return name in {n.lower().strip("[]").rstrip(".") for n in self._names()}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Pass the request on, or refuse it in one line (never echoing the ``Host`` sent)."""
        host = environ.get("HTTP_HOST")
        if host is None or self.allows(host):
            return self.app(environ, start_response)
        accepted = sorted(self._names())
        if self._loopback:
            accepted = sorted({"localhost", "127.0.0.1", "[::1]", *accepted})
        body = (
            "misdirected request: this fake answers only Host "
            + ", ".join(accepted)
            + " (a request for another name, e.g. through DNS rebinding, is refused)\n"
        ).encode("ascii", "replace")
        start_response(
            "421 Misdirected Request",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        )
        return [body]


def for_base_url(app: WSGIApp, base_url: str) -> WSGIApp:
    """``app`` answering only the host of ``base_url`` (an in-process transport's), if any."""
    name = urlsplit(base_url).hostname if base_url else None
    if not name:
        return app
    return HostCheck(app, lambda: (name,))
