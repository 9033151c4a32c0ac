"""The fake's WSGI app mounted in-process, for ``requests`` and for ``httpx``.

No socket is opened: a request goes straight to the app, and the answer comes back as the
client library's own response object, so code written against ``requests.Session`` or
``httpx.Client`` runs unchanged::

    session = requests.Session()
    mount(fake, session)                         # or fake.mount(session)
    session.get("https://apis.roblox.com/cloud/v2/universes/1/secrets", headers=...)

    with respx_route(fake):                      # or fake.respx_route()
        httpx.get("https://apis.roblox.com/cloud/v2/universes/1/secrets", headers=...)

Both keep what the loopback server does: the same WSGI environ (``server.build_environ``), a
``DropConnection`` becomes the error a dropped socket would raise (``requests.ConnectionError``,
``httpx.RemoteProtocolError``), any other exception from the app is raised in the caller's
thread where the test sees it, and a read timeout the client asked for is honoured, so injected
latency times out as it would over the network. On respx's async path (``httpx.AsyncClient``)
the app runs in a worker thread while the event loop goes on, so ``asyncio.gather`` of slow
requests overlaps them as a server would; a sync ``httpx.Client``, even inside a coroutine, is
answered in the caller's thread. The requests adapter also applies the urllib3
``Retry`` of the adapter it shadows, so a session set up with
``HTTPAdapter(max_retries=Retry(...))`` retries and backs off exactly as it would over HTTP.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

from requests.adapters import BaseAdapter

from fakeserver.errors import DropConnection
from fakeserver.wsgi import WSGIApp, build_environ, call_app

if TYPE_CHECKING:
    import httpx
    import requests
    import respx

__all__ = ["WSGIAdapter", "httpx_handler", "mount", "respx_route"]

DEFAULT_BASE_URL = "https://apis.roblox.com"
_T = TypeVar("_T")


def _app_of(fake: Any) -> WSGIApp:
    """The WSGI callable behind a ``FakeOpenCloud`` (or the callable itself)."""
    app = getattr(fake, "app", fake)
    if not callable(app):
        raise TypeError("expected a FakeOpenCloud or a WSGI callable")
    return cast("WSGIApp", app)


class _Timeout(Exception):
    """The app did not answer within the read timeout the client asked for."""


def _within(timeout: float | None, work: Callable[[], _T]) -> _T:
    """Run ``work`` and return its result, or raise ``_Timeout`` after ``timeout`` seconds.

    Without a timeout the work runs in the caller's thread. With one it runs in a daemon
    thread that is abandoned on timeout, as a client abandons a socket; the app finishes
    the request on its own, which is also what a real server would do.
    """
    if timeout is None:
        return work()
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # noqa: BLE001  handed to the caller's thread
            outcome.append((False, exc))

    worker = threading.Thread(target=run, name="fakeserver-inprocess", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise _Timeout
    ok, value = outcome[0]
    if not ok:
        raise value
    return cast("_T", value)


async def _within_async(timeout: float | None, work: Callable[[], _T]) -> _T:
    """``_within`` for a coroutine: ``work`` runs in a daemon thread, the event loop goes on.

    A thread of its own rather than ``asyncio.to_thread``: the default executor has few
    workers, which would queue concurrent requests, and ``asyncio.run`` waits for its threads
    on exit, so an abandoned slow answer would hold the program. Context variables are copied
    into the thread, as ``to_thread`` does.
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[_T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(ok: bool, value: Any) -> None:
        if answer.done():  # the caller timed out or was cancelled
            return
        if ok:
            answer.set_result(value)
        else:
            answer.set_exception(value)

    def run() -> None:
        try:
            outcome: tuple[bool, Any] = (True, context.run(work))
        except BaseException as exc:  # noqa: BLE001  handed to the awaiting task
            outcome = (False, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:
            pass  # the loop is closed: nobody is waiting for this answer any more

    threading.Thread(target=run, name="fakeserver-inprocess", daemon=True).start()
    try:
        # asyncio.wait, not wait_for: a TimeoutError raised by the app itself stays an error.
        await asyncio.wait((answer,), timeout=timeout)
        if not answer.done():
            raise _Timeout
        return answer.result()
    finally:
        if not answer.done():
            answer.cancel()


def _script_name(base_url: str) -> str:
    """The path part of a base URL, without a trailing slash (``""`` for none)."""
    return urlsplit(base_url).path.rstrip("/")


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


def _on_the_wire(
    method: str, status: str, headers: list[tuple[str, str]], body: bytes
) -> tuple[int, str, bytes]:
    """``(code, reason, body)`` as the loopback server would send the app's answer.

    Adds the ``Content-Length`` it would send if the app set none, and, like it, sends no body
    for ``HEAD`` or a status that has none (urllib3 reads such a body as a protocol error).
    """
    code_text, _, reason = status.partition(" ")
    code = int(code_text)
    if not any(name.lower() == "content-length" for name, _ in headers):
        headers.append(("Content-Length", str(len(body))))
    if method == "HEAD" or code < 200 or code in (204, 304):
        body = b""
    return code, reason, body


# --------------------------------------------------------------------------- requests


def _read_timeout(timeout: Any) -> float | None:
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

    def __init__(self, app: Any, *, max_retries: Any = None, base_url: str = "") -> None:
        """Wrap ``app``; see the class docstring for ``max_retries`` and ``base_url``."""
        super().__init__()
        self.app = _app_of(app)
        self.script_name = _script_name(base_url)
        self.max_retries = max_retries
        self._session: weakref.ReferenceType[requests.Session] | None = None

    def bind(self, session: requests.Session) -> None:
        """Remember the session this adapter is mounted on, to find the adapter it shadows."""
        self._session = weakref.ref(session)

    def _retries(self, url: str) -> Any:
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
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
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
        pool: Any = _Pool(url)
        while True:
            try:
                raw = self._once(request, method, url, body, read_timeout)
            except (DropConnection, _Timeout) as signal:
                error: Exception
                if isinstance(signal, _Timeout):
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
    ) -> Any:
        """One exchange with the app, as a urllib3 ``HTTPResponse``."""
        import io

        from urllib3 import HTTPHeaderDict
        from urllib3.response import HTTPResponse

        parts = urlsplit(url)
        headers = [
            (name, value.decode("latin-1") if isinstance(value, bytes) else value)
            for name, value in request.headers.items()
        ]
        if not any(name.lower() == "host" for name, _ in headers):
            headers.insert(0, ("Host", parts.netloc))
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        port = parts.port or (443 if parts.scheme == "https" else 80)
        environ = build_environ(
            method, target, headers, body,
            scheme=parts.scheme or "http", server_name=parts.hostname or "", server_port=port,
            script_name=self.script_name,
        )
        status, out_headers, out_body = _within(read_timeout, lambda: call_app(self.app, environ))
        code, reason, out_body = _on_the_wire(method, status, out_headers, out_body)
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
        self, request: requests.PreparedRequest, raw: Any, started: float
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
        response.reason = raw.reason
        url = request.url or ""
        response.url = url.decode("utf-8") if isinstance(url, bytes) else url
        response.request = request
        extract_cookies_to_jar(response.cookies, request, raw)
        response.connection = self  # type: ignore[assignment]  # as HTTPAdapter does
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        return response

    def close(self) -> None:
        """Nothing to release: no connection pool."""


def mount(fake: Any, session: requests.Session, base_url: str = DEFAULT_BASE_URL) -> WSGIAdapter:
    """Send every request ``session`` makes under ``base_url`` to the fake, in-process.

    Returns the mounted ``WSGIAdapter``. Other URLs keep their adapters. The session's retry
    policy for ``base_url`` (from its ``HTTPAdapter``) still applies.
    """
    adapter = WSGIAdapter(fake, base_url=base_url)
    adapter.bind(session)
    for prefix in _mount_prefixes(base_url):
        session.mount(prefix, adapter)
    return adapter


# --------------------------------------------------------------------------- httpx / respx


_Answer = tuple[str, list[tuple[str, str]], bytes]


class _HttpxExchange:
    """Turns an ``httpx.Request`` into a call of the app, and its answer into a response."""

    def __init__(self, fake: Any, base_url: str) -> None:
        """Serve ``fake``'s app; a path in ``base_url`` becomes its ``SCRIPT_NAME``."""
        self.app = _app_of(fake)
        self.script_name = _script_name(base_url)

    def _call(self, request: httpx.Request) -> tuple[Callable[[], _Answer], float | None]:
        """The app call for ``request`` and the read timeout the client asked for."""
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        environ = build_environ(
            request.method, url.raw_path.decode("latin-1"), headers, request.content,
            scheme=url.scheme, server_name=url.host, server_port=port,
            script_name=self.script_name,
        )
        timeouts = request.extensions.get("timeout") or {}
        return functools.partial(call_app, self.app, environ), timeouts.get("read")

    def answer(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` in the caller's thread (or a timed worker, see ``_within``)."""
        call, read_timeout = self._call(request)
        with _httpx_errors(request):
            result = _within(read_timeout, call)
        return _httpx_response(request, result)

    async def answer_async(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` from a worker thread while the event loop goes on."""
        call, read_timeout = self._call(request)
        with _httpx_errors(request):
            result = await _within_async(read_timeout, call)
        return _httpx_response(request, result)


@contextmanager
def _httpx_errors(request: httpx.Request) -> Iterator[None]:
    """Raise what httpx raises for a dropped connection or a read timeout."""
    import httpx

    try:
        yield
    except DropConnection:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        ) from None
    except _Timeout:
        raise httpx.ReadTimeout("timed out", request=request) from None


def _httpx_response(request: httpx.Request, result: _Answer) -> httpx.Response:
    """The ``httpx.Response`` for the app's answer to ``request``."""
    import httpx

    status, out_headers, out_body = result
    code, reason, out_body = _on_the_wire(request.method, status, out_headers, out_body)
    return httpx.Response(
        code,
        headers=out_headers,
        content=out_body,
        request=request,
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason.encode("latin-1")},
    )


def httpx_handler(
    fake: Any, base_url: str = ""
) -> Callable[[httpx.Request], httpx.Response]:
    """Return a function that answers an ``httpx.Request`` with the fake's app.

    A path in ``base_url`` is stripped from request paths under it (see ``WSGIAdapter``).

    Use it as a respx side effect (``respx_mock.route(...).mock(side_effect=...)``) or with
    ``httpx.MockTransport``, which serves both ``httpx.Client`` and ``httpx.AsyncClient``.
    It answers in the caller's thread, so with an ``AsyncClient`` slow answers hold the event
    loop; ``respx_route`` does not. A ``DropConnection`` raises
    ``httpx.RemoteProtocolError``; an answer slower than the request's read timeout raises
    ``httpx.ReadTimeout``.
    """
    return _HttpxExchange(fake, base_url).answer


# Set while respx resolves a request for an AsyncClient: a side effect may then return an
# awaitable, which respx awaits. Its sync path would take the awaitable for the response.
_ASYNC_RESOLVE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "fakeserver_respx_async_resolve", default=False
)


