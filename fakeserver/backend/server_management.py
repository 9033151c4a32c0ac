"""Server Management v1's three operations, mixed into the backend (the contract's section 10).

:class:`ServerManagementOperations` gives :class:`~fakeserver.backend.state.SecretsBackend`
:meth:`~ServerManagementOperations.forecast_restart`,
:meth:`~ServerManagementOperations.launch_restart` and
:meth:`~ServerManagementOperations.list_restarts`. Each goes through the backend's stages like
every other operation (credential 401, rate limit 429 in Server Management's own bucket,
universe id 400, permission 403: ``universe:read`` for forecast and status, ``universe:write``
for a launch; body 400) and then asks the universe's
:class:`~fakeserver.backend.restarts.RestartBook`, under the backend's lock; the request rules
are :mod:`fakeserver.backend.launch_rules`. The game servers a launch targets receive their
``ServerRestartScheduled`` notice once the lock is released, so a listener may call the fake.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .launch_rules import parse_launch_body
from .models import AuthHeaders, BodyReader, Result

if TYPE_CHECKING:
    import threading

    from .access import Call
    from .models import UniverseState

__all__ = ["ServerManagementOperations"]


class ServerManagementOperations:
    """Forecast, launch and list restarts; mixed into the backend, whose stages and lock it
    uses."""

    if TYPE_CHECKING:
        _lock: threading.Lock
        _sequence: Iterator[int]

        def _authorize(self, operation: str, auth: AuthHeaders, universe_text: str) -> Call: ...

        def _live(self, call: Call) -> UniverseState: ...

        def clock(self) -> float: ...

    def forecast_restart(self, *, auth: AuthHeaders, universe_id: str) -> Result:
        """Server Management's forecast: players and servers a restart would hit, per place."""
        call = self._authorize("forecast_restart", auth, universe_id)
        with call, self._lock:
            state = self._live(call)
            call.sequence = next(self._sequence)
            body = state.restarts.forecast(state.fleet)
        return Result(body, call.receipt())

    def launch_restart(self, *, auth: AuthHeaders, universe_id: str, body: BodyReader) -> Result:
        """Server Management's launch: ``{"id", "playersImpacted", "instancesImpacted"}``.

        The targeted servers drain (or close at once) and are replaced by servers with the
        secrets as they are now; each receives ``ServerRestartScheduled`` once the lock is
        released, so a listener may call the fake.
        """
        call = self._authorize("launch_restart", auth, universe_id)
        with call:
            order = parse_launch_body(body())
            with self._lock:
                state = self._live(call)
                call.sequence = next(self._sequence)
                answer, notices = state.restarts.launch(
                    state.fleet, state.server_secrets(), order, self.clock()
                )
        for server, notice in notices:
            server.notify_restart_scheduled(notice)
        return Result(answer, call.receipt())

    def list_restarts(self, *, auth: AuthHeaders, universe_id: str) -> Result:
        """Server Management's status: every kept restart, each place's state one tick on."""
        call = self._authorize("list_restarts", auth, universe_id)
        with call, self._lock:
            state = self._live(call)
            call.sequence = next(self._sequence)
            body = state.restarts.statuses(self.clock())
        return Result(body, call.receipt())
