"""Every exception class the fake defines: one tree, shared by its three layers.

The backend raises the ``ApiProblem`` errors, which know their HTTP status and body; the WSGI
app turns them into responses without knowing any rule. The transports raise and handle the
signals below them::

    Exception
     ├── ApiProblem            an HTTP error answer: status, title, detail, extra headers
     │    ├── BadRequest          400  validation failed
     │    ├── Unauthorized        401  missing or unknown credential (gateway body)
     │    ├── Forbidden           403  no permission or no access to the universe
     │    ├── NotFound            404  unknown path, or a secret that does not exist
     │    ├── MethodNotAllowed    405  a known path that does not serve the method
     │    ├── Conflict            409  a secret with that id already exists
     │    ├── TooManyRequests     429  over the rate limit
     │    └── InjectedFault       any  a status a test asked for with ``inject_fault``
     ├── DropConnection        the server must close the socket without answering
     ├── UnreadableRequest     the bytes on the wire are no HTTP/1.x request the server takes
     ├── AppTimeout            the app did not answer within the client's read timeout
     ├── UnsealError           a sealed box does not open with this key
     ├── GameServerError       what a script on a game server would see raised
     └── LuauError             game code failed (fakeserver.luau): one line, file and line
          ├── RojoProjectError    a Rojo project file that cannot be read
          └── LuauValueError      a Luau value with no Python (or JSON) form

No other module defines a public exception class (``tests/fakeserver/test_errors.py``).

Details never contain a secret's value, a ciphertext or a credential: they are built from fixed
text and from ids the request supplied only after those ids were validated. Every error pickles
with all its fields (a test may collect them in another process), whatever its ``__init__``
takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

__all__ = [
    "ApiProblem",
    "AppTimeout",
    "BadRequest",
    "Conflict",
    "DropConnection",
    "Forbidden",
    "GameServerError",
    "InjectedFault",
    "LuauError",
    "LuauValueError",
    "MethodNotAllowed",
    "NetworkBlockedError",
    "NotFound",
    "RojoProjectError",
    "TooManyRequests",
    "Unauthorized",
    "UnreadableRequest",
    "UnsealError",
    "raise_collected",
]

# ASP.NET's ProblemDetails "type" links, as the service's framework fills them in by default.
_TYPES: dict[int, str] = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
    403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
    409: "https://tools.ietf.org/html/rfc9110#section-15.5.10",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
    502: "https://tools.ietf.org/html/rfc9110#section-15.6.3",
    503: "https://tools.ietf.org/html/rfc9110#section-15.6.4",
    504: "https://tools.ietf.org/html/rfc9110#section-15.6.5",
}


def _rebuild(cls: type[Exception], args: tuple[object, ...], state: dict[str, Any]) -> Exception:
    """Recreate a pickled error without calling its ``__init__`` (see ``_Picklable``)."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class _Picklable(Exception):
    """Pickles as its class, ``args`` and every attribute, not by calling ``__init__`` again.

    The default pickling calls ``cls(*args)``, which fails or loses fields for errors whose
    ``__init__`` takes other arguments than the message (``Unauthorized()``,
    ``MethodNotAllowed(method, allowed)``, ``InjectedFault(status)``).
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _title(status: int) -> str:
    """Return the standard reason phrase for ``status`` (or a generic one)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ApiProblem(_Picklable):
    """An HTTP error answer, raised by the backend (or the routes) and rendered by the app.

    Parameters
    ----------
    detail:
        One line saying what was wrong. Never contains a value, ciphertext or credential.
    headers:
        Extra response headers (for example ``Allow`` or ``Retry-After``).

    A backend operation that raises one sets ``receipt`` (who called, the key, the sequence)
    and puts the rate-limit headers in front of ``headers``, as a successful answer has them.
    """

    status: int = 500

    def __init__(self, detail: str, *, headers: list[tuple[str, str]] | None = None) -> None:
        """Build the error with its one-line ``detail`` and optional extra headers."""
        super().__init__(detail)
        self.detail = detail
        self.headers: list[tuple[str, str]] = list(headers) if headers else []
        # A fakeserver.backend.models.Receipt, opaque here: this module imports nothing of
        # the fake's, so every layer can use it without an import circle.
        self.receipt: object = None

    @property
    def title(self) -> str:
        """The reason phrase of the status, e.g. ``"Bad Request"``."""
        return _title(self.status)

    def body(self, instance: str, *, status_as_number: bool = False) -> dict[str, object]:
        """Return the ProblemDetails body for a request to path ``instance``.

        ``status`` is a string, as the service's published schema types it, unless
        ``status_as_number`` asks for the number that ASP.NET usually writes.
        """
        status = self.status
        return {
            "type": _TYPES.get(status, "about:blank"),
            "title": self.title,
            "status": status if status_as_number else str(status),
            "detail": self.detail,
            "instance": instance,
        }

    def __repr__(self) -> str:
        """Show the class, status and detail."""
        return f"{type(self).__name__}({self.status}, {self.detail!r})"


