"""The game server's rules from the contract's section 11, in Python (the Luau binding calls
these same rules: tests/fakeserver/luau/section11.spec.luau runs them as game code).

HTTP off, blocked ports, Open Cloud's rules, per-server limits per minute, the request method,
what ``tostring`` shows, and Studio's local secrets.
"""

from __future__ import annotations

import pytest

from fakeserver.backend.gameservers import (
    REQUESTS_PER_MINUTE,
    GameServer,
    GameServerError,
    url_target,
)

KEY = "oc-key-v4lue"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_server(clock: Clock | None = None) -> GameServer:
    return GameServer(
        server_id="job-1",
        place_id=7,
        place_version=1,
        secrets={
            "OC_KEY": (KEY, "apis.roblox.com"),
            "ANY": ("any-v4lue", "*"),
            "HOOK": ("https://hooks.example.com/x", "hooks.example.com"),
        },
        clock=clock or Clock(),
    )


OPEN_CLOUD = "https://apis.roblox.com/cloud/v2/universes/1/data-stores"


def test_url_target_splits_scheme_host_port_and_path() -> None:
    target = url_target("HTTPS://Api.Example.com:8443/v1/x?y=1#z")
    assert target == ("https", "api.example.com", 8443, "/v1/x?y=1#z")
    assert url_target("http://a.example.com").effective_port == 80
    assert url_target("https://a.example.com/").effective_port == 443


def test_http_disabled_refuses_every_request() -> None:
    server = make_server()
    server.http_enabled = False
    with pytest.raises(GameServerError, match=r"^Http requests are not enabled\."):
        server.http_request("https://example.org/")


@pytest.mark.parametrize("port", [0, 1, 21, 22, 25, 79, 81, 442, 444, 1023, 1194])
def test_blocked_ports(port: int) -> None:
    with pytest.raises(GameServerError, match=rf"^port {port} is blocked for game servers"):
        make_server().http_request(f"https://example.org:{port}/")


@pytest.mark.parametrize("port", [80, 443, 1024, 1193, 1195, 8080, 65535])
def test_allowed_ports(port: int) -> None:
    assert make_server().http_request(f"https://example.org:{port}/").host == "example.org"


def test_a_blocked_port_in_a_secret_url_is_not_shown() -> None:
    server = make_server()
    secret = server.get_secret("HOOK").add_suffix(":22")
    with pytest.raises(GameServerError) as caught:
        server.http_request(server.get_secret("ANY").add_prefix("https://example.org:22/?"))
    assert str(caught.value).startswith("the URL's port is blocked")
    assert secret.shown == "Secret(HOOK):22"


def test_open_cloud_takes_https_only() -> None:
    server = make_server()
    with pytest.raises(GameServerError, match=r"takes only https:// requests"):
        server.http_request(
            OPEN_CLOUD.replace("https", "http"), {"x-api-key": server.get_secret("OC_KEY")}
        )


def test_open_cloud_takes_an_api_key_secret_and_content_type() -> None:
    server = make_server()
    sent = server.http_request(
        OPEN_CLOUD,
        {"X-Api-Key": server.get_secret("OC_KEY"), "Content-Type": "application/json"},
        "{}",
        method="post",
    )
    assert sent.headers["X-Api-Key"] == KEY and sent.method == "POST"
    with pytest.raises(GameServerError, match="must be a Secret"):
        server.http_request(OPEN_CLOUD, {"x-api-key": KEY})
    with pytest.raises(GameServerError, match="not Authorization$"):
        server.http_request(OPEN_CLOUD, {"Authorization": server.get_secret("ANY")})


@pytest.mark.parametrize("path", ["/cloud/../x", "/cloud/%2e%2E/x", "/a/..", "/../"])
def test_open_cloud_refuses_dot_dot_segments(path: str) -> None:
    with pytest.raises(GameServerError, match=r"may not hold '\.\.' in its path"):
        make_server().http_request(f"https://apis.roblox.com{path}")


def test_dot_dot_is_fine_in_a_query_and_elsewhere() -> None:
    server = make_server()
    assert server.http_request("https://apis.roblox.com/cloud/v2?q=../x").host
    assert server.http_request("https://example.org/a/../b").host == "example.org"


def test_outside_hosts_have_500_requests_a_minute_per_server() -> None:
    clock = Clock()
    server = make_server(clock)
    for i in range(REQUESTS_PER_MINUTE["outside"]):
        clock.now += 0.01
        server.http_request(f"https://example.org/{i}")
    with pytest.raises(GameServerError, match="^Number of requests exceeded limit$"):
        server.http_request("https://example.org/over")
    # Open Cloud keeps a budget of its own, and another server is not affected.
    server.http_request(OPEN_CLOUD, {"x-api-key": server.get_secret("OC_KEY")})
    make_server(clock).http_request("https://example.org/")
    # A minute after the first request, one more fits.
    clock.now = 100.0 + 60.0 + 0.011
    server.http_request("https://example.org/again")
    with pytest.raises(GameServerError):
        server.http_request("https://example.org/over")


def test_open_cloud_has_2500_requests_a_minute_per_server() -> None:
    server = make_server()
    key = server.get_secret("OC_KEY")
    for _ in range(REQUESTS_PER_MINUTE["open cloud"]):
        server.http_request(OPEN_CLOUD, {"x-api-key": key})
    with pytest.raises(GameServerError, match="^Number of Open Cloud requests exceeded limit$"):
        server.http_request(OPEN_CLOUD, {"x-api-key": key})


def test_refused_requests_do_not_count() -> None:
    server = make_server()
    for _ in range(REQUESTS_PER_MINUTE["outside"] + 5):
        with pytest.raises(GameServerError):
            server.http_request("https://example.org:22/")
    server.http_request("https://example.org/")


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(GameServerError, match="does not send 'BREW' requests"):
        make_server().http_request("https://example.org/", method="BREW")


def test_shown_keeps_the_pieces_and_repr_the_name() -> None:
    secret = make_server().get_secret("ANY").add_prefix("https://x/?k=").add_suffix("&u=1")
    assert secret.shown == "https://x/?k=Secret(ANY)&u=1"
    assert repr(secret) == "Secret(ANY)"


def test_studio_sees_its_local_secrets_only() -> None:
    server = make_server()
    studio = server.with_local_secrets({"LOCAL": ("local-v4lue", "example.org")})
    assert studio.id == server.id and studio.secret_names() == ["LOCAL"]
    sent = studio.http_request("https://example.org/", {"K": studio.get_secret("LOCAL")})
    assert sent.headers == {"K": "local-v4lue"}
    assert server.secret_names() == ["ANY", "HOOK", "OC_KEY"]
