"""Every error this package raises on purpose: one tree rooted at :class:`RbxSecretsError`::

    RbxSecretsError                 anything this package raises on purpose
     ├── InvalidInputError          rejected before any request: bad id, value, domain, URL...
     ├── ValueSourceError           a value could not be read: prompt, env var, file, variable
     │    └── ValueReferenceError   a value reference (``sops:f.env#KEY``) did not resolve
     │         │                    (.reference, .scheme, .reason; never the value)
     │         ├── NotAReferenceError   the text is no reference (may be a value: not repeated)
     │         ├── UnknownSchemeError   no resolver for its scheme (.known, .group)
     │         ├── SopsError            sops missing, the file undecryptable, or no such key
     │         ├── AwsSecretError       no such AWS secret or JSON key, or AWS refused
     │         ├── KeyringEntryError    no such entry in the system keyring
     │         └── ValueTooLongError    the value found is over 1,024 characters (.length)
     ├── KeyringUnavailableError    no usable system keyring here (a container, CI); .reason
     ├── ApiError                   the server answered with an error status (.status,
     │    │                         .detail, .outcome_unknown, .server)
     │    ├── BadRequestError          400  the request broke a rule of the API
     │    ├── AuthenticationError      401  missing or unknown API key / OAuth token
     │    ├── PermissionDeniedError    403  the credential lacks secret-store access or the universe
     │    ├── NotFoundError            404  no such secret (or path)
     │    ├── ConflictError            409  a secret with that id already exists
     │    ├── RateLimitedError         429  still rate limited after waiting and retrying
     │    ├── ServerError              5xx  the server failed; try again later
     │    └── UnexpectedAnswerError    an answer not shaped as the API documents (a 2xx that is
     │                                 not JSON, a field of the wrong type, a body over the cap,
     │                                 a listing that never ends): never taken as a success
     ├── TransportError             no usable answer: connection refused or dropped, timeout
     │                              (.outcome_unknown)
     ├── WaitTooLongError           going on would mean waiting longer than the client waits
     │                              without saying so (a rate limit of 1 per day); nothing sent
     └── DeclinedError              a confirmation (deleting, restarting) was declined or no
          │                         one could be asked; what it guarded was not done
          └── NotConfirmedError     the same, raised by the operations layer with the facts
                                    (.action, .could_ask) for each front end to word

``InvalidInputError`` and ``ValueSourceError`` are also ``ValueError`` subclasses. ``ApiError``
itself covers any other status, including a refused redirect (3xx). Which answer becomes which
error, with which hint, is decided in one place: :mod:`rbxsecrets_magic.opencloud.answers`.

Every message is one line a user can act on and includes the server's own ``detail`` when the
answer carried one. Messages name the server that answered: "Roblox" for Roblox's API, "the
server at http://127.0.0.1:8080" for anything else (the fake, a proxy). No message, ``repr``
or exception argument ever contains a secret's value, a ciphertext or a credential: messages
are built from fixed text, ids, status codes and the server's detail, and the client scrubs
every known secret, in every form a server might echo it, from that detail before it gets here
(:mod:`rbxsecrets_magic.opencloud.scrubbing`). Importing this module imports nothing outside the
standard library.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "AuthenticationError",
    "AwsSecretError",
    "BadRequestError",
    "ConflictError",
    "DeclinedError",
    "InvalidInputError",
    "KeyringEntryError",
    "KeyringUnavailableError",
    "NotAReferenceError",
    "NotConfirmedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RbxSecretsError",
    "ServerError",
    "SopsError",
    "TransportError",
    "UnexpectedAnswerError",
    "UnknownSchemeError",
    "ValueReferenceError",
    "ValueSourceError",
    "ValueTooLongError",
    "WaitTooLongError",
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

    #: Whether a write may have happened despite the error; only the errors that can follow
    #: a sent write (``ApiError``, ``TransportError``, ``WaitTooLongError``) ever set it.
    outcome_unknown: bool = False

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


class ValueReferenceError(ValueSourceError):
    """A value reference could not be resolved; says which reference and why, never the value.

    The message is ``"<reference>: <reason>"``, or the reason alone when the text given is
    not shown (it may be a value).

    Attributes
    ----------
    reference:
        The reference as written (``sops:secrets.enc.env#STRIPE_KEY``), or None when it is
        not repeated because it may be a value.
    scheme:
        Its scheme (``sops``), when it has a known one.
    reason:
        Why it did not resolve, one line.
    """

    def __init__(self, reference: str | None, reason: str, *, scheme: str | None = None) -> None:
        """Store the facts; the message names the reference (if shown) and the reason."""
        self.reference = reference
        self.scheme = scheme
        self.reason = one_line(reason, limit=600)
        super().__init__(f"{reference}: {self.reason}" if reference else self.reason)


class NotAReferenceError(ValueReferenceError):
    """The text given as a reference is no ``scheme:...`` reference: maybe a value, not shown."""

    def __init__(self, reason: str) -> None:
        """Store why the text is not a reference; the text itself is never kept."""
        super().__init__(None, reason)


class UnknownSchemeError(ValueReferenceError):
    """No resolver is installed for the reference's scheme.

    Attributes
    ----------
    known:
        The schemes that are installed, sorted.
    group:
        The entry-point group through which a package adds a scheme.
    """

    def __init__(self, reason: str, *, known: tuple[str, ...], group: str) -> None:
        """Store the reason and what would have been understood; the text is not kept."""
        super().__init__(None, reason)
        self.known = known
        self.group = group


class SopsError(ValueReferenceError):
    """``sops`` is missing, could not decrypt the file, or the file has no such key.

    Attributes
    ----------
    path:
        The encrypted file, as the reference names it.
    key:
        The key looked up in it.
    """

    def __init__(self, reference: str, reason: str, *, path: str, key: str) -> None:
        """Store the file, the key and sops's reason (one line, never the file's content)."""
        super().__init__(reference, reason, scheme="sops")
        self.path = path
        self.key = key


class AwsSecretError(ValueReferenceError):
    """AWS Secrets Manager has no such secret or JSON key, or refused or could not be reached.

    Attributes
    ----------
    secret_id:
        The secret's name or ARN.
    json_key:
        The key looked up in its JSON, or None for the whole secret string.
    """

    def __init__(
        self, reference: str, reason: str, *, secret_id: str, json_key: str | None
    ) -> None:
        """Store the secret id, the JSON key and the reason."""
        super().__init__(reference, reason, scheme="aws-sm")
        self.secret_id = secret_id
        self.json_key = json_key


class KeyringEntryError(ValueReferenceError):
    """The system keyring has no entry for the service and user name, or cannot be used.

    Attributes
    ----------
    service, username:
        The entry looked up.
    """

    def __init__(self, reference: str, reason: str, *, service: str, username: str) -> None:
        """Store the entry looked up and the reason."""
        super().__init__(reference, reason, scheme="keyring")
        self.service = service
        self.username = username


class ValueTooLongError(ValueReferenceError):
    """The value a reference resolved to is over Roblox's 1,024 characters.

    Attributes
    ----------
    length:
        How many characters it has.
    """

    def __init__(self, reference: str, *, scheme: str, length: int, limit: int) -> None:
        """Store the length found; the message says the limit."""
        super().__init__(
            reference,
            f"the value is {length:,} characters long, over Roblox's limit of {limit:,}",
            scheme=scheme,
        )
        self.length = length


class KeyringUnavailableError(RbxSecretsError):
    """No usable system keyring here: no backend (a container, CI), or it refused.

    Attributes
    ----------
    reason:
        What is missing or failed, one line, without the advice callers add.
    """

    def __init__(self, reason: str, *, advice: str = "") -> None:
        """Store the reason; the message is the reason and the advice."""
        self.reason = one_line(reason)
        super().__init__(f"{self.reason}; {advice}" if advice else self.reason)


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


class TransportError(RbxSecretsError):
    """No usable answer arrived: the connection failed, dropped or timed out.

    Attributes
    ----------
    outcome_unknown:
        True when a write may have reached the server before the failure: it may have
        happened, or may still happen later, and it was not sent again.
    hint:
        What to do about it (the end of the message).
    """

    def __init__(self, message: str, *, outcome_unknown: bool = False, hint: str = "") -> None:
        """Store what happened, what to do (``hint``), and whether a write may have happened."""
        self.what = one_line(message, limit=1000)
        self.hint = hint
        self.outcome_unknown = outcome_unknown
        super().__init__(self.message_with(hint))

    def message_with(self, hint: str) -> str:
        """This error's one-line message with ``hint`` in place of its own advice.

        For callers that can say better what to do (the magics name ``%config``); each
        message then still gives its advice once.
        """
        return f"{self.what} {hint}" if hint else self.what


class ApiError(RbxSecretsError):
    """The server answered with an error status.

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
    server:
        Who answered, as messages name it: ``"Roblox"`` (the default) or ``"the server at
        http://127.0.0.1:8080"`` (see :func:`rbxsecrets_magic.settings.server_name`).
    """

    #: What went wrong, in a few words, with ``{server}`` for who answered; subclasses
    #: override it.
    summary = "{server} answered with an error"
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
        server: str = "Roblox",
    ) -> None:
        """Build the one-line message from the status, detail, context and hint."""
        self.status = int(status)
        self.detail = one_line(detail) if detail else None
        self.doing = doing
        self.hint = self.default_hint if hint is None else hint
        self.outcome_unknown = outcome_unknown
        self.server = server
        super().__init__(self.message_with(self.hint))

    def message_with(self, hint: str) -> str:
        """This error's one-line message with ``hint`` in place of its own hint.

        For callers that know better what the user should do (the magics, for a key just
        typed); the summary, status and detail stay as they are.
        """
        shown = f"HTTP {self.status}: {self.detail}" if self.detail else f"HTTP {self.status}"
        summary = self.summary.format(server=self.server)
        if self.doing:
            message = f"{_capitalized(self.doing)} failed: {summary} ({shown})."
        else:
            message = f"{_capitalized(summary)} ({shown})."
        return f"{message} {hint}" if hint else message


class BadRequestError(ApiError):
    """400: the request broke a rule of the API (id, domain, value, key id, limits)."""

    summary = "{server} rejected the request"
    default_hint = "Check the secret id, value and domain against Roblox's rules."


class AuthenticationError(ApiError):
    """401: the API key or OAuth token is missing, unknown, expired or revoked."""

    summary = "{server} did not accept the credential"
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

    summary = "Rate limited by {server}"
    default_hint = "Wait a minute and try again; the limit is per API key owner."

    def __init__(
        self,
        status: int = 429,
        detail: str | None = None,
        *,
        doing: str = "",
        hint: str | None = None,
        outcome_unknown: bool = False,
        server: str = "Roblox",
        retry_after: float | None = None,
    ) -> None:
        """Build the error; ``retry_after`` is kept as an attribute."""
        if hint is None and retry_after is not None:
            hint = f"Wait {retry_after:g} s and try again; the limit is per API key owner."
        self.retry_after = retry_after
        super().__init__(
            status, detail, doing=doing, hint=hint, outcome_unknown=outcome_unknown, server=server
        )


class ServerError(ApiError):
    """5xx: the server failed to handle the request, even after retrying."""

    summary = "{server} had a server error"
    default_hint = "Try again later; https://status.roblox.com shows outages."


class UnexpectedAnswerError(ApiError):
    """An answer not shaped as the API documents; never taken as a success.

    A 2xx whose body is not the JSON the operation returns (an HTML page from a captive
    portal or a proxy, ``{"secrets": 5}``), an answer over the size cap, a public key that is
    not a key, a listing that repeats a cursor or never ends. For a write, the server may
    have stored it anyway, so ``outcome_unknown`` is True.
    """

    summary = "unexpected answer from {server}"
    default_hint = (
        "Check that base_url (RBX_OPEN_CLOUD_URL) points at Open Cloud and not at a proxy or "
        "a login page."
    )


class WaitTooLongError(RbxSecretsError):
    """Going on would mean waiting longer than the client waits without saying so.

    Raised before sending, when pacing to the rate limit the server announced (say, one
    request a day) would wait longer than Roblox's documented window. Nothing was sent.

    Attributes
    ----------
    wait:
        The seconds the wait would have taken.
    outcome_unknown:
        True when an earlier attempt of the same write may have taken effect.
    """

    def __init__(self, message: str, *, wait: float, outcome_unknown: bool = False) -> None:
        """Store the message, the wait refused, and whether an earlier attempt may count."""
        super().__init__(message)
        self.wait = wait
        self.outcome_unknown = outcome_unknown


class DeclinedError(RbxSecretsError):
    """A confirmation was declined, or nothing could ask for one; what it guarded was not done.

    Deleting secrets and restarting servers ask first; ``--yes`` answers for the user. The
    message says what was left undone ("nothing was restarted").
    """


class NotConfirmedError(DeclinedError):
    """A deletion or restart asked for was not confirmed, before anything was changed.

    Raised by :mod:`rbxsecrets_magic.operations`, which never names an option: each front end
    words it in its own terms (``--yes``). The default message is plain.

    Attributes
    ----------
    action:
        ``"delete"`` or ``"restart"``: what was not confirmed.
    could_ask:
        False when nothing could ask (no terminal, a headless kernel); True when the answer
        was no.
    """

    def __init__(self, action: str, *, could_ask: bool) -> None:
        """Record what was not confirmed and why."""
        undone = "nothing was restarted" if action == "restart" else "nothing was deleted"
        if could_ask:
            noun = "restart" if action == "restart" else "deletion"
            super().__init__(f"{noun} not confirmed; {undone}")
        else:
            super().__init__(f"nothing can ask for confirmation here, so {undone}")
        self.action = action
        self.could_ask = could_ask
