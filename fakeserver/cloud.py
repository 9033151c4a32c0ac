"""``FakeOpenCloud``: the one object a test holds, and the only place the front ends are built.

It puts together the backend (:class:`~fakeserver.backend.SecretsBackend`, the state), the WSGI
stack that serves it (the journal around the scripted faults around
:class:`~fakeserver.web.app.SecretsApp`), and the ways to reach that stack: over loopback HTTP
(:meth:`FakeOpenCloud.serve`), through a ``requests`` session (:meth:`FakeOpenCloud.mount`),
through httpx (:meth:`FakeOpenCloud.respx_route`) or as a WSGI callable
(:attr:`FakeOpenCloud.app`). Setup and oracle methods are the backend's, offered here so a
test needs one object.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from .backend.gameservers import GameServer
from .backend.models import READ_SCOPE, WRITE_SCOPE, ApiKey, JournalEntry, OAuthToken, Universe
from .backend.state import SecretsBackend
from .transports.server import DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT, FakeServer, RequestLogger
from .web.app import SecretsApp
from .web.faults import FaultLayer, FaultScript
from .web.journal import Journal, JournalLayer, Listener
from .web.routes import Router

if TYPE_CHECKING:
    import requests
    import respx

    from .transports.wsgi import WSGIApp

__all__ = ["FakeOpenCloud"]

DEFAULT_BASE_URL = "https://apis.roblox.com"


class FakeOpenCloud:
    """A faithful, decrypting fake of the Open Cloud secrets store.

    Parameters
    ----------
    problem_status_as_number:
        Write ProblemDetails ``status`` as a number instead of the schema's string.
    null_domain_clears:
        On update, ``{"domain": null}`` makes the secret private instead of keeping the domain.
    rate_limit:
        ``(requests, window_seconds)`` per credential owner; ``None`` (default) turns it off.
    key_grace_seconds:
        How long the previous key stays accepted after :meth:`rotate_key` (default 0).
    clock:
        Monotonic time source for rate limiting, key grace and game servers' bleed-off;
        tests pass a fake clock, or move this one with :meth:`advance`.
    expose_plaintext:
        Serve the ``/_fake/`` routes: a secret's plaintext, and game servers (start, list,
        resolve a request); demos, scripts and tests in other languages only.
    journal_limit:
        Keep at most this many journal entries (oldest dropped first); ``None`` = no limit.

    Attributes
    ----------
    backend:
        The :class:`~fakeserver.backend.SecretsBackend` holding the state; its operation
        methods answer without HTTP.

    Examples
    --------
    >>> fake = FakeOpenCloud()
    >>> universe = fake.add_universe()
    >>> key = fake.add_api_key(universe_ids=[universe.universe_id])
    >>> fake.secret_ids(universe.universe_id)
    []
    """

    def __init__(
        self,
        *,
        problem_status_as_number: bool = False,
        null_domain_clears: bool = False,
        rate_limit: tuple[int, float] | None = None,
        key_grace_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        expose_plaintext: bool = False,
        journal_limit: int | None = 100_000,
    ) -> None:
        """Create an empty fake: no universes, no credentials."""
        self.backend = SecretsBackend(
            null_domain_clears=null_domain_clears,
            rate_limit=rate_limit,
            key_grace_seconds=key_grace_seconds,
            clock=clock,
        )
        self._problem_status_as_number = problem_status_as_number
        self._expose_plaintext = expose_plaintext
        self._faults = FaultScript()
        self._journal = Journal(journal_limit)
        router = Router(expose_plaintext=expose_plaintext)
        app = SecretsApp(self.backend, router, problem_status_as_number=problem_status_as_number)
        faults = FaultLayer(
            app, self._faults, router, problem_status_as_number=problem_status_as_number
        )
        self._app: WSGIApp = JournalLayer(faults, self._journal, self.backend.next_sequence, router)

    def __repr__(self) -> str:
        """Show counts only: never keys, tokens or values."""
        return f"FakeOpenCloud({self.backend.summary()})"

    @property
    def problem_status_as_number(self) -> bool:
        """Whether ProblemDetails ``status`` is written as a number."""
        return self._problem_status_as_number

    @property
    def expose_plaintext(self) -> bool:
        """Whether the oracle's HTTP endpoint is served."""
        return self._expose_plaintext

    # ----------------------------------------------------------------- front ends

    @property
    def app(self) -> WSGIApp:
        """The WSGI application ``(environ, start_response)`` serving this fake; thread-safe."""
        return self._app

    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_request: RequestLogger | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> FakeServer:
        """Serve this fake over loopback HTTP/1.1; see :class:`~.transports.server.FakeServer`."""
        return FakeServer(
            self,
            host,
            port,
            on_request=on_request,
            max_connections=max_connections,
            timeout=timeout,
        )

    def mount(self, session: requests.Session, base_url: str = DEFAULT_BASE_URL) -> None:
        """Route a ``requests.Session``'s traffic for ``base_url`` to this fake, in process."""
        from .transports.requests_adapter import mount

        mount(self, session, base_url)

    def respx_route(
        self, base_url: str = DEFAULT_BASE_URL
    ) -> AbstractContextManager[respx.MockRouter]:
        """A context manager sending httpx traffic for ``base_url`` to this fake (respx)."""
        from .transports.httpx_route import respx_route

        return respx_route(self, base_url)

    # ----------------------------------------------------------------- setup

    def add_universe(self, universe_id: int | None = None) -> Universe:
        """Add a universe with a fresh X25519 keypair; see :meth:`SecretsBackend.add_universe`."""
        return self.backend.add_universe(universe_id)

    def add_api_key(
        self,
        *,
        read: bool = True,
        write: bool = True,
        universe_ids: Iterable[int] | None = None,
        key: str | None = None,
        owner: str | None = None,
        universe_write: bool = True,
        universe_read: bool = True,
    ) -> ApiKey:
        """Add an API key; see :meth:`~fakeserver.backend.access.Credentials.add_api_key`.

        ``universe_write=False`` makes a key without the universe API system's write
        permission: restarting servers with it is a 403. ``universe_read=False`` makes one
        without its read permission: forecasting and watching restarts is a 403.
        """
        return self.backend.credentials.add_api_key(
            read=read,
            write=write,
            universe_ids=universe_ids,
            key=key,
            owner=owner,
            universe_write=universe_write,
            universe_read=universe_read,
        )

    def add_oauth_token(
        self,
        *,
        scopes: Iterable[str] = (READ_SCOPE, WRITE_SCOPE),
        universe_ids: Iterable[int] | None = None,
        token: str | None = None,
        owner: str | None = None,
    ) -> OAuthToken:
        """Add an OAuth 2.0 access token.

        See :meth:`~fakeserver.backend.access.Credentials.add_oauth_token`.
        """
        return self.backend.credentials.add_oauth_token(
            scopes=scopes, universe_ids=universe_ids, token=token, owner=owner
        )

    def set_rate_limit(self, limit: int | None, window_seconds: float = 60.0) -> None:
        """Turn rate limiting on or off.

        See :meth:`~fakeserver.backend.access.Credentials.set_rate_limit`.
        """
        self.backend.credentials.set_rate_limit(limit, window_seconds)

    @property
    def rate_limit(self) -> tuple[int, float] | None:
        """The current ``(limit, window_seconds)``, or ``None`` when off."""
        return self.backend.credentials.rate_limit

    def rotate_key(self, universe_id: int, *, grace_seconds: float | None = None) -> str:
        """Give the universe a new keypair; see :meth:`SecretsBackend.rotate_key`."""
        return self.backend.rotate_key(universe_id, grace_seconds=grace_seconds)

    def put_secret(
        self, universe_id: int, secret_id: str, value: str, *, domain: str | None = None
    ) -> dict[str, Any]:
        """Store a secret directly; see :meth:`SecretsBackend.put_secret`."""
        return self.backend.put_secret(universe_id, secret_id, value, domain=domain)

    def inject_fault(
        self,
        operation: str,
        *,
        status: int | None = None,
        latency: float = 0.0,
        drop_connection: bool = False,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Script a fault for the next ``times`` calls of ``operation`` (or ``"*"``: any).

        The fault fires as soon as the call is routed, before authentication. ``latency`` is
        slept first (outside the lock); then the connection is dropped, or ``status`` is
        answered (with ``Retry-After`` if given), or, with latency alone, the call proceeds
        normally. Faults queue: each runs out before the next one applies.

        Raises
        ------
        ValueError
            For an unknown operation, a status outside 400-599, or a fault that does nothing.
        """
        self._faults.inject(
            operation,
            status=status,
            latency=latency,
            drop_connection=drop_connection,
            times=times,
            retry_after=retry_after,
        )

    def clear_faults(self) -> None:
        """Drop every scripted fault."""
        self._faults.clear()

    def reset(self) -> None:
        """Drop universes, credentials, secrets, faults, rate-limit buckets and the journal.

        Switches (``problem_status_as_number``, ``null_domain_clears``, the rate limit setting,
        key grace) are kept. Generated universe ids and credential ids start over, so a fake
        reused across tests hands out the same ids each time.
        """
        self.backend.reset()
        self._faults.clear()
        self._journal.clear()

    def clock(self) -> float:
        """The fake's one clock, in seconds (monotonic): what rate limits, key grace periods,
        bleed-offs and restart states read. A client given ``clock=fake.clock`` and
        ``sleep=fake.advance`` waits on it, so a test waiting out a bleed-off takes no time."""
        return self.backend.clock()

    def advance(self, seconds: float) -> None:
        """Move the fake's one clock forward: rate limits refill, key grace periods end and
        bled-off game servers close, without sleeping. See :meth:`SecretsBackend.advance`."""
        self.backend.advance(seconds)

    # ----------------------------------------------------------------- game servers

    def start_server(
        self, universe_id: int, place_id: int | None = None, players: int = 0
    ) -> GameServer:
        """Start a game server that sees the universe's secrets as they are now.

        ``place_id`` defaults to the universe's start place (``Universe.start_place_id``);
        ``players`` is how many players it has, which Server Management's forecasts and
        restart statuses count (they move to its replacement when a restart closes it).
        The server keeps this snapshot until it closes: changing a secret does not reach it,
        as on Roblox. Raises ``KeyError`` for an unknown universe, ``ValueError`` when it
        already runs ``fakeserver.backend.fleet.MAX_GAME_SERVERS`` (100) servers.

        Examples
        --------
        >>> fake = FakeOpenCloud()
        >>> uid = fake.add_universe().universe_id
        >>> _ = fake.put_secret(uid, "API_KEY", "v1", domain="api.example.com")
        >>> server = fake.start_server(uid)
        >>> token = server.get_secret("API_KEY").add_prefix("Bearer ")
        >>> server.http_request("https://api.example.com/x", {"Authorization": token}).headers
        {'Authorization': 'Bearer v1'}
        """
        return self.backend.start_server(universe_id, place_id, players)

    def servers(self, universe_id: int) -> list[GameServer]:
        """The universe's running game servers (draining ones included), oldest first."""
        return self.backend.servers(universe_id)

    def publish_place(self, universe_id: int, place_id: int | None = None) -> int:
        """Publish a new version of a place (default: the start place); return the version.

        Servers already running are then on an older version: a restart without
        ``closeAllVersions`` restarts them, and only them.
        """
        return self.backend.publish_place(universe_id, place_id)

    # ----------------------------------------------------------------- oracle

    def universe(self, universe_id: int) -> Universe:
        """The universe's current public key (a fresh snapshot). Raises ``KeyError``."""
        return self.backend.universe(universe_id)

    @property
    def universes(self) -> list[Universe]:
        """Every universe, by id."""
        return self.backend.universes

    def plaintext(self, universe_id: int, secret_id: str) -> str:
        """The decrypted value of a secret, for assertions. Raises ``KeyError`` if absent."""
        return self.backend.plaintext(universe_id, secret_id)

    def secret_ids(self, universe_id: int) -> list[str]:
        """The ids of a universe's secrets, sorted. Raises ``KeyError`` for an unknown universe."""
        return self.backend.secret_ids(universe_id)

    def secret_items(self, universe_id: int) -> list[dict[str, Any]]:
        """A universe's secrets as the list endpoint shows them (metadata, no values), by id."""
        return self.backend.secret_items(universe_id)

    def snapshot(self) -> dict[int, dict[str, tuple[str | None, str]]]:
        """Every secret as ``{universe_id: {secret_id: (domain, plaintext)}}``, for assertions."""
        return self.backend.snapshot()

    # ----------------------------------------------------------------- journal

    @property
    def journal(self) -> list[JournalEntry]:
        """Every request so far, in the order their outcomes took effect."""
        return self._journal.entries()

    def clear_journal(self) -> None:
        """Forget the journal."""
        self._journal.clear()

    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(entry)`` for every journal entry as it is recorded (any thread)."""
        self._journal.add_listener(callback)

    def remove_listener(self, callback: Listener) -> None:
        """Stop calling ``callback``; no error if it was not registered."""
        self._journal.remove_listener(callback)
