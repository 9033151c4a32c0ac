"""The fake's records: what tests are handed, and what the backend keeps under its lock.

Public records (:class:`Universe`, :class:`ApiKey`, :class:`OAuthToken`,
:class:`JournalEntry`) are frozen snapshots and never show a credential in their repr. What a
backend operation is given and gives back (:class:`AuthHeaders`, :class:`Result`,
:class:`Receipt`) is frozen too. The internal records (:class:`StoredSecret`,
:class:`UniverseState`) are mutable and only ever touched by
:class:`fakeserver.backend.SecretsBackend` while it holds its lock; they live here so the
backend module holds orchestration only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .fleet import Fleet
    from .keys import KeyPair
    from .restarts import RestartBook

__all__ = [
    "FAKE_OPERATIONS",
    "NEEDS",
    "OPERATIONS",
    "READ_SCOPE",
    "SCOPE_FOR",
    "SERVER_MANAGEMENT_OPERATIONS",
    "UNIVERSE_READ_SCOPE",
    "UNIVERSE_WRITE_SCOPE",
    "WRITE_SCOPE",
    "ApiKey",
    "AuthHeaders",
    "BodyReader",
    "Credential",
    "JournalEntry",
    "OAuthToken",
    "Receipt",
    "Result",
    "StoredSecret",
    "Universe",
    "UniverseState",
    "bucket_key",
    "frozen_ids",
]

#: Server Management v1's operations the fake serves (the contract's section 10): they share
#: a rate-limit bucket of their own, and their ProblemDetails carry an integer ``status``.
SERVER_MANAGEMENT_OPERATIONS = ("forecast_restart", "launch_restart", "list_restarts")
#: The API operations (the secrets store's five, restarting servers, and Server Management's
#: three), the names ``inject_fault`` and the journal use.
OPERATIONS = (
    "get_public_key",
    "list_secrets",
    "create_secret",
    "update_secret",
    "delete_secret",
    "restart_servers",
    *SERVER_MANAGEMENT_OPERATIONS,
)
#: The fake's own ``/_fake/`` operations: served only when plaintext is exposed, never rate
#: limited, needing read access to the universe.
FAKE_OPERATIONS = (
    "get_plaintext",
    "create_game_server",
    "list_game_servers",
    "resolve_game_request",
)
#: Which permission each operation needs: ``read``/``write`` on the secrets store, or
#: ``universe_read``/``universe_write`` (the universe API system; scopes ``universe:read`` and
#: ``universe:write``).
NEEDS = {
    "get_public_key": "read",
    "list_secrets": "read",
    "create_secret": "write",
    "update_secret": "write",
    "delete_secret": "write",
    "restart_servers": "universe_write",
    "forecast_restart": "universe_read",
    "launch_restart": "universe_write",
    "list_restarts": "universe_read",
    **dict.fromkeys(FAKE_OPERATIONS, "read"),
}
READ_SCOPE = "universe.secret:read"
WRITE_SCOPE = "universe.secret:write"
UNIVERSE_READ_SCOPE = "universe:read"
UNIVERSE_WRITE_SCOPE = "universe:write"
SCOPE_FOR = {
    "read": READ_SCOPE,
    "write": WRITE_SCOPE,
    "universe_read": UNIVERSE_READ_SCOPE,
    "universe_write": UNIVERSE_WRITE_SCOPE,
}


# --------------------------------------------------------------------------- public records


@dataclass(frozen=True)
class Universe:
    """A universe as a test sees it: its id, its current public key and its start place.

    A snapshot: after :meth:`FakeOpenCloud.rotate_key`, ask :meth:`FakeOpenCloud.universe`
    for the new one. ``start_place_id`` is the place a game server starts on by default.
    """

    universe_id: int
    key_id: str
    public_key: str
    start_place_id: int = 0


@dataclass(frozen=True)
class ApiKey:
    """An API key of the fake: ``key`` is the secret string sent as ``x-api-key``.

    ``credential_id`` is a safe name for logs and the journal; ``universe_ids`` of ``None``
    means every universe. ``read``/``write`` are the secret-store API system's permissions;
    ``universe_write`` and ``universe_read`` are the universe API system's (restarting
    servers; forecasting and watching restarts).
    """

    key: str = field(repr=False)
    credential_id: str
    read: bool = True
    write: bool = True
    universe_ids: frozenset[int] | None = None
    owner: str = ""
    universe_write: bool = True
    universe_read: bool = True

    @property
    def headers(self) -> dict[str, str]:
        """The request headers that authenticate with this key."""
        return {"x-api-key": self.key}

    def allows(self, need: str) -> bool:
        """Whether the key carries ``need`` (a key of :data:`SCOPE_FOR`)."""
        granted = {
            "read": self.read,
            "write": self.write,
            "universe_read": self.universe_read,
            "universe_write": self.universe_write,
        }
        return granted[need]


@dataclass(frozen=True)
class OAuthToken:
    """An OAuth 2.0 access token of the fake, sent as ``Authorization: Bearer <token>``."""

    token: str = field(repr=False)
    credential_id: str
    scopes: frozenset[str] = frozenset((READ_SCOPE, WRITE_SCOPE))
    universe_ids: frozenset[int] | None = None
    owner: str = ""

    @property
    def headers(self) -> dict[str, str]:
        """The request headers that authenticate with this token."""
        return {"Authorization": f"Bearer {self.token}"}

    def allows(self, need: str) -> bool:
        """Whether the token carries the scope for ``need`` (a key of :data:`SCOPE_FOR`)."""
        return SCOPE_FOR[need] in self.scopes


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One request as the journal records it: never a value, ciphertext or credential.

    Attributes
    ----------
    method, path:
        The HTTP method and path (no query string).
    operation:
        One of :data:`OPERATIONS`, ``"get_plaintext"``, or ``None`` for an unknown path.
    status:
        The status answered, or ``None`` when an injected fault dropped the connection.
    credential_id:
        The safe id of the credential that authenticated (``None`` if none did).
    key_id:
        The key id the request sealed with, or the one a public-key answer returned.
    request_bytes, response_bytes:
        Body sizes.
    timestamp:
        Wall-clock seconds since the epoch when the answer was ready.
    sequence:
        Position in the journal; for requests that read or changed state, the order in which
        they took effect.
    """

    method: str
    path: str
    operation: str | None
    status: int | None
    credential_id: str | None
    key_id: str | None
    request_bytes: int
    response_bytes: int
    timestamp: float
    sequence: int


