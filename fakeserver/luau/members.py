"""The members of each engine object game code can reach, and Roblox's error for the rest.

:func:`member` answers ``obj.key`` for an instance (properties, then methods, then children,
as Roblox looks them up), a signal, a connection or an enum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..backend.gameservers import GameServerError, Secret
from ..errors import LuauValueError
from .engine import Runtime
from .http import METHODS as HTTP_METHODS
from .kinds import ENUM_TYPES, ENUMS, Connection, EnumItem, Enums, EnumType, Signal
from .rojo import Instance
from .values import lua_text, type_name

__all__ = ["member"]

Method = Callable[[Runtime, Instance, tuple[object, ...]], list[object]]

_IS_A = {
    "Script": ("BaseScript", "LuaSourceContainer"),
    "LocalScript": ("Script", "BaseScript", "LuaSourceContainer"),
    "ModuleScript": ("LuaSourceContainer",),
    "DataModel": ("ServiceProvider",),
}


def member(rt: Runtime, obj: object, key: str) -> object:
    """``obj.key`` as Luau sees it; raises Roblox's "not a valid member" error otherwise."""
    lookup = _BY_TYPE.get(type(obj))
    if lookup is None:
        raise rt.error(f"{key} is not a valid member")
    return lookup(rt, obj, key)


def _secret_member(rt: Runtime, secret: Secret, key: str) -> object:
    if key in ("AddPrefix", "AddSuffix"):
        return rt.method(Secret, key, lambda s, a: _extend(rt, s, a, key == "AddPrefix"))
    raise rt.error(f"{key} is not a valid member of Secret")


def _signal_member(rt: Runtime, signal: Signal, key: str) -> object:
    if key in ("Connect", "Once"):
        return rt.method(Signal, key, lambda s, a: _connect(rt, s, a, once=key == "Once"))
    raise rt.error(f"{key} is not a valid member of RBXScriptSignal")


def _connection_member(rt: Runtime, connection: Connection, key: str) -> object:
    if key == "Connected":
        return connection.connected
    if key == "Disconnect":
        return rt.method(Connection, key, lambda c, a: c.disconnect() or [])
    raise rt.error(f"{key} is not a valid member of RBXScriptConnection")


def _enum_type_member(rt: Runtime, enum: EnumType, key: str) -> object:
    item = ENUMS[enum.name].get(key)
    if item is None:
        raise rt.error(f'{key} is not a valid member of "Enum.{enum.name}"')
    return rt.wrap(item)


def _enums_member(rt: Runtime, enums: Enums, key: str) -> object:
    found = ENUM_TYPES.get(key)
    if found is None:
        raise rt.error(f"{key} is not a valid member of Enum (not emulated by the fake)")
    return rt.wrap(found)


def _extend(rt: Runtime, secret: Secret, args: tuple[object, ...], prefix: bool) -> list[object]:
    """``Secret:AddPrefix(text)`` / ``AddSuffix``: a new handle; the rule is the Secret's own."""
    text = args[0] if args else None
    if not isinstance(text, (str, rt.pluau.String)):
        raise rt.error(f"Unable to cast {type_name(text)} to string")
    try:
        piece = lua_text(text)
        extended = secret.add_prefix(piece) if prefix else secret.add_suffix(piece)
    except (GameServerError, LuauValueError) as exc:
        raise rt.error(str(exc)) from None
    return [rt.wrap_secret(extended)]


def _enum_item_member(rt: Runtime, item: EnumItem, key: str) -> object:
    if key == "Name":
        return item.name
    if key == "Value":
        return item.value
    if key == "EnumType":
        return rt.wrap(ENUM_TYPES[item.enum_type])
    raise rt.error(f"{key} is not a valid member of EnumItem")


def _connect(rt: Runtime, signal: Signal, args: tuple[object, ...], *, once: bool) -> list[object]:
    handler = args[0] if args else None
    if not isinstance(handler, rt.pluau.Function):
        raise rt.error(f"Attempt to connect failed: Passed value is not a function ({signal.name})")
    return [rt.wrap(signal.connect(handler, once=once))]


# --------------------------------------------------------------------------- instances


