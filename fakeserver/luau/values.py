"""Luau values as Python values and back, for results, JSON and the engine's arguments.

A Luau table becomes a ``list`` when its keys are exactly ``1..n`` and a ``dict`` otherwise
(the empty table is ``{}``); a ``Secret`` stays a :class:`fakeserver.backend.gameservers.Secret`, an
instance stays a :class:`fakeserver.luau.rojo.Instance`. Functions, threads and buffers have no
Python form and raise :class:`~fakeserver.errors.LuauValueError`, naming the type only.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..errors import LuauValueError
from .vm import pluau_module

if TYPE_CHECKING:
    import pluau

__all__ = ["PyValue", "lua_text", "to_luau", "to_python", "type_name"]

_pluau = pluau_module()

_MAX_DEPTH = 100

#: What a Luau value becomes in Python: None, bool, int, float, str, list, dict, or the Python
#: object behind a userdata (a Secret, an Instance). Too many kinds for a useful union.
PyValue = object


def type_name(value: object) -> str:
    """The Luau ``typeof`` of a value pluau handed to Python."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (str, _pluau.String)):
        return "string"
    if isinstance(value, _pluau.Table):
        return "table"
    if isinstance(value, _pluau.Function):
        return "function"
    if isinstance(value, _pluau.UserData):
        return type(value.data()).__name__
    return type(value).__name__.lower()


def lua_text(value: object, *, strict: bool = True) -> str:
    """A Luau string as ``str``; non-UTF-8 bytes raise (``strict``) or are replaced.

    Raises
    ------
    LuauValueError
        If ``value`` is not a string, or (``strict``) not valid UTF-8.
    """
    if isinstance(value, str):
        return value
    if not isinstance(value, _pluau.String):
        raise LuauValueError(f"expected a string, got {type_name(value)}")
    raw: bytes = value.as_bytes()
    try:
        return raw.decode("utf-8", errors="strict" if strict else "replace")
    except UnicodeDecodeError:
        raise LuauValueError("the string is not valid UTF-8") from None


def to_python(value: object, *, json: bool = False, _depth: int = 0) -> PyValue:
    """Convert a Luau value; ``json`` refuses what JSON cannot hold (userdata, NaN, mixed keys).

    Raises
    ------
    LuauValueError
        For functions, threads, buffers, tables nested deeper than 100 (or cyclic), and with
        ``json`` for userdata (a ``Secret`` included), non-finite numbers and non-string keys.
    """
    if _depth > _MAX_DEPTH:
        raise LuauValueError("a table is nested too deeply (or contains itself)")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if json and not math.isfinite(value):
            raise LuauValueError("JSON has no NaN or infinity")
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, _pluau.String):
        return lua_text(value, strict=False)
    if isinstance(value, _pluau.Table):
        return _table(value, json=json, depth=_depth)
    if isinstance(value, _pluau.UserData) and not json:
        return value.data()
    raise LuauValueError(f"a {type_name(value)} value cannot be converted")


def _table(table: pluau.Table, *, json: bool, depth: int) -> list[PyValue] | dict[object, PyValue]:
    items = [
        (to_python(k, json=False, _depth=depth + 1), to_python(v, json=json, _depth=depth + 1))
        for k, v in table
    ]
    keys = [k for k, _ in items]
    if keys and sorted(keys, key=_sort_key) == list(range(1, len(keys) + 1)):
        return [v for _, v in sorted(items, key=lambda kv: _sort_key(kv[0]))]
    if json and not all(isinstance(k, str) for k in keys):
        raise LuauValueError("a table mixes array and string keys, which JSON cannot hold")
    return dict(items)


def _sort_key(key: object) -> float:
    return float(key) if isinstance(key, (int, float)) and not isinstance(key, bool) else -1.0


def to_luau(lua: pluau.Lua, value: object, *, _depth: int = 0) -> object:
    """Convert a Python value (from JSON, or the engine) into one pluau can pass to Luau."""
    if _depth > _MAX_DEPTH:
        raise LuauValueError("a value is nested too deeply")
    if isinstance(value, dict):
        table = lua.create_table_with_capacity(0, len(value))
        for key, item in value.items():
            table.raw_set(key, to_luau(lua, item, _depth=_depth + 1))
        return table
    if isinstance(value, (list, tuple)):
        table = lua.create_table_with_capacity(len(value), 0)
        for item in value:
            table.raw_push(to_luau(lua, item, _depth=_depth + 1))
        return table
    return value