# --------------------------------------------------------------------------- operations

#: How an operation reads its request body: called only once the request is authorized, so a
#: malformed body never hides a 401 or 403 (the contract's section 8). Raises ``BadRequest``.
BodyReader = Callable[[], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class AuthHeaders:
    """The credential a request presented: its ``x-api-key`` and ``Authorization`` headers."""

    api_key: str | None = field(default=None, repr=False)
    authorization: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a backend operation reports besides its answer, for the journal and the headers.

    Attributes
    ----------
    credential_id:
        The safe id of the credential that authenticated (``None`` if none did).
    key_id:
        The key id the request sealed with, or the one a public-key answer returned.
    sequence:
        The order in which the outcome took effect; ``None`` if it never reached the state.
    headers:
        Response headers the operation asks for (the ``x-ratelimit-*`` family).
    """

    credential_id: str | None = None
    key_id: str | None = None
    sequence: int | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Result:
    """A backend operation's answer: the JSON body to send, and its :class:`Receipt`."""

    body: dict[str, Any]
    receipt: Receipt


# --------------------------------------------------------------------------- internal records

Credential = ApiKey | OAuthToken


class StoredSecret:
    """A stored secret. The plaintext is kept for the oracle only and never shown in a repr."""

    __slots__ = ("create_time", "domain", "key_id", "update_time", "value")

    def __init__(self, domain: str | None, key_id: str, stamp: str, value: str) -> None:
        """A new secret, created and updated at ``stamp``."""
        self.domain = domain
        self.key_id = key_id
        self.create_time = stamp
        self.update_time = stamp
        self.value = value

    def item(self, secret_id: str) -> dict[str, Any]:
        """The secret as list, create and update answers show it (never its value)."""
        return {
            "id": secret_id,
            "domain": self.domain,
            "key_id": self.key_id,
            "create_time": self.create_time,
            "update_time": self.update_time,
        }

    def __repr__(self) -> str:
        """Metadata only."""
        return f"StoredSecret(domain={self.domain!r}, key_id={self.key_id!r})"


class UniverseState:
    """A universe: its keys (current, and previous during a grace period), its secrets, its
    places and game servers (``fleet``), and the Server Management restarts of those
    (``restarts``)."""

    __slots__ = (
        "fleet",
        "issued",
        "key",
        "previous",
        "previous_until",
        "restarts",
        "secrets",
        "universe_id",
    )

    def __init__(self, universe_id: int, key: KeyPair, fleet: Fleet, restarts: RestartBook) -> None:
        """A universe with its first key, no secrets and no running servers."""
        self.universe_id = universe_id
        self.key = key
        self.fleet = fleet
        self.restarts = restarts
        self.previous: KeyPair | None = None
        self.previous_until = 0.0
        self.issued = {key.key_id}
        self.secrets: dict[str, StoredSecret] = {}

    def accepted_key(self, key_id: str, now: float) -> KeyPair | None:
        """The key a request may seal with under ``key_id`` at time ``now``, if any."""
        if key_id == self.key.key_id:
            return self.key
        previous = self.previous
        if previous is not None and key_id == previous.key_id and now < self.previous_until:
            return previous
        return None

    def public(self) -> Universe:
        """A snapshot for tests: id, current public key and start place."""
        return Universe(
            self.universe_id, self.key.key_id, self.key.public_key, self.fleet.start_place_id
        )

    def server_secrets(self) -> dict[str, tuple[str, str | None]]:
        """What a game server starting now gets: ``{name: (value, domain)}``."""
        return {name: (s.value, s.domain) for name, s in self.secrets.items()}


def bucket_key(credential: Credential) -> str:
    """Which rate-limit bucket a credential draws from: its owner's."""
    return credential.owner or credential.credential_id


def frozen_ids(universe_ids: Iterable[int] | None) -> frozenset[int] | None:
    """Freeze the universes a credential is limited to; ``None`` stays "every universe"."""
    if universe_ids is None:
        return None
    return frozenset(int(u) for u in universe_ids)