def _instance_member(rt: Runtime, inst: Instance, key: str) -> object:
    found, value = _property(rt, inst, key)
    if found:
        return value
    method = _METHODS.get((inst.class_name, key)) or _METHODS.get(("*", key))
    if method is not None:
        return rt.method(Instance, key, lambda target, args: method(rt, target, args))
    child = inst.children.get(key)
    if child is not None:
        return rt.wrap(child)
    raise rt.error(f'{key} is not a valid member of {inst.class_name} "{inst.full_name()}"')


def _property(rt: Runtime, inst: Instance, key: str) -> tuple[bool, object]:
    if key == "Name":
        return True, inst.name
    if key == "ClassName":
        return True, inst.class_name
    if key == "Parent":
        return True, None if inst.parent is None else rt.wrap(inst.parent)
    if inst.class_name == "DataModel":
        server = rt.server
        values: dict[str, object] = {
            "JobId": server.id,
            "PlaceId": server.place_id,
            "PlaceVersion": server.place_version,
            "GameId": rt.game_id,
        }
        if key in values:
            return True, values[key]
        if key == "ServerRestartScheduled":
            return True, rt.wrap(rt.signals[key])
    if inst.class_name == "HttpService" and key == "HttpEnabled":
        return True, rt.server.http_enabled
    if inst.class_name == "Players":
        if key in ("PlayerAdded", "PlayerRemoving"):
            return True, rt.wrap(rt.signals[key])
        if key == "LocalPlayer":
            return True, None
    return False, None


def _find_first_child(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    child = inst.children.get(rt.text(args[0] if args else None, "FindFirstChild"))
    return [None if child is None else rt.wrap(child)]


def _wait_for_child(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    name = rt.text(args[0] if args else None, "WaitForChild")
    child = inst.children.get(name)
    if child is None:
        # Nothing adds instances in the fake, so Roblox's "infinite yield" would be forever.
        raise rt.error(
            f'Infinite yield: {name} is not a child of {inst.class_name} "{inst.full_name()}" '
            "and nothing in the fake will create it"
        )
    return [rt.wrap(child)]


def _is_a(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    name = rt.text(args[0] if args else None, "IsA")
    return [name in (inst.class_name, "Instance", *_IS_A.get(inst.class_name, ()))]


def _get_service(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    return [rt.wrap(rt.service(rt.text(args[0] if args else None, "GetService")))]


def _bind_to_close(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    handler = args[0] if args else None
    if not isinstance(handler, rt.pluau.Function):
        raise rt.error("BindToClose expects a function")
    rt.close_handlers.append(handler)
    return []


def _constant(value: Callable[[Runtime], object]) -> Method:
    return lambda rt, inst, args: [value(rt)]


_METHODS: dict[tuple[str, str], Method] = {
    ("*", "FindFirstChild"): _find_first_child,
    ("*", "WaitForChild"): _wait_for_child,
    ("*", "IsA"): _is_a,
    ("*", "GetFullName"): lambda rt, inst, args: [inst.full_name()],
    ("*", "GetChildren"): lambda rt, inst, args: [
        rt.lua_list([rt.wrap(c) for c in inst.children.values()])
    ],
    ("*", "GetDescendants"): lambda rt, inst, args: [
        rt.lua_list([rt.wrap(c) for c in inst.descendants()])
    ],
    ("DataModel", "GetService"): _get_service,
    ("DataModel", "BindToClose"): _bind_to_close,
    ("RunService", "IsStudio"): _constant(lambda rt: rt.studio),
    ("RunService", "IsServer"): _constant(lambda rt: not rt.client),
    ("RunService", "IsClient"): _constant(lambda rt: rt.client),
    ("RunService", "IsRunning"): _constant(lambda rt: True),
    ("Players", "GetPlayers"): _constant(lambda rt: rt.lua_list([])),
    **{("HttpService", name): method for name, method in HTTP_METHODS.items()},
}

_BY_TYPE: dict[type, Callable[[Runtime, Any, str], object]] = {
    Instance: _instance_member,
    Secret: _secret_member,
    Signal: _signal_member,
    Connection: _connection_member,
    EnumItem: _enum_item_member,
    EnumType: _enum_type_member,
    Enums: _enums_member,
}
