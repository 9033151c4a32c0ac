"""The fake's game servers: Secret like the Luau datatype, and HttpService's rules.

The domain rule's cases are in tests/data/domain_cases.json (tests/test_domain_rule.py); this
module pins the rest: what a Secret refuses and never shows, the snapshot a server starts
with, what a request may carry and what it resolves to.
"""

from __future__ import annotations

import copy
import pickle
import traceback

import pytest

from fakeserver.backend.gameservers import (
    NOT_FOUND_MESSAGE,
    GameServer,
    GameServerError,
    OutgoingRequest,
    Secret,
    url_host,
)

VALUE = "sk_live_51H-not-a-real-key"
HOOK = "https://hooks.example.com/services/T000/B000/XXXX"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make_server(clock: Clock | None = None, **secrets: tuple[str, str | None]) -> GameServer:
    snapshot = secrets or {
        "API_KEY": (VALUE, "api.example.com"),
        "HOOK": (HOOK, "hooks.example.com"),
        "PRIVATE": ("private-value", None),
        "ANY": ("any-value", "*"),
    }
    return GameServer(
        server_id="job-1", place_id=7, place_version=1, secrets=snapshot, clock=clock or Clock()
    )


# --------------------------------------------------------------------------- Secret


def test_secret_shows_its_name_never_its_value() -> None:
    secret = make_server().get_secret("API_KEY")
    assert str(secret) == repr(secret) == f"{secret}" == "Secret(API_KEY)"
    assert VALUE not in f"{secret!r} {secret!s} {secret:}"
    assert secret.name == "API_KEY"
    assert secret.domain == "api.example.com"
    assert not hasattr(secret, "__dict__")


def test_secret_equality_and_hash_reveal_nothing() -> None:
    server = make_server(A=("same", "*"), B=("same", "*"))
    a, b, a_again = server.get_secret("A"), server.get_secret("B"), server.get_secret("A")
    # Same value, same name or not: only identity counts, so a guess cannot be confirmed.
    assert a != b
    assert a != a_again
    assert a != Secret("A", "same", "*")
    assert a == a
    assert hash(a) != hash(a_again) or a is a_again
    assert len({a, b, a_again}) == 3


def test_secret_refuses_copy_and_pickle() -> None:
    secret = make_server().get_secret("API_KEY")
    for attempt in (
        lambda: pickle.dumps(secret),
        lambda: copy.copy(secret),
        lambda: copy.deepcopy(secret),
    ):
        with pytest.raises(TypeError, match="cannot be copied or pickled"):
            attempt()


def test_secret_has_no_concatenation() -> None:
    secret = make_server().get_secret("API_KEY")
    with pytest.raises(TypeError):
        "Bearer " + secret  # type: ignore[operator]  # noqa: B018
    with pytest.raises(TypeError):
        secret + "x"  # type: ignore[operator]  # noqa: B018


def test_prefix_and_suffix_return_new_secrets() -> None:
    server = make_server()
    secret = server.get_secret("API_KEY")
    wrapped = secret.add_prefix("Bearer ").add_suffix("?v=2")
    assert wrapped is not secret
    assert repr(wrapped) == "Secret(API_KEY)"
    assert wrapped.domain == secret.domain
    sent = server.http_request("https://api.example.com/", headers={"Authorization": wrapped})
    assert sent.headers == {"Authorization": f"Bearer {VALUE}?v=2"}
    # The original is unchanged.
    sent = server.http_request("https://api.example.com/", headers={"X": secret})
    assert sent.headers == {"X": VALUE}


def test_private_secret_refuses_prefix_and_suffix() -> None:
    secret = make_server().get_secret("PRIVATE")
    assert secret.domain is None
    with pytest.raises(GameServerError, match=r"secret PRIVATE is private .* cannot be prefixed"):
        secret.add_prefix("x")
    with pytest.raises(GameServerError, match=r"cannot be suffixed"):
        secret.add_suffix("x")


