"""The WSGI app: a route table, and handlers that only parse requests and serialize answers.

Every rule lives behind :mod:`fakeserver.backend` (in :mod:`fakeserver.rules`), which raises the
typed errors of :mod:`fakeserver.errors`; this module turns them into responses. It is deliberately
framework-free: the benchmark compares its throughput with a bare standard-library server, so
routes are compiled once and a request costs a few dictionary look-ups beyond the crypto.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .backend import Call
from .errors import (
    ApiProblem,
    BadRequest,
    DropConnection,
    InjectedFault,
    MethodNotAllowed,
    NotFound,
)
from .wsgi import request_path

if TYPE_CHECKING:
    from .backend import FakeOpenCloud

__all__ = ["FAKE_ROUTES", "ROUTES", "Route", "SecretsApp"]


class Route:
    """A path template such as ``/cloud/v2/universes/{universeId}/secrets`` and its methods.

    Parameters
    ----------
    template:
        The path; each ``{name}`` matches one non-empty path segment.
    methods:
        HTTP method -> operation name.
    """

    __slots__ = ("methods", "pattern", "template")

    def __init__(self, template: str, **methods: str) -> None:
        """Compile the template once."""
        self.template = template
        self.methods = methods
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self.pattern = re.compile(regex)

    def __repr__(self) -> str:
        """Show the template and methods."""
        return f"Route({self.template!r}, {self.methods!r})"


#: The API, as ``shared/docs/secrets-api.md`` section 1 lists it.
ROUTES: tuple[Route, ...] = (
    Route("/cloud/v2/universes/{universeId}/secrets/public-key", GET="get_public_key"),
    Route("/cloud/v2/universes/{universeId}/secrets", GET="list_secrets", POST="create_secret"),
    Route(
        "/cloud/v2/universes/{universeId}/secrets/{secretId}",
        PATCH="update_secret",
        DELETE="delete_secret",
    ),
)
#: The fake's own oracle endpoint, served only with ``FakeOpenCloud(expose_plaintext=True)``.
FAKE_ROUTES: tuple[Route, ...] = (
    Route("/_fake/universes/{universeId}/secrets/{secretId}/plaintext", GET="get_plaintext"),
)

# No valid request body comes near this (a 1,024-character value seals to under 6 KiB).
MAX_BODY = 64 * 1024
_CHUNK = 64 * 1024

_JSON = "application/json"
_encode = json.JSONEncoder(separators=(",", ":")).encode


def _reject_constant(name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Error"


_STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}


class _Request:
    """The parts of a WSGI request the handlers need."""

    __slots__ = ("api_key", "authorization", "body", "query", "too_large")

    def __init__(self, environ: dict[str, Any]) -> None:
        """Take the credential headers and query, and read the body."""
        self.api_key: str | None = environ.get("HTTP_X_API_KEY")
        self.authorization: str | None = environ.get("HTTP_AUTHORIZATION")
        self.query: str = environ.get("QUERY_STRING", "")
        self.too_large = False
        self.body = self._read_body(environ)

    def _read_body(self, environ: dict[str, Any]) -> bytes:
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
    def _drain(stream: Any, left: int | None) -> None:
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


Handler = Callable[["FakeOpenCloud", Call, _Request, dict[str, str]], tuple[int, Any]]


def _authorize(fake: FakeOpenCloud, call: Call, request: _Request, params: dict[str, str]) -> None:
    fake._authorize(call, request.api_key, request.authorization, params["universeId"])


def get_public_key(
    fake: FakeOpenCloud, call: Call, request: _Request, params: dict[str, str]
) -> tuple[int, Any]:
    """``GET .../secrets/public-key``: 200 with the universe's public key."""
    _authorize(fake, call, request, params)
    return 200, fake._get_public_key(call)


def list_secrets(
    fake: FakeOpenCloud, call: Call, request: _Request, params: dict[str, str]
) -> tuple[int, Any]:
    """``GET .../secrets?limit=&maxPageSize=&cursor=``: 200 with one page."""
    _authorize(fake, call, request, params)
    query = request.query_params()
    page = fake._list_secrets(
        call, query.get("limit"), query.get("maxPageSize"), query.get("cursor")
    )
    return 200, page


