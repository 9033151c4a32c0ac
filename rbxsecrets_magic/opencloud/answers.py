"""Reading Open Cloud's answers: bodies, the server's explanations, ``Retry-After``, errors.

This is the one place where an HTTP outcome becomes an exception: :func:`api_error` for an
answer with an error status (which class, which hint, whether a write's outcome is unknown),
:func:`unexpected_answer` for one not shaped as documented, :func:`transport_error` for a
request that got no answer. :mod:`rbxsecrets_magic.errors` defines the classes; nothing else
builds them from a status. Messages name the server that answered
(:func:`rbxsecrets_magic.settings.server_name`).

Bodies are read by :func:`read_body`, which never holds more than
:data:`~rbxsecrets_magic.settings.MAX_ANSWER_BYTES`: a declared ``Content-Length`` over it is
refused before reading, and a body without one is read in chunks and dropped once it passes.

Text taken from an answer goes through the caller's ``scrub`` before it reaches an error, so
a server echoing a value or the credential, in any form, does not put it in a message.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from ..errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedAnswerError,
)
from ..settings import (
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_OAUTH_TOKEN,
    MAX_ANSWER_BYTES,
    is_roblox,
    origin,
    server_name,
)

__all__ = [
    "IN_FLIGHT",
    "UNKNOWN_OUTCOME",
    "AnswerTooLarge",
    "api_error",
    "api_error_class",
    "describe_failure",
    "parse_body",
    "read_body",
    "retry_after",
    "transport_error",
    "unexpected_answer",
]

#: What a write sent without an answer is: it may still land, and it was not resent.
IN_FLIGHT = (
    "Outcome unknown: the request was sent but not answered, so the change may or may not "
    "have been made, and may still take effect later; it was not sent again."
)
#: What a write is when an attempt failed after it may have taken effect.
UNKNOWN_OUTCOME = (
    "Outcome unknown: the change may or may not have been made, and may still take effect later."
)
_NETWORK_HINT = f"Check the network and base_url ({ENV_BASE_URL})."
_CREATED_MAYBE = (
    "An earlier attempt failed after it may have created it; use set() to be sure of its value."
)
# Server text longer than this is not looked at: a message shows 300 characters of it.
_MAX_TEXT = 4000
_CHUNK = 64 * 1024
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
    advice: str = "",
    quote_server: bool = True,
) -> ApiError:
    """The error for an answer the client will not retry further.

    ``outcome_unknown`` says that an attempt of this write may have taken effect; it makes a
    5xx say so, followed by ``advice`` (what to check before writing again), and a 409 say
    it may be the client's own create.

    ``quote_server`` false (the request carried a value): nothing the server wrote is shown,
    not its explanation nor a redirect's host, only fixed words chosen by the status. A
    server that opens the sealed value could re-encode it in forms no scrubber can list
    (spaced out, fullwidth, base32...); fixed words cannot carry it.
    """
    status = response.status_code
    server = server_name(base_url)
    if 300 <= status < 400:
        target = origin(response.headers.get("Location", "")) if quote_server else ""
        target = target or "another URL"
        return ApiError(
            status,
            scrub(f"redirect to {target}, not followed"),
            doing=doing,
            hint=f"Credentials are sent only to {base_url}; check base_url or {ENV_BASE_URL}.",
            outcome_unknown=outcome_unknown,
            server=server,
        )
    detail = problem_detail(response)
    if not quote_server:
        detail = _withheld(status, detail)
    detail = scrub(detail) if detail else None
    cls = api_error_class(status)
    hint: str | None = None
    if cls is BadRequestError and not quote_server:
        hint = _BAD_WRITE_HINT
    elif cls is AuthenticationError:
        hint = _AUTH_HINT
    elif cls is PermissionDeniedError:
        hint = PermissionDeniedError.hint_for(universe_id, write)
    elif cls is ConflictError and outcome_unknown:
        hint = _CREATED_MAYBE
    elif cls is ServerError and outcome_unknown:
        hint = _joined(UNKNOWN_OUTCOME, advice)
    elif cls is ServerError and not is_roblox(base_url):
        hint = "Try again later."
    elif cls is RateLimitedError:
        return RateLimitedError(
            status,
            detail,
            doing=doing,
            outcome_unknown=outcome_unknown,
            server=server,
            retry_after=retry_after(response),
        )
    return cls(
        status, detail, doing=doing, hint=hint, outcome_unknown=outcome_unknown, server=server
    )


#: Stands in for the server's explanation of a failed request that carried a value.
WITHHELD = "its own words are not shown, as they could carry the value"
_BAD_WRITE_HINT = (
    "Check the secret id, value and domain against Roblox's rules, and that the universe "
    "holds fewer than 500 secrets."
)


def _withheld(status: int, detail: str | None) -> str | None:
    """Fixed words in place of the server's explanation of a request that carried a value.

    One fact only is taken from it, as a choice between fixed texts: whether a 400 blames
    the key id (the client then fetches the rotated key and writes again, once). Statuses
    whose summary and hint say what they mean (401, 403, 404, 409, 429) need no words.
    """
    if not detail:
        return None
    lowered = detail.lower()
    if status == 400 and any(w in lowered for w in ("key_id", "key id", "keyid")):
        return "the key_id was refused"
    if status in _BY_STATUS and status != 400:
        return None
    return WITHHELD


def unexpected_answer(
    status: int, why: str, *, doing: str, base_url: str, outcome_unknown: bool, advice: str = ""
) -> UnexpectedAnswerError:
    """The error for an answer not shaped as the API documents: ``why`` says how (fixed text).

    Never quotes the answer: the shape is described, the content is not.
    """
    server = server_name(base_url)
    if is_roblox(base_url):
        server = f"{server} ({urlsplit(base_url).hostname})"
        hint = "Try again later; if it goes on, Roblox's API may have changed."
    else:
        hint = (
            f"Check that base_url ({ENV_BASE_URL}) points at Open Cloud, not at a proxy or "
            "a login page."
        )
    if outcome_unknown:
        hint = _joined(UNKNOWN_OUTCOME, advice, hint)
    return UnexpectedAnswerError(
        status, why, doing=doing, hint=hint, outcome_unknown=outcome_unknown, server=server
    )


def transport_error(
    failure: BaseException,
    *,
    doing: str,
    base_url: str,
    timeout: float,
    outcome_unknown: bool,
    in_flight: bool,
    advice: str = "",
) -> TransportError:
    """The error for a request that got no answer, even after retrying.

    ``in_flight``: the last attempt was a write sent without an answer (and not resent).
    ``advice``: what to check before writing again, when the outcome is unknown.
    """
    what = describe_failure(failure, timeout)
    message = (
        f"{doing[:1].upper()}{doing[1:]} failed: could not get an answer from "
        f"{origin(base_url) or base_url} ({what})."
    )
    if not outcome_unknown:
        hint = _NETWORK_HINT
    else:
        hint = _joined(IN_FLIGHT if in_flight else UNKNOWN_OUTCOME, advice)
    return TransportError(message, outcome_unknown=outcome_unknown, hint=hint)


def _joined(*parts: str) -> str:
    return " ".join(part for part in parts if part)


class AnswerTooLarge(Exception):
    """An answer body over :data:`~rbxsecrets_magic.settings.MAX_ANSWER_BYTES` (internal)."""

    def __init__(self, declared: bool) -> None:
        """``declared``: the ``Content-Length`` said so, before anything was read."""
        self.declared = declared
        limit = MAX_ANSWER_BYTES // (1024 * 1024)
        super().__init__(
            f"the answer {'declares' if declared else 'runs to'} more than {limit} MiB, "
            "far more than any answer of the API; it was not read"
        )


def read_body(response: requests.Response, *, deadline: float | None = None) -> bytes:
    """Read a streamed answer's body, at most ``MAX_ANSWER_BYTES`` of it, and keep it.

    A ``Content-Length`` over the cap is refused before reading anything; otherwise the body
    is read in chunks and dropped as soon as it passes the cap. ``deadline`` (a
    ``time.monotonic()`` value) is checked between chunks: the client's own connections also
    enforce it within each read (:mod:`rbxsecrets_magic.connections`). Afterwards
    ``response.content`` holds the body, as if it had not been streamed.

    Raises
    ------
    AnswerTooLarge
        For a body over the cap (the connection is closed).
    requests.RequestException
        For a failure or a timeout while reading.
    """
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        response.close()
        raise AnswerTooLarge(declared=True)
    if response.raw is None:  # an adapter that answered from memory: nothing to stream
        body = response.content or b""
        if len(body) > MAX_ANSWER_BYTES:
            raise AnswerTooLarge(declared=False)
        return body
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_CHUNK):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            response.close()
            raise AnswerTooLarge(declared=False)
        chunks.append(chunk)
        if deadline is not None and time.monotonic() > deadline:
            response.close()
            raise requests.ReadTimeout("read timed out (the whole answer took too long)")
    body = b"".join(chunks)
    # What requests itself does once it has read a body; the rest of the client (and any
    # caller's hook) then reads response.content as usual.
    response._content = body
    response._content_consumed = True  # type: ignore[attr-defined]  # not in the stubs
    return body


def parse_body(response: requests.Response) -> Any:
    """The JSON of a 2xx answer; ``None`` for an empty body.

    Raises
    ------
    ValueError
        When the body is not JSON.
    """
    content = response.content.strip()
    if not content:
        return None
    try:
        return json.loads(content)
    except UnicodeDecodeError as exc:
        raise ValueError("the body is not UTF-8") from exc
    except RecursionError:  # json parses nested arrays recursively; no answer nests deep
        raise ValueError("the body is nested too deeply") from None


def problem_detail(response: requests.Response) -> str | None:
    """Roblox's explanation in an error response, from whichever shape it used.

    ProblemDetails (``detail``, else ``title``), the gateway's ``{"errors": [{"message"}]}``,
    ASP.NET's validation ``{"errors": {"field": ["message"]}}``, a bare ``message``, or a
    short plain-text body. HTML error pages give nothing useful and are ignored.
    """
    try:
        data = json.loads(response.content)
    except RecursionError:
        return None
    except (ValueError, UnicodeDecodeError):
        text = response.content[:_MAX_TEXT].decode("utf-8", "replace").strip()
        if not text or text.startswith("<"):
            return None
        # Not collapsed or cut here: the caller scrubs first, so a value echoed across
        # several lines, or cut short, is still recognised.
        return text
    if not isinstance(data, Mapping):
        return None
    found = _detail_of(data)
    return found[:_MAX_TEXT] if found else None


def _detail_of(data: Mapping[str, Any]) -> str | None:
    """The explanation in a JSON error body, from whichever shape it used."""
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
    if any(word in text for word in ("aborted", "reset", "disconnected", "closed", "dropped")):
        return "the connection was dropped before an answer arrived"
    return "the connection failed"
