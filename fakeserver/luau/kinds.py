"""The engine's Luau userdata kinds besides instances (signals, connections, enums), and the
test's answer to a request.

Each is a Python object behind an opaque userdata; Luau reaches only the members listed
here, and anything else fails with a one-line "X is not a valid member of ..." error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pluau

__all__ = [
    "CONTENT_TYPES",
    "ENUMS",
    "ENUM_ROOT",
    "ENUM_TYPES",
    "Connection",
    "EnumItem",
    "EnumType",
    "Enums",
    "Response",
    "Scheduling",
    "Signal",
]

#: How a signal hands a handler and its arguments to the scheduler.
Scheduling = Callable[["pluau.Function", tuple[object, ...]], None]


class Signal:
    """An ``RBXScriptSignal``: handlers connected from Luau, fired from Python."""

    def __init__(self, name: str) -> None:
        """A signal called ``name`` (shown in errors), with no handlers."""
        self.name = name
        self.connections: list[Connection] = []
        self.waiting: list[pluau.Thread] = []

    def __repr__(self) -> str:
        """The signal's name and handler count."""
        return f"Signal({self.name}, {len(self.connections)} connected)"

    def connect(self, handler: pluau.Function, *, once: bool = False) -> Connection:
        """Add ``handler``; it runs in a new thread each time the signal fires."""
        connection = Connection(self, handler, once=once)
        self.connections.append(connection)
        return connection

    def fire(
        self, run: Callable[[pluau.Function, tuple[object, ...]], None], *args: object
    ) -> None:
        """Call every connected handler (through ``run``, which schedules it) with ``args``."""
        for connection in list(self.connections):
            if connection.once:
                connection.disconnect()
            run(connection.handler, args)


class Connection:
    """An ``RBXScriptConnection``: ``Disconnect()`` and ``Connected``."""

    def __init__(self, signal: Signal, handler: pluau.Function, *, once: bool) -> None:
        """Connect ``handler`` to ``signal``."""
        self.signal = signal
        self.handler = handler
        self.once = once

    def __repr__(self) -> str:
        """The signal it belongs to."""
        return f"Connection({self.signal.name})"

    @property
    def connected(self) -> bool:
        """Whether the handler still runs when the signal fires."""
        return self in self.signal.connections

    def disconnect(self) -> None:
        """Stop the handler from running again."""
        if self.connected:
            self.signal.connections.remove(self)


class EnumItem:
    """One ``Enum.Type.Name`` value."""

    def __init__(self, enum_type: str, name: str, value: int) -> None:
        """``Enum.<enum_type>.<name>``, whose ``Value`` is ``value``."""
        self.enum_type = enum_type
        self.name = name
        self.value = value

    def __repr__(self) -> str:
        """``Enum.Type.Name``, as ``tostring`` shows it in Luau."""
        return f"Enum.{self.enum_type}.{self.name}"


def _enum(enum_type: str, *names: str) -> dict[str, EnumItem]:
    return {name: EnumItem(enum_type, name, value) for value, name in enumerate(names)}


#: The enums game code uses with HttpService and restarts; others are not emulated.
ENUMS: dict[str, dict[str, EnumItem]] = {
    "HttpContentType": _enum(
        "HttpContentType",
        "ApplicationJson",
        "ApplicationXml",
        "ApplicationUrlEncoded",
        "TextPlain",
        "TextXml",
    ),
    "HttpCompression": _enum("HttpCompression", "None", "Gzip"),
    "CloseReason": _enum(
        "CloseReason",
        "Unknown",
        "RobloxMaintenance",
        "DeveloperShutdown",
        "DeveloperUpdate",
        "ServerEmpty",
        "OutOfMemory",
    ),
}


class EnumType:
    """``Enum.HttpContentType`` and the like: the items of one enum."""

    def __init__(self, name: str) -> None:
        """The enum ``Enum.<name>`` (one of :data:`ENUMS`)."""
        self.name = name

    def __repr__(self) -> str:
        """The enum's name, as ``tostring`` shows it."""
        return self.name


class Enums:
    """The ``Enum`` global: the enums the fake has, by name."""

    def __repr__(self) -> str:
        """``Enums``, as ``tostring(Enum)`` shows it in Roblox."""
        return "Enums"


#: The one ``Enum`` global, and each enum type it offers.
ENUM_ROOT = Enums()
ENUM_TYPES = {name: EnumType(name) for name in ENUMS}

#: The content type each ``Enum.HttpContentType`` sends.
CONTENT_TYPES = {
    "ApplicationJson": "application/json",
    "ApplicationXml": "application/xml",
    "ApplicationUrlEncoded": "application/x-www-form-urlencoded",
    "TextPlain": "text/plain",
    "TextXml": "text/xml",
}


@dataclass(frozen=True)
class Response:
    """What a test answers to a request: status, headers and body."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
