"""The fake's WSGI app mounted in a ``requests.Session``, in process.

No socket is opened: a request goes straight to the app, and the answer comes back as a
``requests.Response``, so code written against ``requests.Session`` runs unchanged::

    session = requests.Session()
    mount(fake, session)                         # or fake.mount(session)
    session.get("https://apis.roblox.com/cloud/v2/universes/1/secrets", headers=...)

It keeps what the loopback server does: the same WSGI environ
(:func:`~fakeserver.transports.wsgi.build_environ`), a ``DropConnection`` becomes the error a
dropped socket would raise (``requests.ConnectionError``), any other exception from the app is
raised in the caller's thread where the test sees it, and a read timeout the client asked for is
honoured, so injected latency times out as it would over the network. The adapter also applies the
urllib3 ``Retry`` of the adapter it shadows, so a session set up with
``HTTPAdapter(max_retries=Retry(...))`` retries and backs off exactly as it would over HTTP.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from requests.adapters import BaseAdapter

from ..errors import DropConnection
from .hosts import for_base_url
from .wsgi import (
    DEFAULT_BASE_URL,
    AppSource,
    AppTimeout,
    answer_within,
    app_of,
    as_sent,
    build_environ,
    call_app,
    script_name_of,
)

if TYPE_CHECKING:
    import requests
    from urllib3.response import HTTPResponse
    from urllib3.util.retry import Retry
    from urllib3.util.timeout import Timeout

    #: What requests accepts as a timeout: seconds, ``(connect, read)``, or urllib3's own.
    _Timeout = float | tuple[float, float] | tuple[float, None] | Timeout | None

__all__ = ["WSGIAdapter", "mount"]


def _mount_prefixes(base_url: str) -> list[str]:
    """The ``Session.mount`` prefixes that cover ``base_url`` and nothing beside it.

    Each ends at a path boundary: ``requests`` matches adapters by plain string prefix, so
    ``"https://apis.roblox.com"`` alone would also capture ``https://apis.roblox.com.evil.test``.
    When the base names no port, the same URL with its scheme's default port is covered too.
    """
    base = base_url.rstrip("/")
    parts = urlsplit(base)
    prefixes = [base + "/"]
    if parts.port is None and parts.hostname:
        default = 443 if parts.scheme == "https" else 80
        netloc = f"{parts.netloc}:{default}"
        prefixes.append(f"{parts.scheme}://{netloc}{parts.path}/")
    return prefixes


def _read_timeout(timeout: _Timeout) -> float | None:
    """The read part of a requests timeout (number, ``(connect, read)`` or urllib3 Timeout)."""
    from urllib3.util.timeout import Timeout

    if isinstance(timeout, Timeout):
        # Its read_timeout property needs a started connect timer; there is no connection.
        parts = [getattr(timeout, "_read", None), timeout.total]
    else:
        parts = [timeout[1] if isinstance(timeout, tuple) else timeout]
    limits = [float(p) for p in parts if isinstance(p, (int, float)) and not isinstance(p, bool)]
    return min(limits) if limits else None


def _body_bytes(body: Any) -> bytes:
    """A prepared request body as bytes (bytes, str, file-like or iterable of chunks)."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        # urllib3 2 sends a str body as UTF-8.
        return body.encode("utf-8")
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    read = getattr(body, "read", None)
    if read is not None:
        data = read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in body)


class _Pool:
    """Stands for urllib3's connection pool in error messages, which name host and port."""

    def __init__(self, url: str) -> None:
        """Describe the pool that would have served ``url``."""
        parts = urlsplit(url)
        kind = "HTTPSConnectionPool" if parts.scheme == "https" else "HTTPConnectionPool"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.text = f"{kind}(host={parts.hostname!r}, port={port})"

    def __str__(self) -> str:
        """The pool as urllib3 prints it."""
        return self.text


