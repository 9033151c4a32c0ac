"""The VM game code runs in: real Luau syntax, no way out of the sandbox, limits that end a run
with one line instead of hanging or crashing the test process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from fakeserver.luau import Limits, LuauError, LuauGame

pytestmark = pytest.mark.luau_game(limits=Limits(memory_bytes=16 * 1024 * 1024, seconds=0.5))


def test_luau_syntax_beyond_lua_5_1(luau_game: LuauGame) -> None:
    result = luau_game.run(
        textwrap.dedent(
            """
            --!strict
            type Point = { x: number, y: number }
            local function total(points: { Point }): number
                local sum = 0
                for _, p in points do          -- generalized iteration
                    if p.x < 0 then continue end
                    sum += p.x * p.y           -- compound assignment
                end
                return sum
            end
            local points: { Point } = { { x = 2, y = 3 }, { x = -1, y = 9 }, { x = 4, y = 1 } }
            local n = total(points)
            local kind = if n > 5 then "big" else "small"  -- if-expression
            return `{n} is {kind}`, 0b101 + 0x10, 1_000
            """
        )
    )
    assert result == ("10 is big", 21, 1000)


@pytest.mark.parametrize(
    "name", ["loadstring", "getfenv", "setfenv", "require_by_id", "dofile", "load", "io"]
)
def test_escape_hatches_are_not_reachable(luau_game: LuauGame, name: str) -> None:
    if name == "require_by_id":
        with pytest.raises(LuauError, match=r"^script:1: require expects a ModuleScript"):
            luau_game.run("return require(12345)")
        return
    if name == "io":
        assert luau_game.run("return io, os.execute, os.getenv, debug.getinfo") == (None,) * 4
        return
    with pytest.raises(LuauError, match=rf"^script:1: {name} is not emulated by the fake"):
        luau_game.run(f"return {name}")


def test_globals_and_libraries_are_read_only(luau_game: LuauGame) -> None:
    assert luau_game.run("local ok = pcall(function() string.upper = nil end) return ok") is False
    # A script's own globals are its own: the next script does not see them.
    luau_game.run("shared_thing = 1")
    assert luau_game.run("return shared_thing") is None


def test_metatables_of_engine_objects_are_locked(luau_game: LuauGame) -> None:
    assert luau_game.run("return getmetatable(game)") == "The metatable is locked"
    secret_mt = luau_game.run(
        'local ok, s = pcall(function() return game:GetService("HttpService"):GetSecret("X") end)'
        "\nreturn getmetatable(script)"
    )
    assert secret_mt == "The metatable is locked"


def test_an_endless_loop_is_one_line(luau_game: LuauGame) -> None:
    with pytest.raises(LuauError) as caught:
        luau_game.run("local n = 0\nwhile true do n += 1 end", name="Spin")
    assert str(caught.value) == "Spin:2: time limit of 0.5 s exceeded (an endless loop?)"


def test_a_pcall_cannot_swallow_the_time_limit(luau_game: LuauGame) -> None:
    # The case pluau crashes on (SIGILL) without a memory limit: the interrupt inside pcall.
    with pytest.raises(LuauError, match="time limit of 0.5 s exceeded"):
        luau_game.run("while true do pcall(function() while true do end end) end")


@pytest.mark.luau_game(limits=Limits(memory_bytes=16 * 1024 * 1024, seconds=30))
def test_a_runaway_table_is_one_line(luau_game: LuauGame) -> None:
    with pytest.raises(LuauError) as caught:
        luau_game.run("local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 100) .. i end")
    assert str(caught.value) == "script: memory limit of 16 MB exceeded"
    with pytest.raises(LuauError, match="ran out of memory in an earlier run"):
        luau_game.run("return 1")


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("local x = = 1", "Bad:1: syntax error: Expected identifier when parsing expression"),
        ("local t = nil\nreturn t.field", "Bad:2: attempt to index nil with 'field'"),
        ("error('custom failure')", "Bad:1: custom failure"),
        ("error({code = 1})", "Bad:1: table: "),
        ("local x: number = 'a' .. {}", "Bad:1: attempt to concatenate string with table"),
        ("return game.Nope", 'Bad:1: Nope is not a valid member of DataModel "Game"'),
        ("return game:GetService('DataStoreService')", "Bad:1: DataStoreService is not emulated"),
        ("return game:GetService('Nope')", "Bad:1: 'Nope' is not a valid Service name"),
        ("return workspace", "Bad:1: workspace is not emulated by the fake's Luau sandbox"),
        ("coroutine.yield()", "Bad: the script yielded and nothing will resume it"),
    ],
)
def test_errors_are_one_line_naming_file_and_line(
    luau_game: LuauGame, source: str, line: str
) -> None:
    with pytest.raises(LuauError) as caught:
        luau_game.run(source, name="Bad")
    message = str(caught.value)
    assert message.startswith(line), message
    assert "\n" not in message and "Traceback" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_results_come_back_as_python_values(luau_game: LuauGame) -> None:
    assert luau_game.run("return nil") is None
    assert luau_game.run("return 1, 2.5, 'x', true") == (1, 2.5, "x", True)
    assert luau_game.run("return {1, 2, {a = {}}}") == [1, 2, {"a": {}}]
    with pytest.raises(LuauError, match="Python cannot hold: a function"):
        luau_game.run("return print")


def test_pluau_imports_in_a_fresh_interpreter() -> None:
    """The work-around for pluau's 3.12-only args.py (fakeserver/luau/vm.py), from scratch.

    CI runs the suite on 3.11, 3.12 and 3.13; this checks the interpreter running it, with
    nothing imported beforehand.
    """
    code = (
        "from fakeserver.luau.vm import Limits, new_vm\n"
        "lua, _ = new_vm(Limits())\n"
        "print(lua.load_chunk('local n: number = 1 n += 1 return n')()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[0] == "2"


def test_a_time_limit_needs_a_memory_limit_first() -> None:
    # pluau crashes the process (SIGILL) when the interrupt fires inside pcall without one.
    from fakeserver.luau.vm import TimeLimit, pluau_module

    lua = pluau_module().Lua()
    with pytest.raises(RuntimeError, match="memory limit before its time limit"):
        TimeLimit(1.0).install(lua)
