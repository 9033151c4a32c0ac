"""The ``requests`` plumbing under the client: quiet connections that never retry, no proxies.

* :class:`QuietAdapter` is mounted for the base URL on the client's session. Its connections
  ignore ``http.client``'s debug printing, which would print every header (the API key) and
  body (the ciphertext) to stdout; and it never retries, because every retry is decided by
  :class:`rbxsecrets_magic.sending.Sender`, the same way whatever session it is given.
* :func:`no_proxies`: plain ``http://`` (loopback only) never goes through a proxy from the
  environment, which would carry the credential in clear text.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .settings import MAX_CONCURRENCY

__all__ = ["QuietAdapter", "no_proxies", "session_for"]


class _QuietHTTPConnection(HTTPConnection):
    """A connection that ignores ``http.client.HTTPConnection.debuglevel``.

    At a debuglevel above 0 (the usual recipe for debugging ``requests``) ``http.client``
    prints every header sent, the API key included, and the body, the ciphertext included.
    """

    debuglevel = 0


class _QuietHTTPSConnection(HTTPSConnection):
    """:class:`_QuietHTTPConnection` over TLS."""

    debuglevel = 0


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
