"""Sending one Open Cloud call: retries, then pacing, then a single leak-proof send.

:class:`Sender` knows URLs, credentials, statuses, retries and the rate limit, and nothing
about secrets, keys or sealing (that is :mod:`~rbxsecrets_magic.opencloud.client`). Like httpx's
client,
it is built in layers, each with one job, each calling the next:

1. :meth:`Sender.request`: the answer to the caller, the parsed body of a 2xx, or an error
   from :mod:`rbxsecrets_magic.opencloud.answers`;
2. :meth:`Sender._send_with_retries`: the only retry loop. :func:`_retry_wait` decides, for
   every method and whatever session the client was given (urllib3 never retries, see
   :mod:`rbxsecrets_magic.opencloud.connections`): a 5xx, a 429, or a failure that got no answer is
   retried after ``Retry-After`` or exponential backoff; a 429 holds the shared
   :class:`~rbxsecrets_magic.opencloud.pacing.Pacer`, so that every thread waits it out together; a
   ``Retry-After`` longer than Roblox's rate-limit window is reported instead of waited.
   A write is never sent again while an earlier copy may still be in flight (sent without an
   answer, or a 504 from a gateway that gave up waiting): a late copy landing after a newer
   write would undo it. Such a write is "outcome unknown", and so is one an answered 5xx
   attempt of which may have taken effect. A write that provably was not sent (no connection
   was made, or not a byte written) is retried like a read; so is a refused connection,
   except to loopback, where it means nothing is listening and is final at once;
3. :meth:`Sender._send_paced`: takes a token from the pacer, and gives back what the answer
   said about the rate limit;
4. :meth:`Sender._send_once`: one HTTP request within one deadline (``timeout`` bounds the
   whole request, see :func:`rbxsecrets_magic.opencloud.connections.exchange`), credentials attached
   per request, redirects never followed (a 3xx is an error), since ``requests`` keeps
   headers such as ``x-api-key`` on a redirect to another host; the body read in chunks up to
   a cap (:func:`~rbxsecrets_magic.opencloud.answers.read_body`). A failed ``requests`` call
   becomes a
   :class:`_NoAnswer` holding a fresh exception with only the scrubbed message, not the
   original, whose ``.request`` would carry the headers and the body.

No credential, value or ciphertext reaches a message, log record or exception: text from the
server is scrubbed of every form of them (:mod:`rbxsecrets_magic.opencloud.scrubbing`).
"""

from __future__ import annotations

import http.client
import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from ..errors import InvalidInputError, UnexpectedAnswerError, WaitTooLongError, one_line
from ..settings import MAX_SILENT_WAIT, Credential, is_loopback
from ..version import __version__
from .answers import (
    AnswerTooLarge,
    api_error,
    describe_failure,
    parse_body,
    read_body,
    retry_after,
    transport_error,
    unexpected_answer,
)
from .connections import debug_output_would_print, exchange, no_proxies, session_for
from .pacing import Pacer
from .scrubbing import scrub

__all__ = ["Call", "Sender"]

logger = logging.getLogger(__name__)

# A Retry-After longer than this is reported instead of silently waited out.
_MAX_RETRY_AFTER = MAX_SILENT_WAIT
_BACKOFF_FACTOR = 0.25
_BACKOFF_MAX = 30.0

_TRANSPORT_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


@dataclass(frozen=True, slots=True)
class Call:
    """One API call: what to send, what it is for, and what must never be shown.

    Attributes
    ----------
    method, path:
        The HTTP method and the path below the base URL.
    doing:
        What the call does, for messages: ``"listing secrets in universe 1"``.
    write:
        Whether the call changes something (its outcome may then be unknown).
    body, params:
        The JSON body and the query parameters, if any.
    redact:
        Texts to scrub from anything the server says (the value, the ciphertext).
    advice:
        What to check before writing again when this write's outcome is unknown, appended
        to the message (for a secret: its update time in the listing).
    repeatable:
        Whether a write may be sent again after an answered 5xx (which may have taken
        effect). No write is ever sent again after it was sent without an answer. False for
        a call whose repetition does harm of its own, such as a restart, which would restart
        the servers that replaced the first round: it is then retried only after a 429 or a
        failure that proves nothing was sent, and a doubtful attempt is reported as an
        unknown outcome instead.
    """

    method: str
    path: str
    doing: str
    write: bool = False
    body: Mapping[str, Any] | None = None
    params: Mapping[str, str | int] | None = None
    redact: tuple[str | None, ...] = ()
    advice: str = ""
    repeatable: bool = True


def _carries_value(call: Call) -> bool:
    """Whether ``call`` sent something a server could echo back: a value, a ciphertext."""
    return any(call.redact)


