"""Game servers as the fake emulates them: the secrets a server started with, and HttpService.

A :class:`GameServer` holds a snapshot of its universe's secrets taken when it started, as
Roblox's do ("updated secrets are not pushed to currently running game servers"). A script on
it reads a secret with :meth:`GameServer.get_secret`, which returns an opaque :class:`Secret`
like the Luau datatype, and sends it with :meth:`GameServer.http_request`, which enforces the
contract's sections 9 and 11 (the domain rule, no secret in a body, HTTP disabled, blocked
ports, Open Cloud's rules, requests per minute) and returns the :class:`OutgoingRequest` the
server would send, values filled in, for a test to assert on. These rules live here once:
``fakeserver.luau``'s ``HttpService`` is a binding that calls them.

The domain rule (``*`` any host; ``api.example.com`` exactly that host; ``*.example.com``
hosts under it at any depth, not ``example.com`` itself; private secrets nowhere; hosts compared
ignoring case, port and scheme) is the same as the client's preflight in
``rbxsecrets_magic.domains``. The packages never import each other, so the rule is written
twice and ``tests/data/domain_cases.json`` holds one table both must answer alike.

Nothing here shows a value: ``str()``/``repr()`` of a secret is ``Secret(name)``, errors name
secrets and hosts only, and a request's ``repr`` lists header names, not values. Which servers
run, restart and close is :mod:`fakeserver.backend.fleet`'s business; a server only asks its clock
whether its deadline has passed.
"""

from __future__ import annotations

import ipaddress
import re
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, NoReturn
from urllib.parse import unquote

from ..errors import GameServerError
from .occupancy import RestartScheduled, ServerLife

__all__ = [
    "NOT_FOUND_MESSAGE",
    "OPEN_CLOUD_HOST",
    "REQUESTS_PER_MINUTE",
    "GameServer",
    "GameServerError",
    "OutgoingRequest",
    "RestartScheduled",
    "Secret",
    "SecretSnapshot",
    "UrlTarget",
    "domain_allows",
    "resolve_json",
    "url_host",
    "url_target",
]

#: Roblox's message when ``HttpService:GetSecret`` is asked for a name the server lacks.
NOT_FOUND_MESSAGE = "Can't find secret with given key"

#: Where game servers reach Open Cloud, under rules of its own (contract section 11).
OPEN_CLOUD_HOST = "apis.roblox.com"
#: Requests per minute a game server may send, per kind of destination (section 11).
REQUESTS_PER_MINUTE = {"outside": 500, "open cloud": 2500}
_LIMIT_MESSAGES = {
    "outside": "Number of requests exceeded limit",
    "open cloud": "Number of Open Cloud requests exceeded limit",
}
_OPEN_CLOUD_HEADERS = ("x-api-key", "content-type")
_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH")
#: A port a game server may not connect to: below 1024 other than 80 and 443, and 1194.
_BLOCKED_PORTS = frozenset(p for p in range(1024) if p not in (80, 443)) | {1194}
_HTTP_DISABLED = "Http requests are not enabled. Enable via game settings"

#: What a server starts with: ``{name: (value, domain)}``, domain ``None`` when private.
SecretSnapshot = Mapping[str, tuple[str, str | None]]

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_AUTHORITY_END = re.compile(r"[/?#]")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_MAX_HOST_CHARS = 253
_NO_HOST = "the URL has no host; a game server needs a full URL like https://api.example.com/"


# --------------------------------------------------------------------------- the domain rule


def url_host(url: str) -> str:
    """Return the host a game server would connect to for ``url``, normalized.

    Lower case, the UTS 46 (IDNA 2008) ASCII form for international names, one trailing dot
    dropped, IPv6 in brackets and compressed. Only absolute ``http``/``https`` URLs are
    accepted, as ``HttpService`` sends nothing else.

    Raises
    ------
    GameServerError
        If the URL has no valid host; the message never repeats the URL.
    """
    return url_target(url).host


class UrlTarget(NamedTuple):
    """Where a URL sends a request: scheme, normalized host, port (``None`` if not given)
    and the rest of the URL after the host (path, query and fragment)."""

    scheme: str
    host: str
    port: int | None
    path: str

    @property
    def effective_port(self) -> int:
        """The port connected to: the one given, else 443 for https and 80 for http."""
        if self.port is not None:
            return self.port
        return 443 if self.scheme == "https" else 80