@functools.cache
def _router_class() -> type[respx.MockRouter]:
    """A ``respx.MockRouter`` that marks its async resolution path (imported on first use)."""
    import respx
    from respx.models import ResolvedRoute

    class FakeRouter(respx.MockRouter):
        """A respx router whose side effects can tell an async request from a sync one."""

        async def aresolve(self, request: httpx.Request) -> ResolvedRoute:
            """Resolve as respx does, with ``_ASYNC_RESOLVE`` set for the side effects."""
            token = _ASYNC_RESOLVE.set(True)
            try:
                return await super().aresolve(request)
            finally:
                _ASYNC_RESOLVE.reset(token)

    return FakeRouter


def _in_asyncio() -> bool:
    """Whether an asyncio event loop runs in this thread (not so under trio, say)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _respx_side_effect(
    fake: Any, base_url: str
) -> Callable[[httpx.Request], httpx.Response | Coroutine[Any, Any, httpx.Response]]:
    """The side effect ``respx_route`` mocks with: off the loop on the async path only."""
    exchange = _HttpxExchange(fake, base_url)

    def side_effect(
        request: httpx.Request,
    ) -> httpx.Response | Coroutine[Any, Any, httpx.Response]:
        if _ASYNC_RESOLVE.get() and _in_asyncio():
            return exchange.answer_async(request)
        return exchange.answer(request)

    return side_effect


@contextmanager
def respx_route(fake: Any, base_url: str = DEFAULT_BASE_URL) -> Iterator[respx.MockRouter]:
    """Route all httpx traffic under ``base_url`` to the fake while the block runs.

    Yields the started ``respx.MockRouter`` (``assert_all_called=False``); its route named
    ``"fake_open_cloud"`` records the calls. Requests to other URLs fail as respx's unmocked
    requests do, so a test cannot reach the network by accident. Requests from an
    ``httpx.AsyncClient`` are answered in a worker thread, so concurrent ones overlap and
    the event loop is never blocked by the app (injected latency included).
    """
    router = _router_class()(assert_all_called=False, base_url=base_url.rstrip("/"))
    router.route(name="fake_open_cloud").mock(side_effect=_respx_side_effect(fake, base_url))
    with router:
        yield router
