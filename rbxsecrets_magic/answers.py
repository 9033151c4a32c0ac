"""Reading Open Cloud's answers: bodies, Roblox's explanations, ``Retry-After``, and errors.

This is the one place where an HTTP outcome becomes an exception: :func:`api_error` for an
answer with an error status (which class, which hint, whether a write's outcome is unknown),
:func:`transport_error` for a request that got no answer. :mod:`rbxsecrets_magic.errors`
defines the classes; nothing else builds them from a status.

Text taken from an answer goes through the caller's ``scrub`` before it reaches an error, so
a server echoing a value or the credential does not put it in a message.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from .errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    one_line,
)
from .settings import ENV_API_KEY, ENV_BASE_URL, ENV_OAUTH_TOKEN

__all__ = [
    "UNKNOWN_OUTCOME",
    "api_error",
    "api_error_class",
    "describe_failure",
    "parse_body",
    "retry_after",
    "transport_error",
]

UNKNOWN_OUTCOME = "The change may or may not have been made; it is safe to repeat."
_CREATED_MAYBE = (
    "An earlier attempt got no answer and may have created it; use set() to be sure of its value."
)
_AUTH_HINT = (
    f"Check the API key ({ENV_API_KEY}) or OAuth token ({ENV_OAUTH_TOKEN}): "
    "it may be mistyped, expired or revoked."
)

_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}


def api_error_class(status: int) -> type[ApiError]:
    """Return the :class:`ApiError` subclass for an HTTP ``status``."""
    if 500 <= status <= 599:
        return ServerError
    return _BY_STATUS.get(status, ApiError)


def api_error(
    response: requests.Response,
    *,
    doing: str,
    write: bool,
    outcome_unknown: bool,
    universe_id: int,
    base_url: str,
    scrub: Callable[[str], str],
) -> ApiError:
    """The error for an answer the client will not retry further.

    ``outcome_unknown`` says that an earlier attempt of this write may have taken effect;
    it makes a 5xx say so, and a 409 say it may be the client's own create.
    """
    status = response.status_code
    if 300 <= status < 400:
        target = _origin(response.headers.get("Location", "")) or "another URL"
        return ApiError(
            status,
            f"redirect to {target}, not followed",
            doing=doing,
            hint=f"Credentials are sent only to {base_url}; check base_url or {ENV_BASE_URL}.",
            outcome_unknown=outcome_unknown,
        )
    detail = problem_detail(response)
    detail = scrub(detail) if detail else None
    cls = api_error_class(status)
    hint: str | None = None
    if cls is AuthenticationError:
        hint = _AUTH_HINT
    elif cls is PermissionDeniedError:
        hint = PermissionDeniedError.hint_for(universe_id, write)
    elif cls is ConflictError and outcome_unknown:
        hint = _CREATED_MAYBE
    elif cls is ServerError and outcome_unknown:
        hint = UNKNOWN_OUTCOME
    elif cls is RateLimitedError:
        return RateLimitedError(
            status, detail, doing=doing, outcome_unknown=outcome_unknown,
            retry_after=retry_after(response),
        )
    return cls(status, detail, doing=doing, hint=hint, outcome_unknown=outcome_unknown)


def transport_error(
    failure: BaseException, *, doing: str, base_url: str, timeout: float, outcome_unknown: bool
) -> TransportError:
    """The error for a request that got no answer, even after retrying."""
    what = describe_failure(failure, timeout)
    message = (
        f"{doing[:1].upper()}{doing[1:]} failed: could not get an answer from "
        f"{base_url} ({what})."
    )
    if outcome_unknown:
        message = f"{message} {UNKNOWN_OUTCOME}"
    else:
        message = f"{message} Check the network and base_url ({ENV_BASE_URL})."
    return TransportError(message, outcome_unknown=outcome_unknown)


def parse_body(response: requests.Response) -> Any:
    """The JSON of a 2xx answer; ``{}`` for an empty body, ``None`` for one that is not JSON."""
    content = response.content.strip()
    if not content:
        return {}
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def problem_detail(response: requests.Response) -> str | None:
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


def retry_after(response: requests.Response) -> float | None:
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


def describe_failure(failure: BaseException, timeout: float) -> str:
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
