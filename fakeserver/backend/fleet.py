"""The game servers of one universe over time: place versions, restarts and bleed-off.

A :class:`Fleet` is plain state driven by a clock it is given: it never sleeps, starts no
thread and takes no lock. :class:`fakeserver.backend.FakeOpenCloud` keeps one per universe
under its lock, passes the fake's one clock (the one its rate limits and key grace periods
read, which ``advance`` moves) and, whenever a server starts, the universe's current secrets.

It follows the contract's section 9 and Roblox's description of ``:restartServers``:

- each place has a version, 1 until :meth:`Fleet.publish_place` bumps it; a server runs the
  version that was current when it started;
- a restart targets the servers of the given places (all places when none are given); with
  ``close_all_versions`` false it targets only servers on an older version than their place's
  latest, so after a secrets-only change (no publish) it restarts nothing;
- each targeted server stops taking players at once and closes immediately, or after the
  bleed-off (1-60 minutes on the fake's clock); a new server of the same place, on its latest
  version and with the secrets as they are now, replaces it at once, as players who leave or
  are moved land on a fresh server;
- a server already draining is not replaced twice; a later restart can only bring its
  deadline forward;
- a server's players (``players=`` when a test starts it) move to its replacement when it
  closes, as they would rejoin the experience.

Server Management's launches (:mod:`fakeserver.backend.restarts`) select servers by place and
version and go through :meth:`Fleet.close_where`, the same step as ``:restartServers``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeAlias

from .gameservers import GameServer, SecretSnapshot

__all__ = ["MAX_GAME_SERVERS", "Fleet", "Replacement"]

#: The most game servers a universe runs at once (draining ones included), as the fake caps
#: secrets, connections and journal entries: each holds a copy of the universe's secrets.
MAX_GAME_SERVERS = 100
_SECONDS_PER_MINUTE = 60.0

#: Picks the servers a restart targets.
Selector: TypeAlias = Callable[[GameServer], bool]


@dataclass(frozen=True)
class Replacement:
    """One server a restart targeted, and the server that took its place."""

    old: GameServer
    new: GameServer


class Fleet:
    """The places and game servers of one universe; not thread-safe (the backend's lock is).

    Parameters
    ----------
    start_place_id:
        The place a server starts on when none is named (the universe's start place).
    clock:
        The fake's monotonic clock, in seconds.
    """

    def __init__(self, start_place_id: int, clock: Callable[[], float]) -> None:
        """Create a fleet with the start place at version 1 and no servers."""
        self.start_place_id = start_place_id
        self._clock = clock
        self._versions: dict[int, int] = {start_place_id: 1}
        self._servers: list[GameServer] = []

    def __repr__(self) -> str:
        """Counts only."""
        return f"Fleet(places={len(self._versions)}, servers={len(self.servers())})"

    # ----------------------------------------------------------------- places

    def place_version(self, place_id: int) -> int:
        """The latest published version of ``place_id`` (1 for a place never published)."""
        return self._versions.get(place_id, 1)

    def place_ids(self) -> list[int]:
        """The places this fleet knows (the start place, and any published or started on)."""
        return sorted(self._versions)

    def publish_place(self, place_id: int | None = None) -> int:
        """Publish a new version of ``place_id`` (default: the start place); return it.

        Running servers keep the version they started on: they are now on an older version.
        """
        place = self.start_place_id if place_id is None else _place(place_id)
        self._versions[place] = self.place_version(place) + 1
        return self._versions[place]

    # ----------------------------------------------------------------- servers

    def start_server(
        self, secrets: SecretSnapshot, place_id: int | None = None, players: int = 0
    ) -> GameServer:
        """Start a server of ``place_id`` (default: the start place) on its latest version,
        with ``players`` players.

        ``secrets`` is the universe's ``{name: (value, domain)}`` now; the server keeps a
        copy, so later changes to the store do not reach it.

        Raises
        ------
        ValueError
            If the place id is not a positive integer, ``players`` is not a whole number
            >= 0, or the universe already runs :data:`MAX_GAME_SERVERS` servers (restarts
            replace servers one for one and are not capped).
        """
        place = self.start_place_id if place_id is None else _place(place_id)
        if isinstance(players, bool) or not isinstance(players, int) or players < 0:
            raise ValueError("players is a whole number, 0 or more")
        if len(self.servers()) >= MAX_GAME_SERVERS:
            raise ValueError(
                f"universe already runs the maximum of {MAX_GAME_SERVERS} game servers; "
                "fake.reset() (or a fresh fake) starts over"
            )
        return self._launch(secrets, place, players)

    def _launch(self, secrets: SecretSnapshot, place: int, players: int) -> GameServer:
        """Start a server of ``place`` on its latest version (no cap: restarts use it too)."""
        version = self._versions.setdefault(place, 1)
        server = GameServer(
            server_id=str(uuid.uuid4()),
            place_id=place,
            place_version=version,
            secrets=secrets,
            clock=self._clock,
            players=players,
        )
        self._servers.append(server)
        return server

    def servers(self, place_id: int | None = None) -> list[GameServer]:
        """The servers still running (draining ones included), oldest first.

        Servers whose deadline has passed on the clock are dropped for good (their players
        are on the servers that replaced them).
        """
        self._servers = [server for server in self._servers if server.running]
        if place_id is None:
            return list(self._servers)
        return [server for server in self._servers if server.place_id == place_id]

    def server(self, server_id: str) -> GameServer | None:
        """The running server with job id ``server_id``, or ``None``."""
        return next((s for s in self.servers() if s.id == server_id), None)

    def restart(
        self,
        secrets: SecretSnapshot,
        *,
        place_ids: Iterable[int] | None = None,
        close_all_versions: bool = False,
        bleed_off_minutes: int | None = None,
    ) -> list[Replacement]:
        """Restart servers as ``:restartServers`` does; return what was replaced.

        Parameters
        ----------
        secrets:
            The universe's secrets now, for the replacement servers.
        place_ids:
            Restart only servers of these places; ``None`` or empty = every place.
        close_all_versions:
            Restart servers on every version; when false, only those on an older version of
            their place than its latest (none, if nothing was published since they started).
        bleed_off_minutes:
            Let targeted servers run, taking no new players, for this many minutes (1-60)
            before closing; ``None`` closes them now.

        Raises
        ------
        ValueError
            If ``bleed_off_minutes`` is outside 1-60 (the request rules catch this first).
        """
        if bleed_off_minutes is not None and not 1 <= bleed_off_minutes <= 60:
            raise ValueError("bleed_off_minutes must be from 1 to 60, or None")
        places = {_place(p) for p in place_ids} if place_ids else None
        deadline = self._clock()
        if bleed_off_minutes is not None:
            deadline += bleed_off_minutes * _SECONDS_PER_MINUTE

        def targeted(server: GameServer) -> bool:
            if places is not None and server.place_id not in places:
                return False
            return close_all_versions or server.place_version < self.place_version(server.place_id)

        draining = {id(server) for server in self.servers() if not server.accepting_players}
        replaced: list[Replacement] = []
        for server in self.close_where(secrets, targeted, deadline):
            new = server.replaced_by
            if isinstance(new, GameServer) and id(server) not in draining:
                replaced.append(Replacement(server, new))
        return replaced

    def close_where(
        self, secrets: SecretSnapshot, select: Selector, deadline: float
    ) -> list[GameServer]:
        """Close every running server ``select`` picks at ``deadline``; return them.

        Each stops taking players now; each not draining already is replaced at once by a
        server of its place on the latest version with ``secrets`` (its ``replaced_by``). A
        server already draining keeps its replacement, and its deadline only moves forward.
        """
        chosen: list[GameServer] = []
        for server in self.servers():
            if not select(server):
                continue
            already_draining = not server.accepting_players
            server.shut_down_at(deadline)
            if not already_draining:
                self._launch(secrets, server.place_id, 0).take_over(server)
            chosen.append(server)
        # Servers closed "now" are gone from the list at once (their players moved on).
        self.servers()
        return chosen


def _place(place_id: int) -> int:
    """Check a place id given by the backend (a positive integer)."""
    if isinstance(place_id, bool) or not isinstance(place_id, int) or place_id <= 0:
        raise ValueError("a place id is a positive integer")
    return place_id