def test_prefix_must_be_text() -> None:
    secret = make_server().get_secret("API_KEY")
    with pytest.raises(TypeError, match="got int"):
        secret.add_prefix(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got Secret"):
        secret.add_suffix(secret)  # type: ignore[arg-type]


def test_empty_domain_is_private() -> None:
    assert Secret("A", "v", "").domain is None
    assert make_server(A=("v", "")).get_secret("A").domain is None


# --------------------------------------------------------------------------- GetSecret


def test_get_secret_missing_uses_robloxs_message() -> None:
    server = make_server()
    with pytest.raises(GameServerError) as info:
        server.get_secret("NOT_THERE")
    assert str(info.value) == NOT_FOUND_MESSAGE == "Can't find secret with given key"
    with pytest.raises(TypeError):
        server.get_secret(None)  # type: ignore[arg-type]


def test_server_keeps_its_snapshot_when_the_source_changes() -> None:
    snapshot = {"A": ("v1", "*")}
    server = GameServer(server_id="j", place_id=1, place_version=1, secrets=snapshot, clock=Clock())
    snapshot["A"] = ("v2", "*")
    snapshot["B"] = ("new", "*")
    sent = server.http_request("https://x.test/", headers={"A": server.get_secret("A")})
    assert sent.headers == {"A": "v1"}
    with pytest.raises(GameServerError, match="Can't find secret"):
        server.get_secret("B")
    assert server.secret_names() == ["A"]


def test_server_repr_shows_counts_and_state_only() -> None:
    server = make_server()
    text = repr(server)
    assert text == (
        "GameServer(id='job-1', place_id=7, place_version=1, players=0, secrets=4, running)"
    )
    assert VALUE not in text


# --------------------------------------------------------------------------- http_request


def test_request_without_secrets_passes_through() -> None:
    sent = make_server().http_request("https://anything.test/x?y=1", {"A": "b"}, "body text")
    assert (sent.url, sent.host, sent.headers, sent.body) == (
        "https://anything.test/x?y=1",
        "anything.test",
        {"A": "b"},
        "body text",
    )


def test_secret_as_the_whole_url() -> None:
    server = make_server()
    sent = server.http_request(server.get_secret("HOOK"), body='{"text": "deployed"}')
    assert sent.url == HOOK
    assert sent.host == "hooks.example.com"
    assert sent.body == '{"text": "deployed"}'


def test_secret_url_built_with_prefix_and_suffix() -> None:
    server = make_server(TOKEN=("abc123", "api.example.com"))
    url = (
        server.get_secret("TOKEN").add_prefix("https://api.example.com/v1?key=").add_suffix("&a=1")
    )
    assert server.http_request(url).url == "https://api.example.com/v1?key=abc123&a=1"


def test_secret_in_body_is_refused_without_its_value() -> None:
    server = make_server()
    with pytest.raises(GameServerError) as info:
        server.http_request("https://api.example.com/", body=server.get_secret("API_KEY"))  # type: ignore[arg-type]
    assert str(info.value) == (
        "secret API_KEY is in the request body: a secret may travel only in the URL or a "
        "header value"
    )


def test_private_secret_is_refused_anywhere() -> None:
    server = make_server()
    private = server.get_secret("PRIVATE")
    for kwargs in ({"url": private}, {"url": "https://x.test/", "headers": {"A": private}}):
        with pytest.raises(GameServerError, match="secret PRIVATE is private"):
            server.http_request(**kwargs)  # type: ignore[arg-type]


def test_wrong_domain_names_secret_domain_and_host() -> None:
    server = make_server()
    with pytest.raises(GameServerError) as info:
        server.http_request("https://evil.test/", headers={"X": server.get_secret("API_KEY")})
    assert str(info.value) == (
        "secret API_KEY may be sent only to 'api.example.com', not to evil.test"
    )


def test_secret_url_host_is_never_shown() -> None:
    server = make_server(HOOK=(HOOK, "other.example.com"))
    with pytest.raises(GameServerError) as info:
        server.http_request(server.get_secret("HOOK"))
    assert "hooks.example.com" not in str(info.value)
    assert "(not shown: it comes from secret HOOK)" in str(info.value)


def test_every_secret_in_the_request_must_allow_the_host() -> None:
    server = make_server()
    headers = {"A": server.get_secret("ANY"), "B": server.get_secret("API_KEY")}
    with pytest.raises(GameServerError, match="secret API_KEY may be sent only"):
        server.http_request("https://cdn.example.com/", headers=headers)
    sent = server.http_request("https://api.example.com/", headers=headers)
    assert sent.headers == {"A": "any-value", "B": VALUE}


def test_a_secret_url_that_is_not_a_url_fails_without_the_value() -> None:
    server = make_server(BAD=("not a url at all", "*"))
    with pytest.raises(GameServerError) as info:
        server.http_request(server.get_secret("BAD"))
    assert str(info.value) == (
        "the URL has no host; a game server needs a full URL like https://api.example.com/ "
        "(the URL is secret BAD)"
    )
    assert info.value.__context__ is None


def test_refusals_leave_no_value_in_any_frame() -> None:
    server = make_server(BAD=("bad-url-value", "*"), API_KEY=(VALUE, "api.example.com"))
    attempts = [
        lambda: server.http_request(server.get_secret("BAD")),
        lambda: server.http_request("https://evil.test/", {"X": server.get_secret("API_KEY")}),
        lambda: server.http_request("nope", {"X": server.get_secret("API_KEY")}),
    ]
    for attempt in attempts:
        with pytest.raises(GameServerError) as info:
            attempt()
        exc: BaseException | None = info.value
        while exc is not None:
            for frame, _ in traceback.walk_tb(exc.__traceback__):
                for name, local in frame.f_locals.items():
                    if isinstance(local, str):
                        assert local not in ("bad-url-value", VALUE), name
            exc = exc.__context__


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"url": 5}, "a URL is a string or a Secret"),
        ({"url": "https://x.test/", "headers": [("A", "b")]}, "headers are a mapping"),
        ({"url": "https://x.test/", "headers": {1: "b"}}, "a header name is a string"),
        ({"url": "https://x.test/", "headers": {"A": 1}}, "header 'A' is a string or a Secret"),
        ({"url": "https://x.test/", "body": b"x"}, "a request body is a string"),
    ],
)
def test_wrong_types_are_type_errors(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(TypeError, match=words):
        make_server().http_request(**kwargs)  # type: ignore[arg-type]


def test_outgoing_request_repr_hides_values() -> None:
    server = make_server()
    sent = server.http_request(
        "https://api.example.com/path?q=secretish",
        headers={"Authorization": server.get_secret("API_KEY").add_prefix("Bearer ")},
        body="payload",
    )
    assert isinstance(sent, OutgoingRequest)
    assert repr(sent) == (
        "OutgoingRequest(host='api.example.com', headers=['Authorization'], body of 7 characters)"
    )
    assert "no body" in repr(server.http_request("https://x.test/"))


def test_a_closed_server_sends_nothing() -> None:
    clock = Clock()
    server = make_server(clock)
    server.shut_down_at(clock.now + 60)
    assert (server.running, server.accepting_players, server.state) == (True, False, "draining")
    server.http_request("https://x.test/")
    clock.now += 60
    assert (server.running, server.state) == (False, "closed")
    with pytest.raises(GameServerError, match="job-1 has shut down"):
        server.http_request("https://x.test/")


def test_deadline_only_moves_earlier() -> None:
    clock = Clock()
    server = make_server(clock)
    assert server.closes_at is None and server.started_at == 100.0
    server.shut_down_at(200.0)
    server.shut_down_at(300.0)
    assert server.closes_at == 200.0
    server.shut_down_at(150.0)
    assert server.closes_at == 150.0


def test_url_host_matches_the_clients_normalization() -> None:
    assert url_host("HTTPS://User@API.Example.COM.:443/x") == "api.example.com"
    assert url_host("http://[0:0::1]/") == "[::1]"
