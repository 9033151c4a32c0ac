"""Configuration, once: environment variable names, defaults, limits, credentials, safe URLs.

Everything the client, the magics and the demo need to agree on lives here, and nowhere else:

* the environment variables (``RBX_API_KEY``, ``RBX_OAUTH_TOKEN``, ``RBX_OPEN_CLOUD_URL``,
  ``RBX_UNIVERSE_ID``) and what the client does when an argument is not given;
* the defaults (timeout, retries, the rate limit assumed until the server tells) and the
  limits (threads of a bulk run, page size of a listing);
* which credential is used (:func:`pick_credential`) and how it is attached (:class:`Credential`);
* where credentials may be sent (:func:`check_base_url`): ``https://`` anywhere, plain
  ``http://`` only to loopback; and how messages name the server behind a base URL
  (:func:`server_name`: Roblox, or the server at that address);
* the bounds on what the client accepts and waits for: the largest answer, the most pages of
  a listing, the longest wait it takes without saying so.

This module imports only the standard library, so the magics can use it at ``%load_ext``
without pulling in ``requests``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, MutableMapping
from typing import Literal, Protocol, TypeVar
from urllib.parse import urlsplit

from .errors import InvalidInputError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_TIMEOUT",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_OAUTH_TOKEN",
    "ENV_UNIVERSE_ID",
    "ENV_VARS",
    "MAX_ANSWER_BYTES",
    "MAX_CONCURRENCY",
    "MAX_PAGE_SIZE",
    "MAX_SECRETS",
    "MAX_SILENT_WAIT",
    "Credential",
    "check_base_url",
    "chosen_base_url",
    "env_credential",
    "is_loopback",
    "is_roblox",
    "origin",
    "pick_credential",
    "server_name",
]

ENV_API_KEY = "RBX_API_KEY"
ENV_OAUTH_TOKEN = "RBX_OAUTH_TOKEN"
ENV_BASE_URL = "RBX_OPEN_CLOUD_URL"
ENV_UNIVERSE_ID = "RBX_UNIVERSE_ID"
#: Every environment variable the package reads.
ENV_VARS = (ENV_UNIVERSE_ID, ENV_API_KEY, ENV_OAUTH_TOKEN, ENV_BASE_URL)

DEFAULT_BASE_URL = "https://apis.roblox.com"
#: Seconds one attempt of a request may take in all: connecting, sending, reading the answer.
DEFAULT_TIMEOUT = 10.0
#: Retries per request after a 429, a 5xx or a failed connection.
DEFAULT_MAX_RETRIES = 5
#: Roblox's quota, ``(requests, window_seconds)`` per API key owner, assumed until the server's
#: ``x-ratelimit-*`` headers say otherwise.
DEFAULT_RATE_LIMIT = (120, 60.0)

#: Most threads a bulk run may use; also the connections kept per host (one each).
MAX_CONCURRENCY = 16
#: The largest page the list endpoint serves.
MAX_PAGE_SIZE = 500
#: The most secrets a universe can hold; a listing takes at most this many pages, plus one.
MAX_SECRETS = 500
#: The largest answer body read: a page of 500 secrets is under 200 KB.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
#: The longest the client waits (pacing, ``Retry-After``) without raising instead: Roblox's
#: documented rate-limit window, 60 s for 120 requests per minute.
MAX_SILENT_WAIT = DEFAULT_RATE_LIMIT[1]

# The only IPv4 loopback block; the only IPv6 loopback address is ::1.
_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")


class _HasHeaders(Protocol):
    """What :class:`Credential` needs of a request: its headers (a ``requests`` request)."""

    @property
    def headers(self) -> MutableMapping[str, str]: ...


_Request = TypeVar("_Request", bound=_HasHeaders)


class Credential:
    """An API key or OAuth token; attaches itself to each request; its repr hides it.

    Usable as ``requests``' ``auth=``: the credential is added to the requests the client
    sends, and never to other requests made with a session the caller passed in.
    """

    __slots__ = ("_value", "kind")

    def __init__(self, kind: Literal["api key", "OAuth token"], value: str) -> None:
        """Wrap ``value``, which goes in ``x-api-key`` or ``Authorization: Bearer``."""
        self.kind = kind
        self._value = value

    def __call__(self, request: _Request) -> _Request:
        """Add the credential header to ``request``."""
        if self.kind == "api key":
            request.headers["x-api-key"] = self._value
        else:
            request.headers["Authorization"] = f"Bearer {self._value}"
        return request

    @property
    def secret(self) -> str:
        """The credential itself (for scrubbing text, never for display)."""
        return self._value

    def __repr__(self) -> str:
        """Name the kind of credential only."""
        return f"<{self.kind}, hidden>"


def env_credential(environ: Mapping[str, str] | None = None) -> Credential | None:
    """The credential the environment gives: ``RBX_API_KEY``, else ``RBX_OAUTH_TOKEN``, else None.

    Raises
    ------
    InvalidInputError
        When the variable used holds something that cannot be a credential.
    """
    env = os.environ if environ is None else environ
    env_key = env.get(ENV_API_KEY, "").strip()
    if env_key:
        return Credential("api key", _check_credential(env_key, ENV_API_KEY))
    env_token = env.get(ENV_OAUTH_TOKEN, "").strip()
    if env_token:
        return Credential("OAuth token", _check_credential(env_token, ENV_OAUTH_TOKEN))
    return None


def pick_credential(
    api_key: str | None, oauth_token: str | None, environ: Mapping[str, str] | None = None
) -> Credential:
    """Pick the credential: arguments first, then ``RBX_API_KEY``, then ``RBX_OAUTH_TOKEN``.

    Raises
    ------
    InvalidInputError
        For both arguments at once, a malformed credential, or none at all.
    """
    if api_key is not None and oauth_token is not None:
        raise InvalidInputError("Pass api_key or oauth_token, not both.")
    if api_key is not None:
        return Credential("api key", _check_credential(api_key, "api_key"))
    if oauth_token is not None:
        return Credential("OAuth token", _check_credential(oauth_token, "oauth_token"))
    found = env_credential(environ)
    if found is None:
        raise InvalidInputError(
            f"No credential: pass api_key= (or oauth_token=), or set {ENV_API_KEY} "
            f"(or {ENV_OAUTH_TOKEN}) to an Open Cloud API key with the secret-store API system."
        )
    return found


def _check_credential(value: object, name: str) -> str:
    """Return the credential stripped, or raise without repeating it.

    ``requests`` quotes an invalid header value in its error, and ``http.client`` keeps a
    non-Latin-1 one in its ``UnicodeEncodeError``; checking first keeps the key out of both.
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"Invalid {name}: expected a string, got {type(value).__name__}.")
    text = value.strip()
    if not text:
        raise InvalidInputError(f"Invalid {name}: it is empty.")
    if any(not 33 <= ord(ch) <= 126 for ch in text):
        raise InvalidInputError(
            f"Invalid {name}: it contains spaces, control or non-ASCII characters; "
            "copy it again from the Creator Dashboard."
        )
    return text


