"""The HTTP shapes every layer of the fake shares: a request read once, and JSON answers.

The app and the middleware around it (:mod:`fakeserver.web.faults`, :mod:`fakeserver.web.journal`)
all see the same :class:`Request`: the first layer to ask reads the body and routes the
request, and keeps the result in the environ for the others. They pass what the backend
reported (its :class:`~fakeserver.backend.models.Receipt`) the same way, under :data:`RECEIPT_KEY`.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, NoReturn
from urllib.parse import parse_qsl

from ..backend.models import AuthHeaders
from ..errors import ApiProblem, BadRequest
from ..transports.wsgi import request_path

if TYPE_CHECKING:
    from wsgiref.types import WSGIEnvironment

    from .routes import Router

__all__ = [
    "MAX_BODY",
    "RECEIPT_KEY",
    "REQUEST_KEY",
    "SERVER_MANAGEMENT_PREFIX",
    "Answer",
    "Request",
    "json_answer",
    "problem_answer",
]

# No valid request body comes near this (a 1,024-character value seals to under 6 KiB).
MAX_BODY = 64 * 1024
_CHUNK = 64 * 1024

#: Environ key of the :class:`Request` once read, and of the backend's receipt once answered.
REQUEST_KEY = "fakeserver.request"
RECEIPT_KEY = "fakeserver.receipt"

_JSON = "application/json"
_encode = json.JSONEncoder(separators=(",", ":")).encode


def _reject_constant(name: str) -> NoReturn:
    raise ValueError("NaN and Infinity are not JSON")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)


#: Paths of Server Management v1, whose ProblemDetails type ``status`` as an integer.
SERVER_MANAGEMENT_PREFIX = "/server-management/"

# Built once: the status line is written on every answer.
_STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}


class Request:
    """The parts of a WSGI request the fake needs, read once per request.

    ``operation`` is ``None`` when no route serves the request; ``route_error`` is then the
    404 or 405 to answer.
    """

    __slots__ = (
        "auth",
        "body",
        "method",
        "operation",
        "params",
        "path",
        "query",
        "route_error",
        "too_large",
    )

    def __init__(self, environ: WSGIEnvironment, router: Router) -> None:
        """Take the method, path, credential headers and query, read the body, and route."""
        self.method: str = environ["REQUEST_METHOD"]
        self.path = request_path(environ)
        self.auth = AuthHeaders(environ.get("HTTP_X_API_KEY"), environ.get("HTTP_AUTHORIZATION"))
        self.query: str = environ.get("QUERY_STRING", "")
        self.too_large = False
        self.body = self._read_body(environ)
        self.operation: str | None = None
        self.params: dict[str, str] = {}
        self.route_error: ApiProblem | None = None
        try:
            self.operation, self.params = router.match(self.method, self.path)
        except ApiProblem as problem:
            self.route_error = problem

    @classmethod
    def of(cls, environ: WSGIEnvironment, router: Router) -> Request:
        """The request ``environ`` describes, read on the first call and kept in the environ."""
        request: Request | None = environ.get(REQUEST_KEY)
        if request is None:
            request = environ[REQUEST_KEY] = cls(environ, router)
        return request

    def _read_body(self, environ: WSGIEnvironment) -> bytes:
        # Always drain the declared body, so a keep-alive connection stays in step.
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        declared = environ.get("CONTENT_LENGTH")
        if not declared and environ.get("wsgi.input_terminated"):
            # A chunked request: the server ends the stream at the end of the body.
            data: bytes = stream.read(MAX_BODY + 1)
            if len(data) <= MAX_BODY:
                return data
            self.too_large = True
            self._drain(stream, None)
            return b""
        try:
            length = int(declared or 0)
        except ValueError:
            length = 0
        if length <= 0:
            return b""
        if length <= MAX_BODY:
            data = stream.read(length)
            return data
        self.too_large = True
        self._drain(stream, length)
        return b""

    @staticmethod
    def _drain(stream: BinaryIO, left: int | None) -> None:
        """Read and drop ``left`` bytes (or everything, when ``None``)."""
        while left is None or left > 0:
            chunk = stream.read(_CHUNK if left is None else min(left, _CHUNK))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object.

        Raises
        ------
        BadRequest
            If it is missing, too large, not UTF-8 JSON, or not an object.
        """
        if self.too_large:
            raise BadRequest(f"request body is larger than {MAX_BODY} bytes")
        if not self.body:
            raise BadRequest("request body must be a JSON object")
        try:
            parsed = _decoder.decode(self.body.decode("utf-8"))
        except (ValueError, RecursionError):
            # UnicodeDecodeError and JSONDecodeError are ValueErrors.
            raise BadRequest("request body is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise BadRequest("request body must be a JSON object")
        return parsed

    def query_params(self) -> dict[str, str]:
        """Query parameters; the first occurrence of a repeated name wins."""
        params: dict[str, str] = {}
        if self.query:
            for name, value in parse_qsl(self.query, keep_blank_values=True, errors="replace"):
                params.setdefault(name, value)
        return params

    def __repr__(self) -> str:
        """Method, path and operation: never the body or the credential."""
        return f"Request({self.method!r}, {self.path!r}, operation={self.operation!r})"


class Answer(NamedTuple):
    """A whole response: WSGI status line, headers and body."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes


def json_answer(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    """``payload`` as a JSON response with ``status``, followed by the extra ``headers``."""
    body = _encode(payload).encode("ascii")
    out = [("Content-Type", _JSON), ("Content-Length", str(len(body)))]
    out.extend(headers)
    return Answer(_STATUS_LINES.get(status) or f"{status} Error", out, body)


def problem_answer(problem: ApiProblem, instance: str, *, status_as_number: bool) -> Answer:
    """The error response for ``problem`` raised by a request to path ``instance``.

    ``status`` is a number when ``status_as_number`` asks for it, and always on Server
    Management's paths, whose published schema types it so (the contract's section 10).
    """
    number = status_as_number or instance.startswith(SERVER_MANAGEMENT_PREFIX)
    body = problem.body(instance, status_as_number=number)
    return json_answer(problem.status, body, tuple(problem.headers))