class BadRequest(ApiProblem):
    """400: the request is malformed or breaks a rule of the API."""

    status = 400


class Unauthorized(ApiProblem):
    """401: missing or unknown credential; answered in the gateway's ``{"errors": [...]}`` form."""

    status = 401

    def __init__(self) -> None:
        """Build the error; the gateway's message is fixed."""
        super().__init__("Invalid API Key")

    def body(self, instance: str, *, status_as_number: bool = False) -> dict[str, object]:
        """Return the gateway body, which is not ProblemDetails."""
        # The gateway in front of Open Cloud answers before the service does, in its own shape.
        return {"errors": [{"code": 0, "message": "Invalid API Key"}]}


class Forbidden(ApiProblem):
    """403: the credential lacks the permission, scope or universe."""

    status = 403


class NotFound(ApiProblem):
    """404: unknown path, or a secret that does not exist."""

    status = 404


class MethodNotAllowed(ApiProblem):
    """405: the path is known but does not serve the method; carries ``Allow``."""

    status = 405

    def __init__(self, method: str, allowed: list[str]) -> None:
        """Build the error for ``method`` given the methods the path serves."""
        shown = method if method.isalpha() and len(method) <= 16 else "this method"
        super().__init__(
            f"{shown} is not allowed here; allowed: {', '.join(allowed)}",
            headers=[("Allow", ", ".join(allowed))],
        )


class Conflict(ApiProblem):
    """409: a secret with that id already exists."""

    status = 409


class TooManyRequests(ApiProblem):
    """429: over the rate limit; ``headers`` carries ``Retry-After``."""

    status = 429


class InjectedFault(ApiProblem):
    """An error status a test scripted with ``FakeOpenCloud.inject_fault``."""

    def __init__(self, status: int, *, retry_after: int | None = None) -> None:
        """Build the fault answer with ``status`` and an optional ``Retry-After``."""
        headers = [("Retry-After", str(retry_after))] if retry_after is not None else None
        super().__init__(f"injected fault: {status} {_title(status)}", headers=headers)
        self.status = status


class DropConnection(_Picklable):
    """Raised through the WSGI app when a test scripted a dropped connection.

    The loopback server closes the socket without writing a response; the requests adapter
    raises ``requests.ConnectionError``; the respx route raises ``httpx.RemoteProtocolError``.
    """

    def __init__(self, operation: str | None = None) -> None:
        """Build the signal, naming the ``operation`` whose fault fired."""
        super().__init__(f"connection dropped by an injected fault ({operation or 'request'})")
        self.operation = operation


class UnreadableRequest(_Picklable):
    """The bytes on the wire are not an HTTP/1.x request the loopback server accepts.

    The server answers ``status`` with ``detail`` as plain text and closes the connection.
    ``detail`` is fixed text: it never quotes the request.
    """

    def __init__(self, status: int, detail: str) -> None:
        """Keep the status to answer and a fixed, data-free explanation."""
        super().__init__(detail)
        self.status = status
        self.detail = detail


class AppTimeout(_Picklable):
    """The app did not answer within the read timeout the client asked for."""


class UnsealError(_Picklable):
    """The ciphertext does not open with this key (wrong key, truncated or tampered)."""


class GameServerError(_Picklable):
    """An error a script on a game server would see raised (by ``HttpService`` or a ``Secret``).

    Its message names secrets and hosts only, never a value.
    """


class LuauError(_Picklable):
    """Game code failed: a syntax or runtime error, a missing module, a bad project, or a
    time or memory limit. ``str()`` is one line naming the file, the line and the problem,
    never a secret's value."""


class RojoProjectError(LuauError):
    """A Rojo project file that cannot be read; the message names the file and the node."""


class LuauValueError(LuauError):
    """A Luau value with no Python (or JSON) form; the message names its type, never a value."""


class NetworkBlockedError(_Picklable):
    """A test reached for a host beyond loopback (see :mod:`fakeserver.network_guard`).

    Not an ``OSError`` on purpose: HTTP clients retry ``OSError``s and wrap them in their own
    connection errors, and the point is one clear line, at once.
    """


def raise_collected(errors: Sequence[Exception], what: str) -> None:
    """Raise the one error in ``errors`` as it is, several as an ``ExceptionGroup``."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExceptionGroup(f"{len(errors)} errors {what}", list(errors))