def url_target(url: str) -> UrlTarget:
    """Split ``url`` as a game server would (see :func:`url_host` for the host's form).

    Raises
    ------
    GameServerError
        If the URL has no valid host; the message never repeats the URL.
    """
    match = _SCHEME.match(url)
    if match is None:
        raise GameServerError(_NO_HOST)
    if match.group(1).lower() not in ("http", "https"):
        raise GameServerError("HttpService sends only http:// and https:// URLs")
    rest = url[match.end() :]
    end = _AUTHORITY_END.search(rest)
    authority = rest[: end.start()] if end else rest
    if "\\" in authority or any(ch.isspace() or not ch.isprintable() for ch in authority):
        raise GameServerError("the URL's host part holds a backslash, a space or a control code")
    host_port = authority.rpartition("@")[2]
    if host_port.startswith("["):
        close = host_port.find("]")
        host, port = host_port[: close + 1], host_port[close + 1 :]
        if close < 0 or (port and not port.startswith(":")):
            raise GameServerError("the URL's IPv6 address is not closed by ']'")
        port = port[1:]
    else:
        host, _, port = host_port.partition(":")
    if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
        raise GameServerError("the URL's port is not a number from 0 to 65535")
    if not host:
        raise GameServerError(_NO_HOST)
    path = rest[end.start() :] if end else ""
    scheme = match.group(1).lower()
    return UrlTarget(scheme, _normalize_host(host), int(port) if port else None, path)


def _normalize_host(host: str) -> str:
    """Fold, IDNA-encode and check a host taken from a URL."""
    if host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            raise GameServerError("the URL's host is not a valid IPv6 address") from None
    if not host.isascii():
        try:
            host = _ascii_host(host)
        except UnicodeError:
            raise GameServerError("the URL's host is not a valid international name") from None
    host = host.lower().removesuffix(".")
    if len(host) > _MAX_HOST_CHARS or not all(_LABEL.fullmatch(x) for x in host.split(".")):
        raise GameServerError(
            "the URL's host is not a host name, an IPv4 address or a bracketed IPv6 address"
        )
    return host


def _ascii_host(host: str) -> str:
    """The ASCII form HTTP stacks connect to: UTS 46 (IDNA 2008), not IDNA 2003.

    Python's ``"idna"`` codec is IDNA 2003, which folds ``faß.de`` to ``fass.de``; browsers and
    current clients connect to ``xn--fa-hia.de``. Raises ``UnicodeError`` (``idna.IDNAError``)
    for a name UTS 46 refuses (joiners out of context, mixed directions, over-long labels).
    """
    import idna  # only for international names: most hosts are ASCII

    return idna.encode(host, uts46=True, transitional=False).decode("ascii")


def domain_allows(domain: str | None, host: str) -> bool:
    """Whether a secret with ``domain`` (``None``/``""`` private; any case) may go to ``host``."""
    if not domain:
        return False
    domain = domain.lower()
    if domain == "*":
        return True
    if domain.startswith("*."):
        # The suffix keeps its dot: "*.example.com" allows "a.example.com", not "example.com".
        return host.endswith(domain[1:])
    return host == domain


# --------------------------------------------------------------------------- Secret


