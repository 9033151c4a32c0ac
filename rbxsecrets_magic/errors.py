"""Every error this package raises on purpose: one tree rooted at :class:`RbxSecretsError`::

    RbxSecretsError                 anything this package raises on purpose
     ├── InvalidInputError          rejected before any request: bad id, value, domain, URL...
     ├── ValueSourceError           a value could not be read: prompt, env var, file, variable
     ├── ApiError                   Roblox answered with an error status (.status, .detail,
     │    │                         .outcome_unknown)
     │    ├── BadRequestError          400  the request broke a rule of the API
     │    ├── AuthenticationError      401  missing or unknown API key / OAuth token
     │    ├── PermissionDeniedError    403  the credential lacks secret-store access or the universe
     │    ├── NotFoundError            404  no such secret (or path)
     │    ├── ConflictError            409  a secret with that id already exists
     │    ├── RateLimitedError         429  still rate limited after waiting and retrying
     │    └── ServerError              5xx  Roblox failed; try again later
     └── TransportError             no usable answer: connection refused or dropped, timeout
                                    (.outcome_unknown)

``InvalidInputError`` and ``ValueSourceError`` are also ``ValueError`` subclasses. ``ApiError``
itself covers any other status, including a refused redirect (3xx). Which status becomes which
error, with which hint, is decided in one place: :func:`rbxsecrets_magic.answers.api_error`.

Every message is one line a user can act on and includes Roblox's own ``detail`` when the
answer carried one. No message, ``repr`` or exception argument ever contains a secret's value,
a ciphertext or a credential: messages are built from fixed text, ids, status codes and the
server's detail, and the client redacts any known secret from the detail before it gets here.
Importing this module imports nothing outside the standard library.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RbxSecretsError",
    "ServerError",
    "TransportError",
    "ValueSourceError",
]

# Server text longer than this is cut: a message must stay one readable line.
_MAX_DETAIL = 300


def one_line(text: str, limit: int = _MAX_DETAIL) -> str:
    """Collapse whitespace (newlines included) and cut ``text`` to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