@dataclass(frozen=True, slots=True)
class _NoAnswer:
    """A request that got no answer: the scrubbed error, whether it may have arrived, and
    whether the connection was refused."""

    failure: BaseException
    maybe_sent: bool
    refused: bool = False
    unresolved: bool = False


@dataclass(frozen=True, slots=True)
class _BadAnswer:
    """An answer the client would not read (over the size cap): its status, and why."""

    status: int
    why: str


_Attempt = requests.Response | _NoAnswer | _BadAnswer


@dataclass(frozen=True, slots=True)
class _Wait:
    """How to wait before the next attempt: ``seconds``, alone or holding every thread."""

    seconds: float
    together: bool
    why: str


def _backoff(retry: int) -> float:
    """Exponential backoff before retry number ``retry`` (1-based)."""
    return min(_BACKOFF_MAX, _BACKOFF_FACTOR * 2.0 ** (retry - 1))


def _in_flight(call: Call, attempt: _Attempt) -> bool:
    """Whether ``attempt`` is a write that may still be on its way: never to be sent again.

    Sent without an answer, or a 504: a gateway that stopped waiting for the server, which
    may still be writing.
    """
    if not call.write:
        return False
    if isinstance(attempt, _NoAnswer):
        return attempt.maybe_sent
    return isinstance(attempt, requests.Response) and attempt.status_code == 504


def _retry_wait(call: Call, attempt: _Attempt, retry: int, *, loopback: bool) -> _Wait | None:
    """Whether to retry after ``attempt``, as retry number ``retry``, and how to wait.

    The one place that decides a retry. None: give up, and report the attempt.
    """
    if isinstance(attempt, _BadAnswer) or _in_flight(call, attempt):
        return None
    if not call.repeatable and _may_have_taken_effect(call, attempt):
        return None  # e.g. a restart: a second one would restart the first one's servers
    if isinstance(attempt, _NoAnswer):
        if attempt.refused and loopback:
            return None  # nothing listens on this machine; waiting will not start it
        if attempt.unresolved:
            # The host name did not resolve: the system resolver has already retried, and
            # it is nearly always a mistyped URL or no network; backing off for seconds
            # cures neither. Nothing was sent, so a write has failed, not "outcome unknown".
            return None
        return _Wait(_backoff(retry), together=False, why="no answer")
    status = attempt.status_code
    if status == 429:
        wait = retry_after(attempt)
        if wait is not None and wait > _MAX_RETRY_AFTER:
            return None
        # Everyone waits, not just this thread: the bucket is shared.
        return _Wait(_backoff(retry) if wait is None else wait, together=True, why="429")
    if status >= 500:
        wait = retry_after(attempt)
        seconds = _backoff(retry) if wait is None else wait
        return _Wait(min(seconds, _MAX_RETRY_AFTER), together=False, why=f"HTTP {status}")
    return None


def _may_have_taken_effect(call: Call, attempt: _Attempt) -> bool:
    """Whether ``attempt`` of a write may have changed something though it did not succeed."""
    if not call.write:
        return False
    if isinstance(attempt, _NoAnswer):
        return attempt.maybe_sent
    if isinstance(attempt, _BadAnswer):
        return True
    return attempt.status_code >= 500


def _never_sent(exc: BaseException) -> bool:
    """Whether a failed request never reached the server (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    # urllib3's NewConnectionError (refused, unresolvable) is a ConnectTimeoutError.
    return isinstance(reason, ConnectTimeoutError)


def _refused(exc: BaseException) -> bool:
    """Whether the connection was refused (a ConnectionRefusedError anywhere in the chain)."""
    return _in_chain(exc, (ConnectionRefusedError,))


def _unresolved(exc: BaseException) -> bool:
    """Whether the host name did not resolve (a DNS failure anywhere in the chain)."""
    # urllib3 raises its NameResolutionError from the resolver's socket.gaierror.
    return _in_chain(exc, (socket.gaierror,))


def _in_chain(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """Whether an exception of ``kinds`` is anywhere in ``exc``'s causes, contexts or args."""
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        if isinstance(current, kinds):
            return True
        seen.add(id(current))
        pending.extend(
            [
                current.__cause__,
                current.__context__,
                getattr(current, "reason", None),
                *current.args,
            ]
        )
    return False