class Secret:
    """An opaque secret, like Luau's ``Secret`` datatype.

    ``str()`` and ``repr()`` give ``Secret(name)``; there is no way to read, concatenate,
    compare by value, copy or pickle it. :meth:`add_prefix` and :meth:`add_suffix` return new
    secrets, refused for a private one. Equality and hashing are by identity, so they reveal
    nothing about the value. :attr:`shown` is what Luau's ``tostring`` shows.
    """

    __slots__ = ("__weakref__", "_domain", "_name", "_shown", "_value")

    def __init__(
        self, name: str, value: str, domain: str | None, *, shown: str | None = None
    ) -> None:
        """Wrap ``value`` under ``name``; ``domain`` ``None`` or ``""`` makes it private."""
        self._name = name
        self._value = value
        self._domain = domain or None
        self._shown = f"Secret({name})" if shown is None else shown

    @property
    def shown(self) -> str:
        """What ``tostring``/``print`` show in Luau: ``Secret(name)`` with the text added by
        ``AddPrefix``/``AddSuffix`` around it (``https://x/?k=Secret(name)&u=1``)."""
        return self._shown

    @property
    def name(self) -> str:
        """The secret's name (its id in the store)."""
        return self._name

    @property
    def domain(self) -> str | None:
        """Where it may be sent (``None`` = private, nowhere)."""
        return self._domain

    def __repr__(self) -> str:
        """``Secret(name)``: never the value."""
        return f"Secret({self._name})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        """Identity: two secrets with the same value are still two secrets."""
        return self is other

    def __hash__(self) -> int:
        """Identity hash, consistent with :meth:`__eq__`."""
        return id(self)

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        """Refuse copying and pickling, which would carry the value out."""
        raise TypeError("a Secret cannot be copied or pickled")

    def __getstate__(self) -> NoReturn:
        """Refuse too: ``object.__getstate__`` would hand out the slots, value included.

        Serializers such as jsonpickle call it directly, and ``object.__reduce_ex__`` does.
        """
        raise TypeError("a Secret cannot be copied or pickled")

    def add_prefix(self, text: str) -> Secret:
        """A new secret whose value is ``text`` followed by this one's (``Secret:AddPrefix``).

        Raises
        ------
        GameServerError
            If this secret is private.
        TypeError
            If ``text`` is not a string.
        """
        text = self._affix(text, "prefixed")
        return Secret(self._name, text + self._value, self._domain, shown=text + self._shown)

    def add_suffix(self, text: str) -> Secret:
        """A new secret whose value is this one's followed by ``text`` (``Secret:AddSuffix``).

        Raises
        ------
        GameServerError
            If this secret is private.
        TypeError
            If ``text`` is not a string.
        """
        text = self._affix(text, "suffixed")
        return Secret(self._name, self._value + text, self._domain, shown=self._shown + text)

    def _affix(self, text: object, done: str) -> str:
        """Check that this secret may be extended by ``text``, and return it."""
        if self._domain is None:
            raise GameServerError(
                f"secret {self._name} is private (no domain): it cannot be {done} or sent"
            )
        if not isinstance(text, str):
            raise TypeError(f"expected a string to add to a Secret, got {type(text).__name__}")
        return text


# --------------------------------------------------------------------------- requests


class OutgoingRequest:
    """The request a game server would send: method, URL, headers and body, values filled in.

    Its ``repr`` shows the host and header names only (not even the host when the URL was a
    secret: the host is then part of the value); the attributes hold the real text for the
    test to assert on.
    """

    __slots__ = ("_host_is_secret", "body", "headers", "host", "method", "url")

    def __init__(
        self,
        url: str,
        host: str,
        headers: dict[str, str],
        body: str | None,
        *,
        host_is_secret: bool = False,
        method: str = "GET",
    ) -> None:
        """Store the resolved request; ``host_is_secret`` when the URL came from a secret."""
        self.method = method
        self.url = url
        self.host = host
        self.headers = headers
        self.body = body
        self._host_is_secret = host_is_secret

    def __repr__(self) -> str:
        """Host, header names and body size: no URL path, header value or body text."""
        size = "no body" if self.body is None else f"body of {len(self.body)} characters"
        host = "<from a secret>" if self._host_is_secret else repr(self.host)
        return f"OutgoingRequest(host={host}, headers={sorted(self.headers)}, {size})"


# --------------------------------------------------------------------------- GameServer


class GameServer(ServerLife):
    """One running game server of a place, with the secrets its universe had when it started.

    Attributes
    ----------
    id:
        The server's job id (a GUID string, like ``game.JobId``).
    place_id, place_version:
        The place it runs, and the version of that place it started on.
    players:
        How many players it has (set by the test: ``start_server(..., players=N)``, or by
        assigning it). Forecasts and restart statuses count them; when the server closes
        after a restart, they move to the server that replaced it.
    restart_scheduled:
        The last :class:`RestartScheduled` notice it received (``None`` before any): the
        Python side of Luau's ``game.ServerRestartScheduled``. To be called back instead,
        :meth:`on_restart_scheduled`.
    started_at:
        When it started, on the fake's clock.
    closes_at:
        When it shuts down, on the fake's clock; ``None`` while no restart targets it.
    http_enabled:
        ``HttpService.HttpEnabled`` (a game setting): when false, every request is refused.
        ``True`` by default, since a test that sends requests wants them allowed.
    """

    def __init__(
        self,
        *,
        server_id: str,
        place_id: int,
        place_version: int,
        secrets: SecretSnapshot,
        clock: Callable[[], float],
        players: int = 0,
    ) -> None:
        """Start with a private copy of ``secrets`` (``{name: (value, domain)}``)."""
        self.id = server_id
        self.place_id = place_id
        self.place_version = place_version
        self._start_life(players)
        self._clock = clock
        self.started_at = clock()
        self.closes_at: float | None = None
        self._draining = False
        self._secrets: dict[str, tuple[str, str | None]] = {
            name: (value, domain or None) for name, (value, domain) in secrets.items()
        }
        self.http_enabled = True
        # When each request of the last minute was sent, per kind of destination.
        self._sent: dict[str, deque[float]] = {kind: deque() for kind in REQUESTS_PER_MINUTE}

    def __repr__(self) -> str:
        """Ids, version, secret count and state; never a value."""
        return (
            f"GameServer(id={self.id!r}, place_id={self.place_id}, "
            f"place_version={self.place_version}, players={self.players}, "
            f"secrets={len(self._secrets)}, {self.state})"
        )

    # ----------------------------------------------------------------- lifecycle

    @property
    def running(self) -> bool:
        """Whether the server is still up: no deadline, or the clock has not reached it."""
        return self.closes_at is None or self._clock() < self.closes_at

    @property
    def accepting_players(self) -> bool:
        """Whether matchmaking still sends players here (not after a restart targeted it)."""
        return self.running and not self._draining

    @property
    def state(self) -> str:
        """``"running"``, ``"draining"`` (up, taking no new players) or ``"closed"``."""
        if not self.running:
            return "closed"
        return "draining" if self._draining else "running"

    def shut_down_at(self, deadline: float) -> None:
        """Stop taking players now and close at ``deadline`` (or earlier if already due).

        Called by :class:`fakeserver.backend.fleet.Fleet` under the backend's lock.
        """
        self._draining = True
        if self.closes_at is None or deadline < self.closes_at:
            self.closes_at = deadline

    def describe(self) -> dict[str, Any]:
        """The server as the ``/_fake/`` routes show it: ids, version, state, players, the
        restart notice it received, secret names."""
        notice = self.restart_scheduled
        return {
            "id": self.id,
            "placeId": self.place_id,
            "placeVersion": self.place_version,
            "state": self.state,
            "acceptingPlayers": self.accepting_players,
            "players": self.players,
            "restartScheduled": None
            if notice is None
            else {
                "restartTime": notice.restart_time,
                "source": notice.source,
                "attributes": dict(notice.attributes),
            },
            "secretNames": self.secret_names(),
        }

    # ----------------------------------------------------------------- HttpService

    def secret_names(self) -> list[str]:
        """The names of the secrets this server started with, sorted."""
        return sorted(self._secrets)

    def with_local_secrets(self, secrets: SecretSnapshot) -> GameServer:
        """This server as a Studio playtest sees it: the same ids and clock, but ``GetSecret``
        answers from ``secrets`` (Studio's local secrets, ``{name: (value, domain)}``) only."""
        studio = GameServer(
            server_id=self.id,
            place_id=self.place_id,
            place_version=self.place_version,
            secrets=secrets,
            clock=self._clock,
        )
        studio.http_enabled = self.http_enabled
        return studio

    def get_secret(self, name: str) -> Secret:
        """``HttpService:GetSecret(name)``: the secret as this server started with it.

        Raises
        ------
        GameServerError
            With Roblox's message "Can't find secret with given key" when the server started
            without it (it was created later, or never).
        TypeError
            If ``name`` is not a string.
        """
        if not isinstance(name, str):
            raise TypeError(f"a secret name is a string, not {type(name).__name__}")
        if name not in self._secrets:
            raise GameServerError(NOT_FOUND_MESSAGE)
        value, domain = self._secrets[name]
        return Secret(name, value, domain)

    def http_request(
        self,
        url: str | Secret,
        headers: Mapping[str, str | Secret] | None = None,
        body: str | None = None,
        *,
        method: str = "GET",
    ) -> OutgoingRequest:
        """Resolve the request a script asks ``HttpService`` to send, as the server would.

        ``url`` and each header value may be a string or a :class:`Secret`; the body must be
        a string (or ``None``). Every rule of the contract's sections 9 and 11 is checked
        before any value is read, so a refused request leaves no value in the traceback's
        frames; a request that passes counts against the server's per-minute limit.

        Raises
        ------
        GameServerError
            If the server has shut down or HTTP is disabled, a secret is in the body, a
            secret is private, the URL has no valid host or a blocked port, an Open Cloud
            rule is broken (HTTPS only, only ``x-api-key`` as a Secret and ``content-type``,
            no ``..`` in the path), a secret's domain does not allow the URL's host, or the
            server is over its limit of requests per minute. The message names the secret
            and the host, never a value (nor the host when the URL itself is a secret, since
            the host is then part of the value).
        TypeError
            For a URL, header or body of another type, or a method that is not a string.
        """
        if not self.running:
            raise GameServerError(f"game server {self.id} has shut down; it sends nothing")
        if not self.http_enabled:
            raise GameServerError(_HTTP_DISABLED)
        method = _method(method)
        used = self._check_parts(url, headers, body)
        for secret in used:
            if secret.domain is None:
                raise GameServerError(
                    f"secret {secret.name} is private (no domain): a game server cannot send it"
                )
        target = self._target_of(url)
        where = (
            f"the URL's host (not shown: it comes from secret {url.name})"
            if isinstance(url, Secret)
            else target.host
        )
        _check_port(target, where)
        if target.host == OPEN_CLOUD_HOST:
            _check_open_cloud(target, headers or {})
        for secret in used:
            if not domain_allows(secret.domain, target.host):
                raise GameServerError(
                    f"secret {secret.name} may be sent only to {secret.domain!r}, not to {where}"
                )
        self._spend("open cloud" if target.host == OPEN_CLOUD_HOST else "outside")
        # Nothing below raises: values are read only once every rule has passed.
        return OutgoingRequest(
            _reveal(url),
            target.host,
            {name: _reveal(value) for name, value in (headers or {}).items()},
            body,
            host_is_secret=isinstance(url, Secret),
            method=method,
        )

    def _spend(self, kind: str) -> None:
        """Count one request of ``kind`` in the last minute; refuse it over the limit."""
        sent, now = self._sent[kind], self._clock()
        while sent and sent[0] <= now - 60.0:
            sent.popleft()
        if len(sent) >= REQUESTS_PER_MINUTE[kind]:
            raise GameServerError(_LIMIT_MESSAGES[kind])
        sent.append(now)

    @staticmethod
    def _check_parts(
        url: object, headers: Mapping[str, object] | None, body: object
    ) -> list[Secret]:
        """Check the parts' types and the no-secret-in-body rule; return the secrets used."""
        if not isinstance(url, (str, Secret)):
            raise TypeError(f"a URL is a string or a Secret, not {type(url).__name__}")
        if isinstance(body, Secret):
            raise GameServerError(
                f"secret {body.name} is in the request body: a secret may travel only in the "
                "URL or a header value"
            )
        if body is not None and not isinstance(body, str):
            raise TypeError(f"a request body is a string, not {type(body).__name__}")
        used = [url] if isinstance(url, Secret) else []
        if headers is not None and not isinstance(headers, Mapping):
            raise TypeError(f"headers are a mapping, not {type(headers).__name__}")
        for name, value in (headers or {}).items():
            if not isinstance(name, str):
                raise TypeError(f"a header name is a string, not {type(name).__name__}")
            if isinstance(value, Secret):
                used.append(value)
            elif not isinstance(value, str):
                kind = type(value).__name__
                raise TypeError(f"header {name!r} is a string or a Secret, not {kind}")
        return used

    @staticmethod
    def _target_of(url: str | Secret) -> UrlTarget:
        """The URL's parts; when the URL is a secret, without its value reaching any frame."""
        if isinstance(url, str):
            return url_target(url)
        problem = ""
        try:
            return url_target(url._value)
        except GameServerError as exc:
            problem = str(exc)
        # Raised outside the except block, so no __context__ keeps url_host's frame (and the
        # value that frame held).
        raise GameServerError(f"{problem} (the URL is secret {url.name})")


def _method(method: object) -> str:
    """The HTTP method, upper case; one HttpService does not send is refused."""
    if not isinstance(method, str):
        raise TypeError(f"a method is a string, not {type(method).__name__}")
    if method.upper() not in _METHODS:
        raise GameServerError(f"HttpService does not send {method!r} requests")
    return method.upper()


def _check_port(target: UrlTarget, where: str) -> None:
    """Refuse the ports game servers may not connect to (contract section 11)."""
    if target.effective_port in _BLOCKED_PORTS:
        port = "the URL's port" if where != target.host else f"port {target.effective_port}"
        raise GameServerError(
            f"{port} is blocked for game servers (ports below 1024 other than 80 and 443, "
            "and 1194, are refused)"
        )


def _check_open_cloud(target: UrlTarget, headers: Mapping[str, str | Secret]) -> None:
    """Open Cloud's rules for requests from game servers: HTTPS, two headers, no ``..``."""
    if target.scheme != "https":
        raise GameServerError(
            f"Open Cloud ({OPEN_CLOUD_HOST}) takes only https:// requests from game servers"
        )
    for name, value in headers.items():
        if name.lower() not in _OPEN_CLOUD_HEADERS:
            raise GameServerError(
                "Open Cloud requests from game servers may carry only the x-api-key and "
                f"content-type headers, not {name}"
            )
        if name.lower() == "x-api-key" and not isinstance(value, Secret):
            raise GameServerError(
                "the x-api-key header of an Open Cloud request must be a Secret "
                "(HttpService:GetSecret), not plain text"
            )
    path = re.split(r"[?#]", target.path, maxsplit=1)[0]
    if any(unquote(segment) == ".." for segment in path.split("/")):
        raise GameServerError("an Open Cloud URL may not hold '..' in its path")


def _reveal(part: str | Secret) -> str:
    """The text a part stands for: a string as is, a secret's value."""
    return part._value if isinstance(part, Secret) else part


def resolve_json(server: GameServer, spec: object) -> OutgoingRequest:
    """Resolve a request described in JSON, for the ``/_fake/`` route other languages use.

    ``spec`` is ``{"url": PART, "headers": {NAME: PART, ...}, "body": TEXT}`` (``headers``
    and ``body`` optional), where a PART is a string or a secret reference
    ``{"secret": NAME, "prefix": TEXT, "suffix": TEXT}`` (prefix and suffix optional), read
    with :meth:`GameServer.get_secret` and extended as ``AddPrefix``/``AddSuffix`` would. A
    reference as the body is refused like a :class:`Secret` in the body.

    Raises
    ------
    GameServerError
        For a malformed description, or anything :meth:`GameServer.http_request` refuses.
    """
    if not isinstance(spec, dict):
        raise GameServerError("the request must be a JSON object")
    unknown = set(spec) - {"url", "headers", "body"}
    if unknown:
        raise GameServerError("unknown field in the request; allowed: url, headers, body")
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict):
        raise GameServerError("'headers' must be an object of header names to values")
    body = spec.get("body")
    resolved_body: str | Secret | None = (
        _part(server, body, "body") if isinstance(body, dict) else body
    )
    if resolved_body is not None and not isinstance(resolved_body, (str, Secret)):
        raise GameServerError("'body' must be a string")
    return server.http_request(
        _part(server, spec.get("url"), "url"),
        {name: _part(server, value, f"header {name!r}") for name, value in headers.items()},
        resolved_body,  # type: ignore[arg-type]  # a Secret here is refused by http_request
    )


def _part(server: GameServer, part: object, where: str) -> str | Secret:
    """A URL, header value or body given as text or as a secret reference."""
    if isinstance(part, str):
        return part
    if not isinstance(part, dict) or not isinstance(part.get("secret"), str):
        raise GameServerError(f'{where} must be a string or {{"secret": NAME}}')
    if set(part) - {"secret", "prefix", "suffix"}:
        raise GameServerError(f"{where}: a secret reference holds secret, prefix and suffix")
    prefix, suffix = part.get("prefix"), part.get("suffix")
    if not all(x is None or isinstance(x, str) for x in (prefix, suffix)):
        raise GameServerError(f"{where}: prefix and suffix must be strings")
    secret = server.get_secret(part["secret"])
    if prefix is not None:
        secret = secret.add_prefix(prefix)
    if suffix is not None:
        secret = secret.add_suffix(suffix)
    return secret
