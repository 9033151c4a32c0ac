"""A fresh, sandboxed Luau VM with a memory limit and a time limit, on ``pluau``.

Three things about pluau 0.1.2 are handled here, once:

- ``pluau/__init__.py`` imports ``pluau/args.py``, whose one line is a ``type X = ...`` alias
  (Python 3.12 syntax), so ``import pluau`` is a SyntaxError on 3.11. :func:`pluau_module`
  puts an equivalent module in ``sys.modules`` first; the alias is only a type hint.
- The time-limit interrupt firing inside a ``pcall`` loop crashes the process (SIGILL) when
  no memory limit is set, so :func:`new_vm` always sets one, and :meth:`TimeLimit.install`
  refuses a VM without one.
- ``Lua.sandbox(True)`` leaves ``loadstring``, ``getfenv``, ``setfenv`` and ``require``
  reachable; game code never sees pluau's globals table, only a table of the
  :data:`SAFE_GLOBALS`, copied by name (``fakeserver.luau.engine`` builds it).
"""

from __future__ import annotations

import functools
import sys
import time
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pluau

__all__ = ["SAFE_GLOBALS", "Limits", "TimeLimit", "bytecode", "new_vm", "pluau_module"]

#: The Luau globals game code keeps (Roblox offers these too); everything else is left out.
SAFE_GLOBALS = (
    "_VERSION",
    "assert",
    "bit32",
    "buffer",
    "collectgarbage",  # the sandbox lets it answer "count" only, as Roblox's does
    "coroutine",
    "debug",
    "error",
    "gcinfo",
    "getmetatable",
    "ipairs",
    "math",
    "newproxy",
    "next",
    "os",
    "pairs",
    "pcall",
    "rawequal",
    "rawget",
    "rawlen",
    "rawset",
    "select",
    "setmetatable",
    "string",
    "table",
    "tonumber",
    "tostring",
    "type",
    "typeof",
    "unpack",
    "utf8",
    "vector",
    "xpcall",
)


@dataclass(frozen=True)
class Limits:
    """How much a run may use: VM memory in bytes, and wall-clock seconds per run."""

    memory_bytes: int = 64 * 1024 * 1024
    seconds: float = 5.0


def pluau_module() -> types.ModuleType:
    """Import ``pluau`` on every supported Python (see the module docstring)."""
    if "pluau" not in sys.modules and sys.version_info < (3, 12):
        # pluau 0.1.2's args.py is `type Argument = ...`, which 3.11 cannot parse. Nothing
        # at run time reads the alias, so a module holding a plain `object` stands in for it.
        stand_in = types.ModuleType("pluau.args")
        stand_in.Argument = object  # type: ignore[attr-defined]
        sys.modules["pluau.args"] = stand_in
    import pluau

    module: types.ModuleType = pluau
    return module


class TimeLimit:
    """The interrupt that ends a run past its deadline; re-armed by :meth:`start` per run.

    Luau calls it at function calls and loop iterations, so it does as little as it can.
    """

    def __init__(self, seconds: float) -> None:
        """Allow ``seconds`` of wall-clock time per run."""
        pluau = pluau_module()
        self.seconds = seconds
        self.exceeded = False
        self._deadline = float("inf")
        self._continue = pluau.VmState.Continue
        self._error = pluau.RawError

    def install(self, lua: pluau.Lua) -> None:
        """Make this the VM's interrupt (after the engine is set up: the interrupt is a Python
        call at every Luau loop and call, and the engine's own set-up needs no limit)."""
        # pluau crashes the process (SIGILL) when the interrupt fires inside pcall while no
        # memory limit is set: never install one without the other.
        if lua.memory_limit() <= 0:
            raise RuntimeError("a VM gets a memory limit before its time limit")
        lua.set_interrupt(self)

    def start(self) -> None:
        """Begin a run: the clock starts now."""
        self._deadline = time.monotonic() + self.seconds
        self.exceeded = False

    def __call__(self, lua: pluau.Lua) -> object:
        """Keep raising once past the deadline, so a ``pcall`` that catches it cannot loop on."""
        if time.monotonic() > self._deadline:
            self.exceeded = True
            raise self._error(f"time limit of {self.seconds:g} s exceeded")
        return self._continue


def new_vm(limits: Limits) -> tuple[pluau.Lua, TimeLimit]:
    """A sandboxed VM with its memory limit set, and its time limit (to :meth:`~TimeLimit.install`
    once the engine is bound, then :meth:`~TimeLimit.start` for each run)."""
    pluau = pluau_module()
    lua = pluau.Lua()
    lua.sandbox(True)
    lua.set_memory_limit(limits.memory_bytes)
    return lua, TimeLimit(limits.seconds)


@functools.lru_cache(maxsize=512)
def bytecode(source: str) -> bytes | None:
    """``source`` compiled once per process (``None`` for a syntax error, which the caller
    reports by loading the source itself, to get Luau's message with the chunk's name).

    Every test of a game loads the same scripts into a fresh VM: compiling is most of that
    cost (about 60 us for a small module, 6 us to load its bytecode).
    """
    compiler = pluau_module().Compiler(1, 1, 0, 0)  # Luau's defaults: -O1, line info
    try:
        return bytes(compiler.compile(source))
    except RuntimeError:
        return None