class RbxSecretsError(Exception):
    """Base class of every error this package raises on purpose.

    ``str(err)`` is one line a user can act on; ``err.args`` is ``(message,)``.
    """

    def __init__(self, message: str) -> None:
        """Store the one-line ``message``."""
        super().__init__(one_line(message, limit=1000))

    @property
    def message(self) -> str:
        """The one-line message (same as ``str(err)``)."""
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle the message and every attribute, without calling ``__init__`` again.

        Subclasses take other constructor arguments than ``args`` holds, so the default
        (``cls(*args)`` plus ``__dict__``) would fail or lose fields.
        """
        return (_unpickle, (type(self), self.args), dict(vars(self)))


def _unpickle(cls: type[RbxSecretsError], args: tuple[object, ...]) -> RbxSecretsError:
    """Recreate an error of class ``cls`` with ``args``; pickle then restores its attributes."""
    error = cls.__new__(cls)
    error.args = args
    return error


class InvalidInputError(RbxSecretsError, ValueError):
    """An argument broke a rule before any request was sent; the message names the rule."""


class ValueSourceError(RbxSecretsError, ValueError):
    """A value could not be read; the message says what to do and never contains the value.

    Attributes
    ----------
    typed:
        The variable name or path the user gave, when looking it up failed: a value typed
        after ``--from-var`` by mistake looks just like that, so callers remove it from the
        history. ``None`` when the lookup itself worked.
    """

    def __init__(self, message: str, *, typed: str | None = None) -> None:
        """Store the message and what the user typed, if it may be a value."""
        super().__init__(message)
        self.typed = typed


class TransportError(RbxSecretsError):
    """No usable answer arrived: the connection failed, dropped or timed out.

    Attributes
    ----------
    outcome_unknown:
        True when a write may have reached Roblox before the failure, so it may have happened.
    """

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        """Store the message and whether a write may have happened anyway."""
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class ApiError(RbxSecretsError):
    """Roblox answered with an error status.

    Parameters
    ----------
    status:
        The HTTP status code.
    detail:
        Roblox's own explanation (ProblemDetails ``detail`` or the gateway's message), if any.
    doing:
        What the client was doing, e.g. ``"creating secret 'api_token' in universe 1"``.
    hint:
        What the user can do about it; each subclass has a default.
    outcome_unknown:
        True for a write an earlier attempt of which got no answer or a 5xx: it may have
        been made anyway (and a 409 or 404 may be its own doing).
    """

    #: What went wrong, in a few words; subclasses override it.
    summary = "Roblox answered with an error"
    #: What to do about it; subclasses override it.
    default_hint = ""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        doing: str = "",
        hint: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        """Build the one-line message from the status, detail, context and hint."""
        self.status = int(status)
        self.detail = one_line(detail) if detail else None
        self.doing = doing
        self.hint = self.default_hint if hint is None else hint
        self.outcome_unknown = outcome_unknown
        super().__init__(self.message_with(self.hint))

    def message_with(self, hint: str) -> str:
        """This error's one-line message with ``hint`` in place of its own hint.

        For callers that know better what the user should do (the magics, for a key just
        typed); the summary, status and detail stay as they are.
        """
        shown = f"HTTP {self.status}: {self.detail}" if self.detail else f"HTTP {self.status}"
        head = f"{self.doing[:1].upper()}{self.doing[1:]} failed: " if self.doing else ""
        message = f"{head}{self.summary} ({shown})."
        return f"{message} {hint}" if hint else message


class BadRequestError(ApiError):
    """400: the request broke a rule of the API (id, domain, value, key id, limits)."""

    summary = "Roblox rejected the request"
    default_hint = "Check the secret id, value and domain against Roblox's rules."


class AuthenticationError(ApiError):
    """401: the API key or OAuth token is missing, unknown, expired or revoked."""

    summary = "Roblox did not accept the credential"
    # The client's hint also names the environment variables (rbxsecrets_magic.settings).
    default_hint = "Check the API key or OAuth token: it may be mistyped, expired or revoked."


class PermissionDeniedError(ApiError):
    """403: the credential lacks the ``secret-store`` permission or access to the universe."""

    summary = "Permission denied"
    default_hint = (
        "Give the API key the secret-store API system with read and write permission "
        "for this universe (OAuth: universe.secret:read and universe.secret:write)."
    )

    @staticmethod
    def hint_for(universe_id: int, write: bool) -> str:
        """Return the hint naming the permission an operation needs in ``universe_id``."""
        perm = "write" if write else "read"
        scope = "universe.secret:write" if write else "universe.secret:read"
        return (
            f"Give the API key the secret-store API system with {perm} permission and add "
            f"universe {universe_id} to it (OAuth: scope {scope} for universe {universe_id})."
        )

    @staticmethod
    def restart_hint(universe_id: int) -> str:
        """Return the hint for a refused server restart, which needs other permissions."""
        return (
            "Restarting servers needs the universe API system with write permission, not the "
            f"secret-store one: add it to the API key for universe {universe_id} "
            "(OAuth: scope universe:write)."
        )


class NotFoundError(ApiError):
    """404: the secret (or the path) does not exist."""

    summary = "Not found"
    default_hint = "Check the secret id and universe id; list() shows what exists."


class ConflictError(ApiError):
    """409: a secret with that id already exists."""

    summary = "The secret already exists"
    default_hint = "Use set() or update() to change an existing secret."


class RateLimitedError(ApiError):
    """429 that waiting and retrying did not cure.

    Attributes
    ----------
    retry_after:
        Seconds Roblox asked to wait, when it said.
    """

    summary = "Rate limited by Roblox"
    default_hint = "Wait a minute and try again; the limit is per API key owner."

    def __init__(
        self,
        status: int = 429,
        detail: str | None = None,
        *,
        doing: str = "",
        hint: str | None = None,
        outcome_unknown: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """Build the error; ``retry_after`` is kept as an attribute."""
        if hint is None and retry_after is not None:
            hint = f"Wait {retry_after:g} s and try again; the limit is per API key owner."
        super().__init__(status, detail, doing=doing, hint=hint, outcome_unknown=outcome_unknown)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: Roblox failed to handle the request, even after retrying."""

    summary = "Roblox had a server error"
    default_hint = "Try again later; https://status.roblox.com shows outages."

