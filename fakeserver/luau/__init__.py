"""Game code in a real Luau VM, bound to the fake's game servers (contract sections 9 and 11).

:class:`LuauGame` runs a game's own server scripts, ModuleScripts resolved from its Rojo
project, against one :class:`fakeserver.backend.gameservers.GameServer`: ``HttpService:GetSecret``
returns an opaque handle to the server's Python ``Secret``, every request passes the server's
rules and goes to the test's responder, never to a network. Needs the ``luau`` extra (pluau).
"""

from __future__ import annotations

from ..errors import LuauError, LuauValueError, RojoProjectError
from .game import LuauGame, Responder
from .kinds import Response
from .vm import Limits

__all__ = [
    "Limits",
    "LuauError",
    "LuauGame",
    "LuauValueError",
    "Responder",
    "Response",
    "RojoProjectError",
]
