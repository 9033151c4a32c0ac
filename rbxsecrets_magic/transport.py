"""The HTTP layer: one paced, retrying, leak-proof way to send an Open Cloud request.

:class:`Transport` knows URLs, credentials, statuses, retries and the rate limit, and nothing
about secrets, keys or sealing (that is :mod:`rbxsecrets_magic.client`). Its rules:

* credentials go only to the configured base URL: plain ``http://`` is refused except to
  loopback, and redirects are never followed (a 3xx is an error), because ``requests`` keeps
  headers such as ``x-api-key`` on a redirect to another host;
* the credential is attached per request by an auth object whose ``repr`` hides it;
* urllib3's ``Retry`` retries failed connections for every method, and 5xx answers and lost
  answers for GETs (backoff, ``Retry-After`` capped); writes are retried here, where it is
  known which outcomes are certain: a 5xx or a lost answer leaves the outcome unknown, which
  the caller is told;
* every request waits for a token from the :class:`~rbxsecrets_magic.pacing.Pacer`, and every
  429 (read or write) is handled here, so that all threads wait it out together;
* plain ``http://`` (loopback only) never goes through a proxy from the environment, and
  ``http.client``'s debug printing (headers and bodies to stdout) is off for our connections;
* no credential, value or ciphertext reaches a message, log record or exception: a failed
  ``requests`` call is chained as a fresh exception holding only its scrubbed message, not the
  original, whose ``.request`` would carry the headers and the body.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import math
import os
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError
from urllib3.util.retry import Retry

from . import __version__
from .errors import (
    ApiError,
    InvalidInputError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    api_error_class,
    one_line,
)
from .pacing import Pacer

__all__ = [
    "DEFAULT_BASE_URL",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_OAUTH_TOKEN",
    "MAX_CONNECTIONS",
    "Credential",
    "Reply",
    "Transport",
    "check_base_url",
    "pick_credential",
    "retry_policy",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://apis.roblox.com"
ENV_API_KEY = "RBX_API_KEY"
ENV_OAUTH_TOKEN = "RBX_OAUTH_TOKEN"
ENV_BASE_URL = "RBX_OPEN_CLOUD_URL"
#: Connections kept per host; the most threads a bulk run may use.
MAX_CONNECTIONS = 16
# A Retry-After longer than this is reported instead of silently waited out.
_MAX_RETRY_AFTER = 120.0
_BACKOFF_FACTOR = 0.25
_BACKOFF_MAX = 30.0
# Values shorter than this are not scrubbed from server text: replacing every "ab" in a
# message would mangle it, and no server echoes values anyway; this is defence in depth.
_MIN_SCRUB = 4
_REDACTED = "[redacted]"
_UNKNOWN_OUTCOME = "The change may or may not have been made; it is safe to repeat."

_TRANSPORT_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer handed back to the caller: status, parsed body or detail, retry history."""

    status: int
    body: Any
    detail: str | None
    # True when an earlier attempt of this write failed without an answer, so it may
    # have happened: a later 409 (create) or 404 (delete) may be our own doing.
    unknown: bool


class Credential(AuthBase):
    """Attaches the API key or OAuth token to each request; its repr hides the secret.

    An auth object rather than ``Session.headers``: the credential is added to requests this
    client sends, and never to other requests made with a session the caller passed in.
    """

    def __init__(self, kind: Literal["api key", "OAuth token"], value: str) -> None:
        """Wrap ``value``, which goes in ``x-api-key`` or ``Authorization: Bearer``."""
        self.kind = kind
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
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


def pick_credential(api_key: str | None, oauth_token: str | None) -> Credential:
    """Pick the credential: arguments first, then ``RBX_API_KEY``, then ``RBX_OAUTH_TOKEN``."""
    if api_key is not None and oauth_token is not None:
        raise InvalidInputError("Pass api_key or oauth_token, not both.")
    if api_key is not None:
        return Credential("api key", _check_credential(api_key, "api_key"))
    if oauth_token is not None:
        return Credential("OAuth token", _check_credential(oauth_token, "oauth_token"))
    env_key = os.environ.get(ENV_API_KEY, "").strip()
    if env_key:
        return Credential("api key", _check_credential(env_key, ENV_API_KEY))
    env_token = os.environ.get(ENV_OAUTH_TOKEN, "").strip()
    if env_token:
        return Credential("OAuth token", _check_credential(env_token, ENV_OAUTH_TOKEN))
    raise InvalidInputError(
        f"No credential: pass api_key= (or oauth_token=), or set {ENV_API_KEY} "
        f"(or {ENV_OAUTH_TOKEN}) to an Open Cloud API key with the secret-store API system."
    )


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