class _WireResponse:
    """Stands for the ``http.client`` response that urllib3 wraps on a real connection.

    ``requests`` reads ``Set-Cookie`` from it (``raw._original_response.msg``) into
    ``Response.cookies`` and the session's jar; without it, cookies would silently vanish.
    """

    def __init__(self, headers: list[tuple[str, str]], method: str) -> None:
        """Keep the answer's headers as an ``http.client.HTTPMessage``."""
        from http.client import HTTPMessage

        self.msg = HTTPMessage()
        for name, value in headers:
            self.msg[name] = value  # appends: repeated headers (Set-Cookie) all stay
        self._method = method
        self._closed = False

    def close(self) -> None:
        """Mark it closed, as urllib3 does once the body is read."""
        self._closed = True

    def isclosed(self) -> bool:
        """Whether ``close`` was called."""
        return self._closed


class WSGIAdapter(BaseAdapter):
    """A requests transport adapter that hands each request to a WSGI app in-process.

    Parameters
    ----------
    app:
        A ``FakeOpenCloud`` or any WSGI callable.
    max_retries:
        A urllib3 ``Retry`` (or a count) applied as ``HTTPAdapter`` would. By default the
        adapter borrows, at each request, the ``max_retries`` of the adapter the session
        would have used for that URL without this one.
    base_url:
        Where the adapter is mounted. A path in it (``"http://proxy.test/roblox"``) is the
        app's ``SCRIPT_NAME``: the app still sees ``/cloud/v2/...``.
    """

    def __init__(
        self, app: AppSource, *, max_retries: Retry | int | None = None, base_url: str = ""
    ) -> None:
        """Wrap ``app``; see the class docstring for ``max_retries`` and ``base_url``."""
        super().__init__()
        self.app = for_base_url(app_of(app), base_url)
        self.script_name = script_name_of(base_url)
        self.max_retries = max_retries
        self._session: weakref.ReferenceType[requests.Session] | None = None

    def bind(self, session: requests.Session) -> None:
        """Remember the session this adapter is mounted on, to find the adapter it shadows."""
        self._session = weakref.ref(session)

    def _retries(self, url: str) -> Retry:
        """The urllib3 ``Retry`` to apply to a request for ``url``."""
        from urllib3.util.retry import Retry

        policy = self.max_retries
        if policy is None:
            session = self._session() if self._session is not None else None
            if session is not None:
                for prefix, adapter in session.adapters.items():
                    if adapter is not self and url.lower().startswith(prefix.lower()):
                        policy = getattr(adapter, "max_retries", None)
                        break
        if policy is None:
            # requests' own default: no retries, and never retry after a read started.
            return Retry(0, read=False)
        return Retry.from_int(policy)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: _Timeout = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Answer ``request`` with the app, retrying as the urllib3 ``Retry`` says."""
        from http.client import RemoteDisconnected

        import requests
        from urllib3.exceptions import (
            MaxRetryError,
            ProtocolError,
            ReadTimeoutError,
            ResponseError,
        )

        url = request.url or ""
        method = (request.method or "GET").upper()
        retries = self._retries(url)
        body = _body_bytes(request.body)
        read_timeout = _read_timeout(timeout)
        started = time.perf_counter()
        # Duck-typed: urllib3's errors only name the pool in their messages.
        pool: Any = _Pool(url)
        while True:
            try:
                raw = self._once(request, method, url, body, read_timeout)
            except (DropConnection, AppTimeout) as signal:
                error: Exception
                if isinstance(signal, AppTimeout):
                    error = ReadTimeoutError(
                        pool, url, f"Read timed out. (read timeout={read_timeout})"
                    )
                else:
                    error = ProtocolError(
                        "Connection aborted.",
                        RemoteDisconnected("Remote end closed connection without response"),
                    )
                # The same exceptions HTTPAdapter.send turns urllib3's failures into.
                try:
                    retries = retries.increment(method, url, error=error, _pool=pool)
                except MaxRetryError as exc:
                    raise requests.ConnectionError(exc, request=request) from None
                except ReadTimeoutError as exc:
                    raise requests.ReadTimeout(exc, request=request) from None
                except ProtocolError as exc:
                    raise requests.ConnectionError(exc, request=request) from None
                retries.sleep()
                continue

            has_retry_after = bool(raw.headers.get("Retry-After"))
            if retries.is_retry(method, raw.status, has_retry_after):
                try:
                    retries = retries.increment(method, url, response=raw, _pool=pool)
                except MaxRetryError as exc:
                    if retries.raise_on_status:
                        if isinstance(exc.reason, ResponseError):
                            raise requests.exceptions.RetryError(exc, request=request) from None
                        raise requests.ConnectionError(exc, request=request) from None
                    return self._build(request, raw, started)
                retries.sleep(raw)
                continue
            return self._build(request, raw, started)

    def _once(
        self,
        request: requests.PreparedRequest,
        method: str,
        url: str,
        body: bytes,
        read_timeout: float | None,
    ) -> HTTPResponse:
        """One exchange with the app, as a urllib3 ``HTTPResponse``."""
        import io

        from urllib3 import HTTPHeaderDict
        from urllib3.response import HTTPResponse

        parts = urlsplit(url)
        # The stubs say str, but a prepared request keeps header values given as bytes.
        sent: Iterable[tuple[str, str | bytes]] = request.headers.items()
        headers = [
            (name, value.decode("latin-1") if isinstance(value, bytes) else value)
            for name, value in sent
        ]
        if not any(name.lower() == "host" for name, _ in headers):
            headers.insert(0, ("Host", parts.netloc))
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        port = parts.port or (443 if parts.scheme == "https" else 80)
        environ = build_environ(
            method,
            target,
            headers,
            body,
            scheme=parts.scheme or "http",
            server_name=parts.hostname or "",
            server_port=port,
            script_name=self.script_name,
        )
        status, out_headers, out_body = answer_within(
            read_timeout, lambda: call_app(self.app, environ)
        )
        code, reason, out_body = as_sent(method, status, out_headers, out_body)
        header_dict = HTTPHeaderDict()
        for name, value in out_headers:
            header_dict.add(name, value)
        return HTTPResponse(
            body=io.BytesIO(out_body),
            headers=header_dict,
            status=code,
            reason=reason,
            version=11,
            version_string="HTTP/1.1",
            preload_content=False,
            decode_content=False,
            request_method=method,
            request_url=url,
            # Duck-typed: urllib3 and requests use only msg, close, isclosed and _method.
            original_response=cast("Any", _WireResponse(out_headers, method)),
        )

    def _build(
        self, request: requests.PreparedRequest, raw: HTTPResponse, started: float
    ) -> requests.Response:
        """Turn a urllib3 response into a ``requests.Response``, as ``HTTPAdapter`` does."""
        import requests
        from requests.cookies import extract_cookies_to_jar
        from requests.structures import CaseInsensitiveDict
        from requests.utils import get_encoding_from_headers

        response = requests.Response()
        response.status_code = raw.status
        response.headers = CaseInsensitiveDict(raw.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = raw
        response.reason = raw.reason or ""  # always set: _once passes the status line's reason
        # The stubs say str, but requests itself allows a bytes URL here.
        url: str | bytes = request.url or ""
        response.url = url.decode("utf-8") if isinstance(url, bytes) else url
        response.request = request
        extract_cookies_to_jar(response.cookies, request, raw)  # type: ignore[no-untyped-call]
        response.connection = self  # type: ignore[assignment]  # as HTTPAdapter does
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return response

    def close(self) -> None:
        """Nothing to release: no connection pool."""


def mount(
    fake: AppSource, session: requests.Session, base_url: str = DEFAULT_BASE_URL
) -> WSGIAdapter:
    """Send every request ``session`` makes under ``base_url`` to the fake, in-process.

    Returns the mounted ``WSGIAdapter``. Other URLs keep their adapters. The session's retry
    policy for ``base_url`` (from its ``HTTPAdapter``) still applies.
    """
    adapter = WSGIAdapter(fake, base_url=base_url)
    adapter.bind(session)
    for prefix in _mount_prefixes(base_url):
        session.mount(prefix, adapter)
    return adapter