def chosen_base_url(given: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The base URL to use, not yet checked: ``given``, else ``RBX_OPEN_CLOUD_URL``, else Roblox."""
    env = os.environ if environ is None else environ
    return given or env.get(ENV_BASE_URL, "").strip() or DEFAULT_BASE_URL


def check_base_url(url: str) -> str:
    """Return ``url`` without a trailing slash if credentials may be sent there, else raise.

    ``https://`` anywhere; plain ``http://`` only to loopback (see :func:`is_loopback`),
    where the fake server runs. No user info, query or fragment.

    Raises
    ------
    InvalidInputError
        Saying what is wrong, without repeating a password the URL may hold.
    """
    parts = None
    try:
        split = urlsplit(url.strip())
        split.port  # noqa: B018 - raises ValueError for a malformed port
        parts = split
    except ValueError:
        pass
    # Raised outside the except block, and without echoing the URL: it may hold a password.
    if parts is None or not parts.hostname:
        raise InvalidInputError(
            "Invalid base URL: expected scheme://host, such as https://apis.roblox.com."
        )
    host = parts.hostname
    scheme = parts.scheme.lower()
    shown = f"{scheme}://{host}"
    if scheme not in ("http", "https"):
        raise InvalidInputError(
            f"Invalid base URL {shown}: use https://apis.roblox.com (or an https:// proxy)."
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidInputError(
            f"Invalid base URL {shown}: it must not contain a user name or password."
        )
    if parts.query or parts.fragment:
        raise InvalidInputError(f"Invalid base URL {shown}: it must not have a query or fragment.")
    if scheme == "http" and not is_loopback(host):
        raise InvalidInputError(
            f"Refusing plain http:// to {host}: the API key would cross the network "
            "unencrypted. Use https://, or http:// only to 127.0.0.1, ::1 or localhost."
        )
    return f"{scheme}://{parts.netloc}{parts.path}".rstrip("/")


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, without user info, path or query; "" if unusable."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return ""
    if not host:
        return ""
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + (f":{port}" if port else "")


def is_roblox(url: str) -> bool:
    """Whether ``url`` is Roblox's own API: ``https://`` to ``roblox.com`` or a subdomain."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    return parts.scheme == "https" and (host == "roblox.com" or host.endswith(".roblox.com"))


def server_name(base_url: str) -> str:
    """How messages name the server behind ``base_url``: ``"Roblox"``, or "the server at X".

    The fake, a proxy or a test server answering is not Roblox, and a message blaming Roblox
    for its answer would send the user looking in the wrong place.
    """
    return "Roblox" if is_roblox(base_url) else f"the server at {origin(base_url)}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (as ``urlsplit`` gives it) is ``localhost``, 127.0.0.0/8 or ``::1``.

    Decided here rather than by ``ipaddress``'s ``is_loopback``, whose answer for IPv4-mapped
    IPv6 addresses changed in Python 3.13: ``::ffff:127.0.0.1`` is refused on every version,
    like every other spelling that is not one of those three (``127.1``, ``0x7f.1``, ...).
    """
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in _LOOPBACK_V4
    return int(address) == 1