def check_base_url(url: str) -> str:
    """Return ``url`` without a trailing slash if credentials may be sent there, else raise.

    ``https://`` anywhere; plain ``http://`` only to loopback (127.0.0.0/8, ::1, localhost),
    where the fake server runs. No user info, query or fragment.
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
    if scheme == "http" and not _is_loopback(host):
        raise InvalidInputError(
            f"Refusing plain http:// to {host}: the API key would cross the network "
            "unencrypted. Use https://, or http:// only to 127.0.0.1, ::1 or localhost."
        )
    return f"{scheme}://{parts.netloc}{parts.path}".rstrip("/")


def _is_loopback(host: str) -> bool:
    """Whether ``host`` (as ``urlsplit`` gives it) is a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Retry(Retry):
    """urllib3's ``Retry`` leaving 429 to :class:`Transport` and capping ``Retry-After``.

    urllib3 would sleep through any ``Retry-After`` (an hour, five times over) in the calling
    thread alone, while the rate-limit bucket is shared by every thread of a bulk run.
    """

    # Not 413 or 429: urllib3 retries these on a Retry-After even outside status_forcelist.
    RETRY_AFTER_STATUS_CODES = frozenset({503})

    def get_retry_after(self, response: urllib3.BaseHTTPResponse) -> float | None:
        """The server's ``Retry-After`` in seconds, at most ``_MAX_RETRY_AFTER``."""
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, _MAX_RETRY_AFTER)


def retry_policy(max_retries: int) -> Retry:
    """urllib3's retries: failed connections for any method, 5xx and lost answers for GETs.

    Only GET (and HEAD/OPTIONS) are retried on a status or a failed read; writes are not
    idempotent-safe at this layer, so :meth:`Transport.request` retries them itself, knowing
    which outcomes are certain. Connection failures before sending are safe for any method.
    429 is never retried here (see :class:`_Retry`).
    """
    return _Retry(
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        other=0,
        redirect=0,
        raise_on_redirect=False,
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}),
        status_forcelist=frozenset({500, 502, 503, 504}),
        backoff_factor=_BACKOFF_FACTOR,
        backoff_max=_BACKOFF_MAX,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class _QuietHTTPConnection(HTTPConnection):
    """A connection that ignores ``http.client.HTTPConnection.debuglevel``.

    At a debuglevel above 0 (the usual recipe for debugging ``requests``) ``http.client``
    prints every header sent, the API key included, and the body, the ciphertext included.
    """

    debuglevel = 0


class _QuietHTTPSConnection(HTTPSConnection):
    """:class:`_QuietHTTPConnection` over TLS."""

    debuglevel = 0


class _QuietHTTPPool(HTTPConnectionPool):
    ConnectionCls = _QuietHTTPConnection


class _QuietHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _QuietHTTPSConnection


_QUIET_POOLS = {"http": _QuietHTTPPool, "https": _QuietHTTPSPool}