class Sender:
    """Sends calls to one Open Cloud base URL with one credential.

    Parameters
    ----------
    base_url:
        Already checked by :func:`~rbxsecrets_magic.settings.check_base_url`.
    credential:
        From :func:`~rbxsecrets_magic.settings.pick_credential`.
    session:
        A ``requests.Session`` to reuse, or ``None`` for a new one (closed by :meth:`close`);
        see :func:`~rbxsecrets_magic.opencloud.connections.session_for`.
    universe_id:
        Named in the hint of a 403.
    timeout:
        Seconds one attempt may take in all: connecting, sending and reading the whole
        answer (with the client's own adapter; a caller's adapter bounds each read).
    max_retries:
        Retries per call.
    pacer:
        The rate-limit bucket, possibly shared with other senders.
    sleep:
        Waits between retries (for tests).
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
        pacer: Pacer,
        sleep: Callable[[float], None],
    ) -> None:
        """Set up the session; nothing is sent yet."""
        self.base_url = base_url
        self.universe_id = universe_id
        self.timeout = timeout
        self.max_retries = max_retries
        self.credential = credential
        self.pacer = pacer
        self._sleep = sleep
        self._owns_session = session is None
        self.session = session_for(base_url, session)
        self._headers = {"User-Agent": f"rbxsecrets-magic/{__version__}"}
        self._proxies = no_proxies(base_url)
        self._loopback = is_loopback(urlsplit(base_url).hostname or "")

    def close(self) -> None:
        """Close the session if this sender created it."""
        if self._owns_session:
            self.session.close()

    def request(self, call: Call) -> Any:
        """Send ``call``, retrying what a retry can cure; return its 2xx body, or raise.

        Returns the parsed JSON, or ``None`` for an empty body; the caller checks its shape
        (:meth:`unexpected` builds the error when it is wrong).

        Raises
        ------
        ApiError
            The subclass for the last answer's status; :class:`UnexpectedAnswerError` for a
            2xx that is not JSON or an answer over the size cap.
        TransportError
            When the last attempt got no answer.
        WaitTooLongError
            When pacing to the server's rate limit would wait longer than the client does.
        InvalidInputError
            When ``http.client`` debug output is on and the session's adapter for the base
            URL is not the client's own: it would print the credential. Nothing is sent.
        """
        if debug_output_would_print(self.session, f"{self.base_url}/"):
            raise InvalidInputError(
                "Not sending: http.client debug output is on "
                "(http.client.HTTPConnection.debuglevel > 0) and the session's adapter for "
                f"{self.base_url} is not the client's own, so it would print the credential. "
                "Set http.client.HTTPConnection.debuglevel = 0, or pass a session without an "
                "adapter of its own for that URL (the client then mounts its quiet one)."
            )
        attempt, earlier_unknown = self._send_with_retries(call)
        if isinstance(attempt, _NoAnswer):
            raise transport_error(
                attempt.failure,
                doing=call.doing,
                base_url=self.base_url,
                timeout=self.timeout,
                outcome_unknown=earlier_unknown or _may_have_taken_effect(call, attempt),
                in_flight=_in_flight(call, attempt),
                advice=call.advice,
            ) from attempt.failure
        if isinstance(attempt, _BadAnswer):
            raise self.unexpected(call, attempt.why, status=attempt.status)
        if 200 <= attempt.status_code < 300:
            try:
                return parse_body(attempt)
            except ValueError:
                pass
            # Raised outside the except block: ``from None`` would only hide the decoding
            # error, whose ``doc`` (the whole body, maybe echoing a key) stays __context__.
            raise self.unexpected(call, "the body is not JSON", status=attempt.status_code)
        raise api_error(
            attempt,
            doing=call.doing,
            write=call.write,
            outcome_unknown=earlier_unknown or _may_have_taken_effect(call, attempt),
            universe_id=self.universe_id,
            base_url=self.base_url,
            scrub=lambda text: self._scrub(text, call.redact),
            advice=call.advice,
            quote_server=not _carries_value(call),
        )

    def unexpected(self, call: Call, why: str, *, status: int = 200) -> UnexpectedAnswerError:
        """The error for an answer to ``call`` not shaped as documented; ``why`` is fixed text.

        A write's outcome is then unknown: the server may have stored it anyway.
        """
        return unexpected_answer(
            status,
            why,
            doing=call.doing,
            base_url=self.base_url,
            outcome_unknown=call.write,
            advice=call.advice,
        )

    def _send_with_retries(self, call: Call) -> tuple[_Attempt, bool]:
        """Send until an attempt succeeds or is not worth retrying; the only retry loop.

        Returns the last attempt, and whether an earlier attempt may have taken effect.
        """
        retries = 0
        earlier_unknown = False
        while True:
            try:
                attempt = self._send_paced(call)
            except WaitTooLongError as err:
                raise WaitTooLongError(
                    f"{call.doing[:1].upper()}{call.doing[1:]} failed: {err}",
                    wait=err.wait,
                    outcome_unknown=earlier_unknown,
                ) from None
            if isinstance(attempt, requests.Response) and attempt.status_code < 300:
                return attempt, earlier_unknown
            wait = None
            if retries < self.max_retries:
                wait = _retry_wait(call, attempt, retries + 1, loopback=self._loopback)
            if wait is None:
                return attempt, earlier_unknown
            retries += 1
            earlier_unknown = earlier_unknown or _may_have_taken_effect(call, attempt)
            self._wait(call, attempt, wait, retries)

    def _wait(self, call: Call, attempt: _Attempt, wait: _Wait, retries: int) -> None:
        """Wait before retry number ``retries``, as ``wait`` says, and log why."""
        if isinstance(attempt, _BadAnswer):  # never retried; here for the type checker
            return
        if isinstance(attempt, _NoAnswer):
            what = describe_failure(attempt.failure, self.timeout)
            logger.info(
                "%s: %s; retry %d of %d in %.2f s",
                call.doing,
                what,
                retries,
                self.max_retries,
                wait.seconds,
            )
        elif wait.together:
            shown = retry_after(attempt)
            logger.info(
                "%s: rate limited (429); retry %d of %d after %s s",
                call.doing,
                retries,
                self.max_retries,
                "pacing" if shown is None else f"{shown:g}",
            )
        else:
            logger.info(
                "%s: %s; retry %d of %d in %.2f s",
                call.doing,
                wait.why,
                retries,
                self.max_retries,
                wait.seconds,
            )
        if wait.together:
            self.pacer.hold(wait.seconds)
        else:
            self._sleep(wait.seconds)

    def _send_paced(self, call: Call) -> _Attempt:
        """Send once, after taking a token from the pacer; tell it what the answer said."""
        ticket = self.pacer.acquire()
        attempt: _Attempt | None = None
        try:
            attempt = self._send_once(call)
        finally:
            headers = attempt.headers if isinstance(attempt, requests.Response) else None
            self.pacer.release(ticket, headers)
        return attempt

    def _send_once(self, call: Call) -> _Attempt:
        """Send one request; return the response, or a scrubbed stand-in for the error.

        The stand-in is built inside ``except`` but raised by the caller outside it, so the
        original exception (whose ``.request`` holds the headers and body) is not kept as
        ``__context__`` either.
        """
        response: requests.Response | None = None
        failure: _NoAnswer | _BadAnswer | None = None
        started = time.perf_counter()
        with exchange(self.timeout) as current:
            try:
                response = self.session.request(
                    call.method,
                    self.base_url + call.path,
                    params=call.params,
                    json=call.body,
                    headers=self._headers,
                    auth=self.credential,
                    timeout=self.timeout,
                    allow_redirects=False,
                    proxies=self._proxies,
                    stream=True,
                )
                read_body(response, deadline=current.deadline)
            except AnswerTooLarge as exc:
                status = response.status_code if response is not None else 0
                failure = _BadAnswer(status, str(exc))
            except _TRANSPORT_ERRORS as exc:
                # Our own connections know whether a byte left; otherwise only a failure to
                # connect proves that nothing did.
                not_sent = _never_sent(exc) or (current.seen and not current.sent)
                failure = _NoAnswer(
                    self._detach(exc, call.redact),
                    maybe_sent=not not_sent,
                    refused=_refused(exc),
                    unresolved=not_sent and _unresolved(exc),
                )
        elapsed_ms = (time.perf_counter() - started) * 1000
        if failure is not None:
            logger.debug("%s %s -> no usable answer (%.0f ms)", call.method, call.path, elapsed_ms)
            return failure
        assert response is not None
        logger.debug(
            "%s %s -> %d (%.0f ms)", call.method, call.path, response.status_code, elapsed_ms
        )
        return response

    def _detach(self, exc: BaseException, redact: tuple[str | None, ...]) -> BaseException:
        """A copy of a transport error with only its scrubbed message: no request, no cause.

        For a request that carried a value, not even that: the parser's message may quote
        what the server sent (a status line), so only a fixed description is kept.
        """
        if any(redact):
            message = describe_failure(exc, self.timeout)
        else:
            message = one_line(self._scrub(str(exc)[:4000], redact), 500)
        cls = type(exc) if isinstance(exc, requests.RequestException) else requests.ConnectionError
        try:
            return cls(message)
        except (TypeError, ValueError):  # an exotic subclass with another signature
            return requests.ConnectionError(message)

    def _scrub(self, text: str, redact: tuple[str | None, ...]) -> str:
        """Remove the credential and this call's value and ciphertext, in any form, from
        ``text`` (see :func:`rbxsecrets_magic.opencloud.scrubbing.scrub`)."""
        return scrub(text, (self.credential.secret, *redact))