def create_secret(
    fake: FakeOpenCloud, call: Call, request: _Request, params: dict[str, str]
) -> tuple[int, Any]:
    """``POST .../secrets``: 201 with the new secret's metadata."""
    _authorize(fake, call, request, params)
    return 201, fake._create_secret(call, request.json_object())


def update_secret(
    fake: FakeOpenCloud, call: Call, request: _Request, params: dict[str, str]
) -> tuple[int, Any]:
    """``PATCH .../secrets/{secretId}``: 200 with the secret's metadata."""
    _authorize(fake, call, request, params)
    return 200, fake._update_secret(call, params["secretId"], request.json_object())


def delete_secret(
    fake: FakeOpenCloud, call: Call, request: _Request, params: dict[str, str]
) -> tuple[int, Any]:
    """``DELETE .../secrets/{secretId}``: 200 with ``{}``."""
    _authorize(fake, call, request, params)
    fake._delete_secret(call, params["secretId"])
    return 200, {}


def get_plaintext(
    fake: FakeOpenCloud, call: Call, request: _Request, params: dict[str, str]
) -> tuple[int, Any]:
    """``GET /_fake/.../plaintext``: 200 with ``{"id", "value"}`` (oracle; opt-in)."""
    _authorize(fake, call, request, params)
    return 200, fake._read_plaintext(call, params["secretId"])


_HANDLERS: dict[str, Handler] = {
    "get_public_key": get_public_key,
    "list_secrets": list_secrets,
    "create_secret": create_secret,
    "update_secret": update_secret,
    "delete_secret": delete_secret,
    "get_plaintext": get_plaintext,
}


class SecretsApp:
    """The WSGI application serving a :class:`~fakeserver.backend.FakeOpenCloud`.

    Thread-safe: it keeps no state of its own; the fake's lock guards the rest. Raises
    :class:`~fakeserver.errors.DropConnection` when a scripted fault asks for a dropped
    connection; any other exception is a bug in the fake and propagates.
    """

    def __init__(self, fake: FakeOpenCloud) -> None:
        """Build the route table for ``fake`` (with the oracle route if it is exposed)."""
        self.fake = fake
        self.routes: tuple[Route, ...] = ROUTES + (FAKE_ROUTES if fake.expose_plaintext else ())

    def __repr__(self) -> str:
        """Show the routes served."""
        return f"SecretsApp(routes={[r.template for r in self.routes]})"

    def _route(self, method: str, path: str) -> tuple[str, dict[str, str]]:
        """Find the operation for ``method`` and ``path``; raise 404 or 405."""
        allowed: set[str] = set()
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            operation = route.methods.get(method)
            if operation is not None:
                return operation, match.groupdict()
            allowed.update(route.methods)
        if allowed:
            raise MethodNotAllowed(method, sorted(allowed))
        raise NotFound("no such path")

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Answer one request."""
        fake = self.fake
        method: str = environ["REQUEST_METHOD"]
        path = request_path(environ)
        request = _Request(environ)
        call = Call(None)
        try:
            operation, params = self._route(method, path)
            call.operation = operation
            fault = fake._take_fault(operation)
            if fault is not None:
                if fault.latency:
                    time.sleep(fault.latency)
                if fault.drop_connection:
                    fake._record(method, path, call, None, len(request.body), 0)
                    raise DropConnection(operation)
                if fault.status is not None:
                    raise InjectedFault(fault.status, retry_after=fault.retry_after)
            status, payload = _HANDLERS[operation](fake, call, request, params)
            body = _encode(payload).encode("ascii")
            headers = [("Content-Type", _JSON), ("Content-Length", str(len(body)))]
            if call.headers:
                headers.extend(call.headers)
        except ApiProblem as problem:
            status = problem.status
            body = _encode(
                problem.body(path, status_as_number=fake.problem_status_as_number)
            ).encode("ascii")
            headers = [("Content-Type", _JSON), ("Content-Length", str(len(body)))]
            if call.headers:
                headers.extend(call.headers)
            if problem.headers:
                headers.extend(problem.headers)
        fake._record(method, path, call, status, len(request.body), len(body))
        start_response(_STATUS_LINES.get(status) or _status_line(status), headers)
        return [body]