class _Adapter(HTTPAdapter):
    """The adapter the client mounts: urllib3 retries, quiet connections."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Create the pool manager, with quiet connections."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _QUIET_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> urllib3.PoolManager:
        """The manager for an HTTP(S) proxy, with quiet connections (SOCKS left as is)."""
        manager: urllib3.PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):
            manager.pool_classes_by_scheme = _QUIET_POOLS
        return manager


def _never_sent(exc: BaseException) -> bool:
    """Whether a failed request never reached the server (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    # urllib3's NewConnectionError (refused, unresolvable) is a ConnectTimeoutError.
    return isinstance(reason, ConnectTimeoutError)


@dataclass(frozen=True, slots=True)
class _NoAnswer:
    """A request that got no answer: the scrubbed error, and whether it may have arrived."""

    failure: BaseException
    maybe_sent: bool


def _problem_detail(response: requests.Response) -> str | None:
    """Roblox's explanation in an error response, from whichever shape it used.

    ProblemDetails (``detail``, else ``title``), the gateway's ``{"errors": [{"message"}]}``,
    ASP.NET's validation ``{"errors": {"field": ["message"]}}``, a bare ``message``, or a
    short plain-text body. HTML error pages give nothing useful and are ignored.
    """
    try:
        data = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        text = response.content[:2000].decode("utf-8", "replace").strip()
        if not text or text.startswith("<"):
            return None
        return one_line(text, 200)
    if not isinstance(data, Mapping):
        return None
    detail = data.get("detail")
    if isinstance(detail, str) and detail.strip():
        return detail
    errors = data.get("errors")
    messages: list[str] = []
    if isinstance(errors, list):
        for entry in errors:
            if isinstance(entry, Mapping) and isinstance(entry.get("message"), str):
                messages.append(entry["message"])
            elif isinstance(entry, str):
                messages.append(entry)
    elif isinstance(errors, Mapping):
        for field, problems in errors.items():
            listed = problems if isinstance(problems, list) else [problems]
            messages.append(f"{field}: {'; '.join(str(p) for p in listed)}")
    if messages:
        return "; ".join(messages)
    for name in ("message", "error_description", "error", "title"):
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _retry_after(response: requests.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _no_proxies(base_url: str) -> dict[str, str]:
    """``proxies=`` for requests to ``base_url``: none at all for plain ``http://``.

    ``requests`` takes ``HTTP_PROXY``/``ALL_PROXY`` from the environment, which would carry
    the credential in clear text to the proxy; a None entry overrides the environment's
    (requests documents it; its type stubs do not admit None, hence the cast).
    """
    parts = urlsplit(base_url)
    if parts.scheme != "http":
        return {}
    host = parts.hostname or ""
    keys = ("http", "all", f"http://{host}", f"all://{host}")
    return cast("dict[str, str]", dict.fromkeys(keys))


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` without user info or path, for messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return ""
    if not host:
        return ""
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _describe_failure(failure: BaseException, timeout: float) -> str:
    """Say in a few words how a request failed without an answer."""
    text = str(failure).lower()
    if isinstance(failure, requests.ConnectTimeout):
        return f"no connection within {timeout:g} s"
    if isinstance(failure, requests.Timeout) or "timed out" in text:
        return f"no answer within {timeout:g} s"
    if isinstance(failure, requests.exceptions.SSLError):
        return "the TLS handshake failed (certificate or proxy problem)"
    if "refused" in text:
        return "the connection was refused"
    if "name or service not known" in text or "getaddrinfo" in text or "resolve" in text:
        return "the host name could not be resolved"
    if "aborted" in text or "reset" in text or "disconnected" in text or "closed" in text:
        return "the connection was dropped before an answer arrived"
    return "the connection failed"


class Transport:
    """Sends requests to one Open Cloud base URL with one credential.

    Parameters
    ----------
    base_url:
        Already checked by :func:`check_base_url`.
    credential:
        From :func:`pick_credential`.
    session:
        A ``requests.Session`` to reuse, or ``None`` for a new one (closed by :meth:`close`).
        When its adapter for the base URL is the plain default, a retrying one is mounted for
        that URL only; a custom adapter (such as ``fakeserver``'s) is left in place.
    universe_id:
        Named in the hint of a 403.
    timeout, max_retries, rate_limit, clock, sleep:
        As for :class:`~rbxsecrets_magic.client.SecretsClient`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        credential: Credential,
        session: requests.Session | None,
        universe_id: int,
        timeout: float,
        max_retries: int,
        rate_limit: tuple[int, float] | None,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        """Set up the session and the pacer; nothing is sent yet."""
        self.base_url = base_url
        self.universe_id = universe_id
        self.timeout = timeout
        self.max_retries = max_retries
        self.credential = credential
        self._pacer = Pacer(rate_limit, clock=clock, sleep=sleep)
        self._sleep = sleep
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self._urllib3_retries = self._install_retries()
        self._headers = {"User-Agent": f"rbxsecrets-magic/{__version__}"}
        self._proxies = _no_proxies(base_url)

    def _install_retries(self) -> bool:
        """Mount a retrying adapter for the base URL unless the session has a custom one.

        Returns whether urllib3 now retries safe requests, so they are not retried twice.
        """
        prefix = f"{self.base_url}/"
        adapter = self.session.get_adapter(prefix)
        default = getattr(adapter, "max_retries", None)
        if type(adapter) is HTTPAdapter and isinstance(default, Retry) and not default.total:
            self.session.mount(
                prefix,
                _Adapter(
                    max_retries=retry_policy(self.max_retries),
                    pool_connections=1,
                    pool_maxsize=MAX_CONNECTIONS,
                ),
            )
            return True
        return False

    def close(self) -> None:
        """Close the session if this transport created it."""
        if self._owns_session:
            self.session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        doing: str,
        write: bool = False,
        body: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
        accept: Collection[int] = (),
        redact: tuple[str | None, ...] = (),
    ) -> Reply:
        """Send one API call, paced, retrying what a retry can cure; raise the rest.

        Statuses in ``accept`` are returned instead of raised. A 429 is retried here after
        ``Retry-After`` (or backoff), with every thread held. When the client mounted its
        adapter, urllib3 retries failed connections and a GET's 5xx or lost answer; the rest
        is retried here after ``Retry-After`` or exponential backoff.
        """
        own_retries = write or not self._urllib3_retries
        retries = 0
        unknown = False
        while True:
            response = self._send(method, path, body, params, redact)
            if isinstance(response, _NoAnswer):
                failure = response.failure
                unknown = unknown or (write and response.maybe_sent)
                # urllib3 has already retried a connection that could not be made.
                retry = own_retries and (response.maybe_sent or not self._urllib3_retries)
                if retry and retries < self.max_retries:
                    retries += 1
                    delay = self._backoff(retries)
                    logger.info(
                        "%s: %s; retry %d of %d in %.2f s",
                        doing, _describe_failure(failure, self.timeout), retries,
                        self.max_retries, delay,
                    )
                    self._sleep(delay)
                    continue
                raise TransportError(
                    self._transport_message(failure, doing, write and unknown),
                    outcome_unknown=write and unknown,
                ) from failure
            status = response.status_code
            if 200 <= status < 300 or status in accept:
                return self._reply(response, unknown, redact)
            retry = status == 429 or (own_retries and status >= 500)
            if retry and retries < self.max_retries:
                wait = _retry_after(response)
                if status == 429 and wait is not None and wait > _MAX_RETRY_AFTER:
                    raise self._api_error(response, doing, write, unknown, redact)
                retries += 1
                if status >= 500 and write:
                    unknown = True
                if status == 429:
                    # Everyone waits, not just this thread: the bucket is shared.
                    self._pacer.hold(wait if wait is not None else self._backoff(retries))
                    logger.info(
                        "%s: rate limited (429); retry %d of %d after %s s",
                        doing, retries, self.max_retries,
                        "pacing" if wait is None else f"{wait:g}",
                    )
                else:
                    delay = wait if wait is not None else self._backoff(retries)
                    logger.info(
                        "%s: HTTP %d; retry %d of %d in %.2f s",
                        doing, status, retries, self.max_retries, delay,
                    )
                    self._sleep(min(delay, _MAX_RETRY_AFTER))
                continue
            raise self._api_error(response, doing, write, unknown, redact)

    def _send(
        self,
        method: str,
        path: str,
        body: Mapping[str, str] | None,
        params: Mapping[str, str | int] | None,
        redact: tuple[str | None, ...],
    ) -> requests.Response | _NoAnswer:
        """Send one request; return the response, or a scrubbed stand-in for the error.

        The stand-in is built inside ``except`` but raised by the caller outside it, so the
        original exception (whose ``.request`` holds the headers and body) is not kept as
        ``__context__`` either.
        """
        ticket = self._pacer.acquire()
        response: requests.Response | None = None
        failure: _NoAnswer | None = None
        started = time.perf_counter()
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                headers=self._headers,
                auth=self.credential,
                timeout=self.timeout,
                allow_redirects=False,
                proxies=self._proxies,
            )
        except _TRANSPORT_ERRORS as exc:
            failure = _NoAnswer(self._detach(exc, redact), maybe_sent=not _never_sent(exc))
        finally:
            self._pacer.release(ticket, response.headers if response is not None else None)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response is not None:
            logger.debug("%s %s -> %d (%.0f ms)", method, path, response.status_code, elapsed_ms)
        else:
            logger.debug("%s %s -> no answer (%.0f ms)", method, path, elapsed_ms)
        if response is None:
            assert failure is not None
            return failure
        return response

    def _detach(self, exc: BaseException, redact: tuple[str | None, ...]) -> BaseException:
        """A copy of a transport error with only its scrubbed message: no request, no cause."""
        message = self._scrub(one_line(str(exc), 500), redact)
        cls = type(exc) if isinstance(exc, requests.RequestException) else requests.ConnectionError
        try:
            return cls(message)
        except (TypeError, ValueError):  # an exotic subclass with another signature
            return requests.ConnectionError(message)

    def _scrub(self, text: str, redact: tuple[str | None, ...]) -> str:
        """Remove the credential and this request's value and ciphertext from ``text``."""
        for secret in (self.credential.secret, *redact):
            if secret and len(secret) >= _MIN_SCRUB and secret in text:
                text = text.replace(secret, _REDACTED)
        return text

    def _detail(self, response: requests.Response, redact: tuple[str | None, ...]) -> str | None:
        """Roblox's explanation of an error answer, scrubbed of anything secret."""
        detail = _problem_detail(response)
        return self._scrub(detail, redact) if detail else None

    def _backoff(self, retries: int) -> float:
        """Exponential backoff before retry number ``retries`` (1-based)."""
        return min(_BACKOFF_MAX, _BACKOFF_FACTOR * 2.0 ** (retries - 1))

    def _reply(
        self, response: requests.Response, unknown: bool, redact: tuple[str | None, ...]
    ) -> Reply:
        """Parse a response the caller will handle; an empty body reads as ``{}``."""
        status = response.status_code
        if not 200 <= status < 300:
            return Reply(status, None, self._detail(response, redact), unknown)
        content = response.content.strip()
        if not content:
            return Reply(status, {}, None, unknown)
        try:
            parsed = json.loads(content)
        except (ValueError, UnicodeDecodeError):
            parsed = None
        return Reply(status, parsed, None, unknown)

    def _api_error(
        self,
        response: requests.Response,
        doing: str,
        write: bool,
        unknown: bool,
        redact: tuple[str | None, ...],
    ) -> ApiError:
        """The error for an answer the client will not retry further."""
        status = response.status_code
        if 300 <= status < 400:
            target = _origin(response.headers.get("Location", "")) or "another URL"
            return ApiError(
                status,
                f"redirect to {target}, not followed",
                doing=doing,
                hint=f"Credentials are sent only to {self.base_url}; check base_url or "
                f"{ENV_BASE_URL}.",
            )
        detail = self._detail(response, redact)
        cls = api_error_class(status)
        if cls is RateLimitedError:
            return RateLimitedError(status, detail, doing=doing, retry_after=_retry_after(response))
        if cls is PermissionDeniedError:
            hint = PermissionDeniedError.hint_for(self.universe_id, write)
            return PermissionDeniedError(status, detail, doing=doing, hint=hint)
        if cls is ServerError and write and unknown:
            error = ServerError(
                status,
                detail,
                doing=doing,
                hint=_UNKNOWN_OUTCOME,
            )
            error.outcome_unknown = True
            return error
        return cls(status, detail, doing=doing)

    def _transport_message(self, failure: BaseException, doing: str, unknown: bool) -> str:
        """One line for a request that got no answer, even after retrying."""
        what = _describe_failure(failure, self.timeout)
        message = (
            f"{doing[:1].upper()}{doing[1:]} failed: could not get an answer from "
            f"{self.base_url} ({what})."
        )
        if unknown:
            return f"{message} {_UNKNOWN_OUTCOME}"
        return f"{message} Check the network and base_url ({ENV_BASE_URL})."
