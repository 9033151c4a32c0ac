"""What a game server has besides its secrets: players, its replacement, restart notices.

:class:`ServerLife` is mixed into :class:`~fakeserver.backend.gameservers.GameServer`:

- ``players``: how many players it has (``start_server(..., players=N)`` or assigning it); a
  closed server has none, and its replacement (:meth:`ServerLife.take_over`, when a restart
  brings one up) has its own plus those of every closed server it took over, with no call to
  the fake needed for them to move;
- ``restart_scheduled``: the last :class:`RestartScheduled` notice a Server Management launch
  sent it (``DataModel.ServerRestartScheduled`` in Luau), and
  :meth:`ServerLife.on_restart_scheduled` to be called back with each one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

__all__ = ["RestartListener", "RestartScheduled", "ServerLife"]


@dataclass(frozen=True)
class RestartScheduled:
    """What ``DataModel.ServerRestartScheduled`` hands a game server when a restart is launched.

    Attributes
    ----------
    restart_time:
        When the server will shut down, as Unix time in seconds (the end of the bleed-off on
        the fake's clock, or the launch itself without one).
    source:
        Why: ``"DeveloperUpdate"`` (``Enum.CloseReason.DeveloperUpdate``) for a restart
        launched through Server Management.
    attributes:
        The JSON object the launch carried (``{}`` when it carried none).
    """

    restart_time: float
    source: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


RestartListener = Callable[[RestartScheduled], None]


class ServerLife:
    """Players, replacement and restart notices of a game server (mixed into GameServer)."""

    if TYPE_CHECKING:

        @property
        def running(self) -> bool:
            """Whether the server is still up (GameServer's)."""

    def _start_life(self, players: int) -> None:
        """Start with ``players`` players, no replacement and no notice."""
        self._own_players = players
        # Servers this one replaced: their players join it when they close.
        self._predecessors: list[ServerLife] = []
        self.restart_scheduled: RestartScheduled | None = None
        self.replaced_by: ServerLife | None = None
        self._listeners: list[RestartListener] = []

    @property
    def players(self) -> int:
        """Players on this server now: 0 once closed; while up, its own and those of the
        servers it replaced that have closed (they rejoined here)."""
        return self._held() if self.running else 0

    @players.setter
    def players(self, count: int) -> None:
        """Set how many players it has now (those it took over included)."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("players is a whole number, 0 or more")
        self._own_players = count
        self._predecessors = [server for server in self._predecessors if server.running]

    def _held(self) -> int:
        """Its own players and, from closed predecessors, theirs (however long the chain)."""
        total, pending = self._own_players, [p for p in self._predecessors]
        while pending:
            server = pending.pop()
            if not server.running:
                total += server._own_players
                pending.extend(server._predecessors)
        return total

    def take_over(self, old: ServerLife) -> None:
        """Become ``old``'s replacement: its players come here when it closes.

        Called by :class:`fakeserver.backend.fleet.Fleet` under the backend's lock.
        """
        old.replaced_by = self
        self._predecessors.append(old)

    def on_restart_scheduled(self, listener: RestartListener) -> Callable[[], None]:
        """Call ``listener(notice)`` for each restart scheduled from now on, like
        ``game.ServerRestartScheduled:Connect``; return a function that disconnects it.

        Listeners run in the thread that launched the restart, after the fake released its
        lock, so they may call the fake.
        """
        self._listeners.append(listener)

        def disconnect() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return disconnect

    def notify_restart_scheduled(self, notice: RestartScheduled) -> None:
        """Receive ``notice``: remember it in :attr:`restart_scheduled`, call the listeners.

        Called by the backend for every server a launch targeted.
        """
        self.restart_scheduled = notice
        for listener in list(self._listeners):
            listener(notice)
