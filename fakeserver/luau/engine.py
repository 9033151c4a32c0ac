"""The engine surface game code sees, bound to one VM: globals, instances, secrets, signals.

A :class:`Runtime` owns one fresh VM (see :mod:`fakeserver.luau.vm`) and the Python objects
behind every userdata Luau holds. Luau gets opaque handles only: a ``Secret`` handle's
metatable offers ``AddPrefix``, ``AddSuffix`` and ``tostring``, each calling the Python
:class:`fakeserver.backend.gameservers.Secret`, and nothing in the VM ever holds a value. Members
the fake does not emulate fail with one line naming them, as Roblox words a missing member
(``X is not a valid member of HttpService "HttpService"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..backend.gameservers import Secret
from ..errors import LuauValueError
from .kinds import ENUM_ROOT, Connection, EnumItem, Enums, EnumType, Signal
from .rojo import Instance
from .tasks import Scheduler
from .values import lua_text, type_name
from .vm import SAFE_GLOBALS, Limits, bytecode, new_vm, pluau_module

if TYPE_CHECKING:
    import pluau

    from ..backend.gameservers import GameServer, OutgoingRequest
    from .kinds import Response

__all__ = ["SERVICES", "Runtime", "chunk_name"]

#: What ``game:GetService`` gives; ``Players`` is always empty.
SERVICES = (
    "HttpService",
    "Players",
    "ReplicatedStorage",
    "RunService",
    "ServerScriptService",
    "ServerStorage",
)

# Roblox services and globals scripts commonly touch that the fake does not emulate: using one
# fails at once, naming it, instead of reading as nil and failing somewhere later.
_OTHER_SERVICES = (
    "DataStoreService",
    "MemoryStoreService",
    "MessagingService",
    "MarketplaceService",
    "TeleportService",
    "Workspace",
    "Lighting",
    "TweenService",
    "UserInputService",
    "CollectionService",
    "TextService",
    "BadgeService",
    "ReplicatedFirst",
    "StarterGui",
    "StarterPlayer",
    "SoundService",
    "Chat",
    "TextChatService",
)
_OTHER_GLOBALS = (
    "workspace",
    "Workspace",
    "Instance",
    "Vector2",
    "Vector3",
    "CFrame",
    "Color3",
    "UDim",
    "UDim2",
    "BrickColor",
    "Ray",
    "Region3",
    "TweenInfo",
    "DateTime",
    "Random",
    "NumberRange",
    "wait",
    "spawn",
    "delay",
    "tick",
    "time",
    "elapsedTime",
    "shared",
    "plugin",
    "settings",
    "UserSettings",
    "stats",
    "loadstring",
    "getfenv",
    "setfenv",
    "dofile",
    "loadfile",
    "load",
)

# The globals game code sees, built inside Luau in one call (each FFI call costs more than
# the Luau it replaces). Written in Luau so that print/warn format with Luau's own tostring,
# and require runs a module as Luau code: its errors keep their file and line, it may yield.
_PRELUDE = """
local G, sink, lookup, store, missing, index, newindex, show = ...
local wait, spawn, defer, delay, cancel = select(9, ...)
local tostring, concat, pack = G.tostring, G.table.concat, G.table.pack

local base = {}
COPY_SAFE_GLOBALS

local function format(...)
    local parts = {}
    for i = 1, select("#", ...) do
        parts[i] = tostring((select(i, ...)))
    end
    return concat(parts, " ")
end

function base.print(...) sink("print", format(...)) end
function base.warn(...) sink("warn", format(...)) end

function base.require(module)
    local state, value = lookup(module)
    if state == "done" then
        return value
    end
    local results = pack(value())
    if results.n ~= 1 then
        store(module, false)
        G.error("Module code did not return exactly one value", 2)
    end
    return store(module, true, results[1])
end

-- Every engine object is an opaque userdata: one metatable per kind, all calling Python.
-- What never changes (a method, a child instance, a signal) is remembered per object after
-- the first look-up, so a loop does not cross into Python for it again.
local LOCKED = "The metatable is locked"
local known = G.setmetatable({}, { __mode = "k" })
local function lookup_member(self, key)
    local members = known[self]
    local value = members and members[key]
    if value ~= nil then
        return value
    end
    local found, keep = index(self, key)
    if keep then
        if members == nil then
            members = {}
            known[self] = members
        end
        members[key] = found
    end
    return found
