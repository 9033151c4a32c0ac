"""Scripted faults: a queue per operation, and the WSGI middleware that fires them.

A test scripts a fault with ``FakeOpenCloud.inject_fault``; :class:`FaultLayer` fires it as
soon as the request is routed, before the app authenticates anything: it sleeps the latency
(holding no lock), then drops the connection, answers the scripted status, or lets the request
through to the app.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..backend.models import OPERATIONS
from ..errors import DropConnection, InjectedFault
from .messages import Request, problem_answer

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from ..transports.wsgi import WSGIApp
    from .routes import Router

__all__ = ["Fault", "FaultLayer", "FaultScript"]


class Fault:
    """A scripted fault, fired for the next ``remaining`` calls of its operation."""

    __slots__ = ("drop_connection", "latency", "remaining", "retry_after", "status")

    def __init__(
        self, status: int | None, latency: float, drop: bool, times: int, retry_after: int | None
    ) -> None:
        """Store what the fault does and how many more calls it applies to."""
        self.status = status
        self.latency = latency
        self.drop_connection = drop
        self.remaining = times
        self.retry_after = retry_after

    def __repr__(self) -> str:
        """Show the whole fault."""
        return (
            f"Fault(status={self.status}, latency={self.latency}, "
            f"drop_connection={self.drop_connection}, remaining={self.remaining})"
        )


class FaultScript:
    """The faults a test has scripted, per operation (``"*"``: any API operation)."""

    def __init__(self) -> None:
        """No faults."""
        self._lock = threading.Lock()
        self._faults: dict[str, deque[Fault]] = {}

    def __repr__(self) -> str:
        """Show the queued faults."""
        with self._lock:
            pending = {operation: list(queue) for operation, queue in self._faults.items() if queue}
        return f"FaultScript({pending!r})"

    def inject(
        self,
        operation: str,
        *,
        status: int | None = None,
        latency: float = 0.0,
        drop_connection: bool = False,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Queue a fault for the next ``times`` calls of ``operation``.

        Raises
        ------
        ValueError
            For an unknown operation, a status outside 400-599, or a fault that does nothing.
        """
        if operation != "*" and operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; expected one of {OPERATIONS}")
        if status is not None and not 400 <= int(status) <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if latency < 0 or times < 1:
            raise ValueError("latency must be >= 0 and times >= 1")
        if retry_after is not None and retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        if status is None and not drop_connection and latency == 0:
            raise ValueError("a fault needs a status, a latency or drop_connection")
        fault = Fault(
            None if status is None else int(status),
            float(latency),
            drop_connection,
            int(times),
            retry_after,
        )
        with self._lock:
            self._faults.setdefault(operation, deque()).append(fault)

    def clear(self) -> None:
        """Drop every scripted fault."""
        with self._lock:
            self._faults.clear()

    def take(self, operation: str) -> Fault | None:
        """Consume one firing of the next scripted fault for ``operation``, if any."""
        if not self._faults:
            return None
        with self._lock:
            queue = self._faults.get(operation)
            if not queue and operation in OPERATIONS:
                queue = self._faults.get("*")
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.popleft()
            return fault


class FaultLayer:
    """WSGI middleware firing the scripted faults in front of ``app``.

    Raises :class:`~fakeserver.errors.DropConnection` when a fault asks for a dropped
    connection; the server or the in-process transport turns it into what a dropped socket
    looks like to the client.
    """

    def __init__(
        self,
        app: WSGIApp,
        script: FaultScript,
        router: Router,
        *,
        problem_status_as_number: bool = False,
    ) -> None:
        """Fire ``script``'s faults for requests routed by ``router``, else call ``app``."""
        self.app = app
        self.script = script
        self.router = router
        self.problem_status_as_number = problem_status_as_number

    def __repr__(self) -> str:
        """Show the app it wraps."""
        return f"FaultLayer({self.app!r})"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Fire the next fault for the request's operation, or pass the request on."""
        request = Request.of(environ, self.router)
        operation = request.operation
        fault = self.script.take(operation) if operation is not None else None
        if fault is None:
            return self.app(environ, start_response)
        if fault.latency:
            time.sleep(fault.latency)
        if fault.drop_connection:
            raise DropConnection(operation)
        if fault.status is None:
            return self.app(environ, start_response)
        answer = problem_answer(
            InjectedFault(fault.status, retry_after=fault.retry_after),
            request.path,
            status_as_number=self.problem_status_as_number,
        )
        start_response(answer.status, answer.headers)
        return [answer.body]
