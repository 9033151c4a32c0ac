"""The fake's WSGI app behind httpx, in process: a respx route, or a plain handler.

No socket is opened: a request goes straight to the app, and the answer comes back as an
``httpx.Response``, so code written against ``httpx.Client`` or ``httpx.AsyncClient`` runs
unchanged::

    with respx_route(fake):                      # or fake.respx_route()
        httpx.get("https://apis.roblox.com/cloud/v2/universes/1/secrets", headers=...)

It keeps what the loopback server does: the same WSGI environ
(:func:`~fakeserver.transports.wsgi.build_environ`), a ``DropConnection`` becomes the error a
dropped socket would raise (``httpx.RemoteProtocolError``), any other exception from the app is
raised in the caller's thread where the test sees it, and a read timeout the client asked for is
honoured, so injected latency times out as it would over the network. On respx's async path
(``httpx.AsyncClient``) the app runs in a worker thread while the event loop goes on, so
``asyncio.gather`` of slow requests overlaps them as a server would; a sync ``httpx.Client``, even
inside a coroutine, is answered in the caller's thread. httpx and respx are imported on
first use (the ``httpx`` extra).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

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
    import httpx
    import respx

__all__ = ["httpx_handler", "respx_route"]

_T = TypeVar("_T")


async def _within_async(timeout: float | None, work: Callable[[], _T]) -> _T:
    """``answer_within`` for a coroutine: ``work`` runs in a daemon thread, the event loop goes on.

    A thread of its own rather than ``asyncio.to_thread``: the default executor has few
    workers, which would queue concurrent requests, and ``asyncio.run`` waits for its threads
    on exit, so an abandoned slow answer would hold the program. Context variables are copied
    into the thread, as ``to_thread`` does.
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[_T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(value: _T) -> None:
        if not answer.done():  # the caller timed out or was cancelled
            answer.set_result(value)

    def fail(error: BaseException) -> None:
        if not answer.done():
            answer.set_exception(error)

    def run() -> None:
        # RuntimeError from call_soon_threadsafe: the loop is closed, nobody is waiting for
        # this answer any more.
        try:
            value = context.run(work)
        except BaseException as exc:  # noqa: BLE001  handed to the awaiting task
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(fail, exc)
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, value)

    threading.Thread(target=run, name="fakeserver-inprocess", daemon=True).start()
    try:
        # asyncio.wait, not wait_for: a TimeoutError raised by the app itself stays an error.
        await asyncio.wait((answer,), timeout=timeout)
        if not answer.done():
            raise AppTimeout
        return answer.result()
    finally:
        if not answer.done():
            answer.cancel()


_Answer = tuple[str, list[tuple[str, str]], bytes]


class _HttpxExchange:
    """Turns an ``httpx.Request`` into a call of the app, and its answer into a response."""

    def __init__(self, fake: AppSource, base_url: str) -> None:
        """Serve ``fake``'s app; a path in ``base_url`` becomes its ``SCRIPT_NAME``."""
        self.app = for_base_url(app_of(fake), base_url)
        self.script_name = script_name_of(base_url)

    def _call(self, request: httpx.Request) -> tuple[Callable[[], _Answer], float | None]:
        """The app call for ``request`` and the read timeout the client asked for."""
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        environ = build_environ(
            request.method,
            url.raw_path.decode("latin-1"),
            headers,
            request.content,
            scheme=url.scheme,
            server_name=url.host,
            server_port=port,
            script_name=self.script_name,
        )
        timeouts = request.extensions.get("timeout") or {}
        return functools.partial(call_app, self.app, environ), timeouts.get("read")

    def answer(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` in the caller's thread (or a timed worker, see ``answer_within``)."""
        call, read_timeout = self._call(request)
        with _httpx_errors(request):
            result = answer_within(read_timeout, call)
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
    except AppTimeout:
        raise httpx.ReadTimeout("timed out", request=request) from None


def _httpx_response(request: httpx.Request, result: _Answer) -> httpx.Response:
    """The ``httpx.Response`` for the app's answer to ``request``."""
    import httpx

    status, out_headers, out_body = result
    code, reason, out_body = as_sent(request.method, status, out_headers, out_body)
    return httpx.Response(
        code,
        headers=out_headers,
        content=out_body,
        request=request,
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason.encode("latin-1")},
    )


def httpx_handler(fake: AppSource, base_url: str = "") -> Callable[[httpx.Request], httpx.Response]:
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
    fake: AppSource, base_url: str
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
def respx_route(fake: AppSource, base_url: str = DEFAULT_BASE_URL) -> Iterator[respx.MockRouter]:
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