end
local metatables = {}
for kind in G.string.gmatch(KINDS, "%S+") do
    metatables[kind] = G.table.freeze({
        __type = kind, __index = lookup_member, __newindex = newindex, __tostring = show,
        __metatable = LOCKED,
    })
end
-- A Secret answers only AddPrefix/AddSuffix (through index) and tostring; everything else
-- fails right here, in Luau, without the value ever leaving Python.
local function refuse(what)
    return function() G.error("a Secret cannot be " .. what, 0) end
end
metatables.Secret = G.table.freeze({
    __type = "Secret", __index = lookup_member, __tostring = show, __metatable = LOCKED,
    __newindex = refuse("changed"), __eq = refuse("compared"), __len = refuse("measured"),
    __concat = refuse("concatenated (use AddPrefix/AddSuffix)"),
})

base.task = G.table.freeze({
    wait = wait, spawn = spawn, defer = defer, delay = delay, cancel = cancel,
})
G.table.freeze(G.setmetatable(base, { __index = missing }))

-- A script's own globals: its `script`, and reads that fall through to the shared ones.
local scriptmeta = G.table.freeze({ __index = base, __metatable = LOCKED })
local function newenv(script)
    return G.setmetatable({ script = script }, scriptmeta)
end

return base, newenv, METATABLES_IN_ORDER
"""
_KINDS = ("Instance", "RBXScriptSignal", "RBXScriptConnection", "EnumItem", "Enum", "Enums")
_PRELUDE = (
    _PRELUDE.replace("KINDS", repr(" ".join(_KINDS)), 1)
    .replace("COPY_SAFE_GLOBALS", "\n".join(f"base.{n} = G.{n}" for n in SAFE_GLOBALS), 1)
    .replace("METATABLES_IN_ORDER", ", ".join(f"metatables.{k}" for k in (*_KINDS, "Secret")), 1)
)


Handler = Callable[[tuple[object, ...]], list[object]]


class Runtime:
    """One VM with the engine bound to ``server`` and the instance tree ``game``.

    Parameters
    ----------
    server:
        The game server whose secrets, rules and limits every request goes through.
    game:
        The DataModel (from a Rojo project, or :func:`fakeserver.luau.rojo.plain_tree`).
    scheduler:
        The ``task`` library's clock and queue.
    member:
        Answers ``obj.key`` for a handle (``fakeserver.luau.members.member``; passed in, since
        the members build on this module).
    output:
        Called with ``("print" | "warn", line)`` for every line game code writes.
    """

    def __init__(
        self,
        server: GameServer,
        game: Instance,
        *,
        scheduler: Scheduler,
        member: Callable[[Runtime, object, str], object],
        output: Callable[[str, str], None],
        limits: Limits,
        studio: bool = False,
        client: bool = False,
        game_id: int = 0,
    ) -> None:
        """Create the VM and bind the globals (``game``, ``script`` per chunk, ``task``, ...)."""
        self.pluau = pluau_module()
        self.lua, self.time_limit = new_vm(limits)
        self.limits = limits
        self.server = server
        self.game = game
        self.scheduler = scheduler
        self.studio = studio
        self.client = client
        self.game_id = game_id
        self.close_handlers: list[pluau.Function] = []
        self.signals: dict[str, Signal] = {
            name: Signal(name)
            for name in ("ServerRestartScheduled", "PlayerAdded", "PlayerRemoving")
        }
        self._output = output
        #: A Python exception raised inside a callback: a bug of the fake, for the game to raise.
        self.bug: Exception | None = None
        #: Set by the game: answers one checked request (see ``fakeserver.luau.http``).
        self.send: Callable[[OutgoingRequest], Response | None]
        self._handles: dict[int, tuple[object, pluau.UserData]] = {}
        self._methods: dict[tuple[str, str], pluau.Function] = {}
        self._modules: dict[int, object] = {}
        self._loading: set[int] = set()
        self._metatables: dict[str, pluau.Table] = {}  # by kind; the prelude makes them
        for service in ("HttpService", "RunService", "Players"):
            self.service(service)
        self._member = member
        self.base = self._globals()
        self.time_limit.install(self.lua)

    def release(self) -> None:
        """Drop every handle into the VM, so that it closes (the game is done with it)."""
        self.lua.remove_interrupt()
        self.__dict__.clear()

    # ----------------------------------------------------------------- handles

    def wrap(self, obj: object) -> pluau.UserData:
        """The one userdata standing for ``obj`` (an instance, signal, connection or enum)."""
        held = self._handles.get(id(obj))
        if held is None:
            held = (obj, self.lua.create_userdata(obj, self._metatables[_kind(obj)]))
            self._handles[id(obj)] = held
        return held[1]

    def wrap_secret(self, secret: object) -> pluau.UserData:
        """A new opaque handle for a Python ``Secret`` (the value stays in Python)."""
        return self.lua.create_userdata(secret, self._metatables["Secret"])

    def lua_list(self, items: list[object]) -> pluau.Table:
        """A Luau array of ``items``."""
        table = self.lua.create_table_with_capacity(len(items), 0)
        for item in items:
            table.raw_push(item)
        return table

    def error(self, message: str) -> BaseException:
        """An error Luau sees with exactly ``message`` (``pcall`` returns it as is)."""
        error: BaseException = self.pluau.RawError(message)
        return error

    def unwrap(self, value: object, expected: type) -> object | None:
        """The Python object behind a userdata if it is an ``expected``, else ``None``."""
        if isinstance(value, self.pluau.UserData):
            data = value.data()
            if isinstance(data, expected):
                return data
        return None

    def text(self, value: object, what: str) -> str:
        """A Luau string argument as ``str``; anything else fails naming ``what``."""
        try:
            return lua_text(value)
        except LuauValueError as exc:
            raise self.error(f"{what}: {exc}") from None

    def function(self, handler: Handler) -> pluau.Function:
        """A Luau function calling ``handler(args)``; see :meth:`callback` for its errors."""
        return self.callback(lambda _lua, args: handler(args))

    def callback(self, handler: Callable[[pluau.Lua, tuple[object, ...]], list[object]]) -> object:
        """A Luau function calling ``handler(lua, args)``; a Python exception in it (a bug in
        the fake, not in game code) is kept in :attr:`bug` for the run to raise with its
        traceback, and Luau sees a one-line error."""

        def call(lua: pluau.Lua, args: tuple[object, ...]) -> list[object]:
            try:
                return handler(lua, args)
            except Exception as exc:  # noqa: BLE001  kept whole, raised again by the game
                self.bug = self.bug or exc
                raise self.error("internal error in the fake (its traceback follows)") from None

        return self.lua.create_function(call)

    def _metamethod(self, handler: Handler) -> object:
        """Like :meth:`function`, one frame shorter: metamethods run at every member access."""

        def call(lua: pluau.Lua, args: tuple[object, ...]) -> list[object]:
            try:
                return handler(args)
            except Exception as exc:  # noqa: BLE001  kept whole, raised again by the game
                self.bug = self.bug or exc
                raise self.error("internal error in the fake (its traceback follows)") from None

        return self.lua.create_function(call)

    def method(self, cls: type, name: str, handler: Callable[..., list[object]]) -> object:
        """The Luau function for method ``name`` of ``cls`` objects, called with ``:``."""
        key = (cls.__name__, name)
        if key not in self._methods:

            def call(args: tuple[object, ...]) -> list[object]:
                target = self.unwrap(args[0], cls) if args else None
                if target is None:
                    raise self.error(f"Expected ':' not '.' calling member function {name}")
                return handler(target, args[1:])

            self._methods[key] = self._metamethod(call)
        return self._methods[key]

    # ----------------------------------------------------------------- metatables

    def _index(self, args: tuple[object, ...]) -> list[object]:
        # The first argument of a metamethod is always one of our handles.
        key = lua_text(args[1], strict=False) if len(args) > 1 else "nil"
        found = self._member(self, args[0].data(), key)  # type: ignore[attr-defined]
        # Functions and handles (methods, children, signals) never change: Luau keeps them.
        return [found, isinstance(found, (self.pluau.Function, self.pluau.UserData))]

    def _tostring(self, args: tuple[object, ...]) -> list[object]:
        return [_shown(args[0].data())]  # type: ignore[attr-defined]

    def _newindex(self, args: tuple[object, ...]) -> list[object]:
        obj = _data(args[0])
        key = lua_text(args[1], strict=False) if len(args) > 1 else "nil"
        raise self.error(f"{key} of {_shown(obj)} cannot be assigned to in the fake")

    # ----------------------------------------------------------------- instances

    def service(self, name: str) -> Instance:
        """The DataModel's service ``name``, created on first use like ``GetService``."""
        for child in self.game.children.values():
            if child.class_name == name:
                return child
        if name in SERVICES:
            return Instance(name, name, self.game)
        if name in _OTHER_SERVICES:
            raise self.error(
                f"{name} is not emulated by the fake (GetService offers: {', '.join(SERVICES)})"
            )
        raise self.error(f"'{name}' is not a valid Service name")

    # ----------------------------------------------------------------- globals and chunks

    def _globals(self) -> pluau.Table:
        prelude = bytecode(_PRELUDE)
        assert prelude is not None
        build = self.lua.load_chunk(prelude, name="=prelude", is_binary_chunk=True)
        scheduler = self.scheduler
        base, self._newenv, *metatables = build(
            self.lua.globals(),
            self.function(self._sink),
            self.function(self._lookup),
            self.function(self._store),
            self.function(self._missing_global),
            self._metamethod(self._index),
            self._metamethod(self._newindex),
            self._metamethod(self._tostring),
            *(self.callback(f) for f in (scheduler.wait, scheduler.spawn, scheduler.defer)),
            *(self.callback(f) for f in (scheduler.delay, scheduler.cancel)),
        )
        self._metatables.update(zip((*_KINDS, "Secret"), metatables, strict=True))
        # Set after the freeze, raw: game and Enum are handles made with those metatables.
        base.readonly = False
        base.raw_set("game", self.wrap(self.game))
        base.raw_set("Enum", self.wrap(ENUM_ROOT))
        base.readonly = True
        return base

    def _missing_global(self, args: tuple[object, ...]) -> list[object]:
        key = lua_text(args[1], strict=False) if len(args) > 1 else ""
        if key in _OTHER_GLOBALS:
            raise self.error(f"{key} is not emulated by the fake's Luau sandbox")
        return [None]

    def env(self, script: Instance) -> pluau.Table:
        """A script's own global table: ``script`` is set, reads fall through to the globals."""
        (env,) = self._newenv(self.wrap(script))
        return env

    def load(self, source: str, chunk_name: str, script: Instance) -> pluau.Function:
        """Compile ``source`` as ``script``; a syntax error raises ``RuntimeError`` from pluau."""
        compiled = bytecode(source)
        if compiled is None:  # pluau's own compile error names the chunk
            return self.lua.load_chunk(source, name=f"={chunk_name}", env=self.env(script))
        return self.lua.load_chunk(
            compiled, name=f"={chunk_name}", env=self.env(script), is_binary_chunk=True
        )

    def _sink(self, args: tuple[object, ...]) -> list[object]:
        kind = lua_text(args[0])
        self._output(kind, lua_text(args[1], strict=False))
        return []

    def _lookup(self, args: tuple[object, ...]) -> list[object]:
        module = self.unwrap(args[0] if args else None, Instance)
        if not isinstance(module, Instance) or module.class_name != "ModuleScript":
            what = module.class_name if isinstance(module, Instance) else type_name(args[0])
            raise self.error(f"require expects a ModuleScript, got {what}")
        if id(module) in self._modules:
            return ["done", self._modules[id(module)]]
        if id(module) in self._loading:
            raise self.error(f"Requested module was required recursively: {module.full_name()}")
        self._loading.add(id(module))
        return ["load", self.load(module.source(), chunk_name(module), module)]

    def _store(self, args: tuple[object, ...]) -> list[object]:
        module = self.unwrap(args[0], Instance)
        assert isinstance(module, Instance)
        self._loading.discard(id(module))
        if args[1]:
            self._modules[id(module)] = args[2]
            return [args[2]]
        return []


def _data(value: object) -> object:
    return value.data() if hasattr(value, "data") else value


def _kind(obj: object) -> str:
    if isinstance(obj, Instance):
        return "Instance"
    if isinstance(obj, Signal):
        return "RBXScriptSignal"
    if isinstance(obj, Connection):
        return "RBXScriptConnection"
    if isinstance(obj, EnumItem):
        return "EnumItem"
    if isinstance(obj, EnumType):
        return "Enum"
    if isinstance(obj, Enums):
        return "Enums"
    raise TypeError(f"no Luau handle for {type(obj).__name__}")


def _shown(obj: object) -> str:
    """What ``tostring`` shows: a secret's pieces, an instance's name, a signal's kind, ..."""
    if isinstance(obj, Secret):
        return obj.shown
    if isinstance(obj, Instance):
        return obj.name
    if isinstance(obj, Signal):
        return f"Signal {obj.name}"
    if isinstance(obj, Connection):
        return "Connection"
    return repr(obj)


def chunk_name(script: Instance) -> str:
    """How errors name a script: its file relative to the project, else its instance path."""
    return script.shown_path if script.shown_path is not None else script.full_name()
