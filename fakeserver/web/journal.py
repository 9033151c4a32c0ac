"""The journal: every request the fake answered, and the WSGI middleware that records them.

:class:`JournalLayer` wraps the app (and the fault layer) and, once the answer is ready,
records a :class:`~fakeserver.backend.models.JournalEntry` built from the request, the status
and the backend's receipt: never a value, a ciphertext or a credential. Entries are ordered by the
sequence in which their outcomes took effect in the backend.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..backend.models import JournalEntry, Receipt
from ..errors import DropConnection
from .messages import RECEIPT_KEY, Request

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from _typeshed import OptExcInfo

    from ..transports.wsgi import WSGIApp
    from .routes import Router

__all__ = ["Journal", "JournalLayer", "Listener"]

#: Called with every entry as it is recorded, from the thread that answered the request.
Listener = Callable[[JournalEntry], None]

_NO_RECEIPT = Receipt()


class Journal:
    """The recorded requests, at most ``limit`` of them (oldest dropped first; ``None``: all)."""

    def __init__(self, limit: int | None = 100_000) -> None:
        """An empty journal with no listeners."""
        self._lock = threading.Lock()
        self._entries: deque[JournalEntry] = deque(maxlen=limit)
        self._listeners: list[Listener] = []

    def __repr__(self) -> str:
        """Show the number of entries."""
        return f"Journal(entries={len(self._entries)})"

    def record(self, entry: JournalEntry) -> None:
        """Append ``entry`` and tell the listeners."""
        with self._lock:
            self._entries.append(entry)
            listeners = self._listeners
        for listener in listeners:
            listener(entry)

    def entries(self) -> list[JournalEntry]:
        """Every entry, in the order their outcomes took effect."""
        with self._lock:
            entries = list(self._entries)
        entries.sort(key=_by_sequence)
        return entries

    def clear(self) -> None:
        """Forget every entry (listeners stay)."""
        with self._lock:
            self._entries.clear()

    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(entry)`` for every entry as it is recorded (any thread)."""
        with self._lock:
            self._listeners = [*self._listeners, callback]

    def remove_listener(self, callback: Listener) -> None:
        """Stop calling ``callback``; no error if it was not registered."""
        with self._lock:
            self._listeners = [c for c in self._listeners if c != callback]


class JournalLayer:
    """WSGI middleware recording every request ``app`` answers (or drops) in ``journal``.

    ``next_sequence`` numbers the entries of requests that never reached the state (unknown
    paths, faults, refused credentials), in the same count as the backend's outcomes.
    """

    def __init__(
        self, app: WSGIApp, journal: Journal, next_sequence: Callable[[], int], router: Router
    ) -> None:
        """Record what ``app`` answers to requests routed by ``router``."""
        self.app = app
        self.journal = journal
        self.next_sequence = next_sequence
        self.router = router

    def __repr__(self) -> str:
        """Show the app it wraps."""
        return f"JournalLayer({self.app!r})"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer with ``app`` and record the outcome; a dropped connection is recorded too."""
        request = Request.of(environ, self.router)
        status: list[int] = []

        def record_status(
            line: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            status.append(int(line[:3]))
            if exc_info is None:
                return start_response(line, headers)
            return start_response(line, headers, exc_info)

        try:
            result = self.app(environ, record_status)
        except DropConnection:
            self._record(request, _NO_RECEIPT, None, 0)
            raise
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        receipt: Receipt = environ.get(RECEIPT_KEY, _NO_RECEIPT)
        self._record(request, receipt, status[-1] if status else None, len(body))
        return [body]

    def _record(
        self, request: Request, receipt: Receipt, status: int | None, response_bytes: int
    ) -> None:
        """Append the journal entry for a finished request."""
        sequence = receipt.sequence if receipt.sequence is not None else self.next_sequence()
        self.journal.record(
            JournalEntry(
                request.method,
                request.path,
                request.operation,
                status,
                receipt.credential_id,
                receipt.key_id,
                len(request.body),
                response_bytes,
                time.time(),
                sequence,
            )
        )


def _by_sequence(entry: JournalEntry) -> int:
    return entry.sequence
