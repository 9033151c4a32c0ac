"""The WSGI plumbing every transport shares: one environ builder, one buffered app call.

The loopback server (:mod:`fakeserver.transports.server`) and the in-process transports
(:mod:`fakeserver.transports.requests_adapter`, :mod:`fakeserver.transports.httpx_route`) all turn a
request into an environ with :func:`build_environ` and run the app with :func:`call_app`, so the app
sees the same environ and is held to the same WSGI checks whichever way a request arrives. The
in-process transports also share how they find the app (:func:`app_of`), honour a read timeout
(:func:`answer_within`) and shape the answer as a socket would deliver it (:func:`as_sent`).
"""

from __future__ import annotations

import io
import re
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol, TypeVar, cast
from urllib.parse import unquote_to_bytes, urlsplit
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from ..errors import AppTimeout

if TYPE_CHECKING:
    from _typeshed import OptExcInfo

__all__ = [
    "DEFAULT_BASE_URL",
    "TOKEN",
    "AppSource",
    "AppTimeout",
    "ServesApp",
    "StartResponse",
    "WSGIEnvironment",
    "WSGIApp",
    "answer_within",
    "app_of",
    "as_sent",
    "build_environ",
    "call_app",
    "decode_path",
    "request_path",
    "script_name_of",
]

WSGIApp = WSGIApplication


class ServesApp(Protocol):
    """Anything that serves a WSGI app as its ``app``, as ``FakeOpenCloud`` does."""

    @property
    def app(self) -> WSGIApp:
        """The WSGI callable to serve."""
        ...


#: What a transport accepts: a ``FakeOpenCloud`` (its ``.app`` is served) or a WSGI callable.
AppSource = ServesApp | WSGIApp

#: An HTTP token (RFC 9110 section 5.6.2): what header names and methods are made of.
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_STATUS = re.compile(r"[1-9][0-9]{2} [^\r\n]*\Z")
_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)


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
) -> WSGIEnvironment:
    """Return the PEP 3333 environ for one request.

    Parameters
    ----------
    target:
        The request target as sent, percent-encoded: ``"/path?query"`` or an absolute URL.
        ``PATH_INFO`` gets it decoded by :func:`decode_path` (an encoded slash stays ``%2F``);
        ``RAW_URI`` and ``REQUEST_URI`` keep it as sent.
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
        path = path[len(script_name) :] or "/"
    else:
        script_name = ""
    environ: WSGIEnvironment = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": decode_path(path),
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


def decode_path(path: str) -> str:
    """Percent-decode a request path for ``PATH_INFO``, except encoded slashes.

    Decoded bytes are spelled in latin-1, as PEP 3333 says. ``%2F`` is data inside a segment,
    not a separator (RFC 3986 section 2.2), so it stays ``%2F``: decoded, it would route
    ``/universes/111%2Fsecrets/public-key`` like ``/universes/111/secrets/public-key``. Kestrel
    (ASP.NET Core) and Apache's ``AllowEncodedSlashes NoDecode`` do the same. A literal ``%2F``
    sent as ``%252F`` reads the same afterwards; either way it is no separator, and no id the
    fake accepts contains ``%``.
    """
    if "%" not in path:
        return path
    pieces = _ENCODED_SLASH.split(path)
    return "%2F".join(unquote_to_bytes(p.encode("latin-1")).decode("latin-1") for p in pieces)


def request_path(environ: WSGIEnvironment) -> str:
    """The request's path as text, for routing, ``instance`` and the journal.

    PEP 3333 hands ``PATH_INFO`` over as bytes spelled in latin-1; clients percent-encode UTF-8,
    so ``/secrets/%C3%A9`` is read back as ``/secrets/é``, not ``/secrets/Ã©``. Bytes that are
    not UTF-8 become U+FFFD. A server that already decoded the path is taken at its word.
    """
    path: str = environ.get("PATH_INFO") or "/"
    try:
        return path.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return path


def call_app(app: WSGIApp, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run ``app`` on ``environ`` and return its status line, headers and whole body.

    The body is buffered: the fake's answers are small, and one write per response is what
    keeps the loopback server fast. Exceptions from the app propagate (``DropConnection``
    included); a malformed status or header is a ``ValueError``/``TypeError``.
    """
    response: list[tuple[str, list[tuple[str, str]]]] = []
    chunks: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], None]:
        if response and exc_info is None:
            raise AssertionError("start_response called twice without exc_info")
        if not isinstance(status, str) or not _STATUS.match(status):
            raise ValueError(f"malformed WSGI status line {status!r}")
        for name, value in headers:
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError("WSGI header names and values must be str")
            if not TOKEN.match(name) or "\r" in value or "\n" in value:
                raise ValueError(f"malformed WSGI header {name!r}")
        response[:] = [(status, list(headers))]
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
    status, headers = response[0]
    return status, headers, b"".join(chunks)


# --------------------------------------------------------------------------- in-process calls

#: Where the in-process transports mount the fake unless told otherwise.
DEFAULT_BASE_URL = "https://apis.roblox.com"
_T = TypeVar("_T")


def app_of(fake: AppSource) -> WSGIApp:
    """The WSGI callable behind a ``FakeOpenCloud`` (or the callable itself)."""
    app = getattr(fake, "app", fake)
    if not callable(app):
        raise TypeError("expected a FakeOpenCloud or a WSGI callable")
    return cast("WSGIApp", app)


def answer_within(timeout: float | None, work: Callable[[], _T]) -> _T:
    """Run ``work`` and return its result, or raise ``AppTimeout`` after ``timeout`` seconds.

    Without a timeout the work runs in the caller's thread. With one it runs in a daemon
    thread that is abandoned on timeout, as a client abandons a socket; the app finishes
    the request on its own, which is also what a real server would do.
    """
    if timeout is None:
        return work()
    results: list[_T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:  # noqa: BLE001  handed to the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=run, name="fakeserver-inprocess", daemon=True)
    worker.start()
    worker.join(timeout)
    if errors:
        raise errors[0]
    if not results:
        raise AppTimeout
    return results[0]


def script_name_of(base_url: str) -> str:
    """The path part of a base URL, without a trailing slash (``""`` for none)."""
    return urlsplit(base_url).path.rstrip("/")


def as_sent(
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
