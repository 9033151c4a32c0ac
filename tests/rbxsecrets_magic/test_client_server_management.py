"""SecretsClient's Server Management calls: forecast, launch, status and wait.

Against the fake over loopback HTTP (its answers computed from the servers it runs) and against
canned answers for what the fake never does (a lost launch answer, odd shapes).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from fakeserver import FakeOpenCloud
from rbxsecrets_magic.errors import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    TransportError,
    UnexpectedAnswerError,
)
from rbxsecrets_magic.opencloud.client import SecretsClient
from rbxsecrets_magic.opencloud.pacing import Pacer
from rbxsecrets_magic.opencloud.server_management import (
    SERVER_MANAGEMENT_RATE_LIMIT,
    PlaceForecast,
    RestartNotFinishedError,
    RestartStatus,
    validate_attributes,
)
from tests.rbxsecrets_magic.support import VirtualClock, canned_client, client_for

A, B = 1818, 1819
URL = "https://api.example.com/v1"


def _servers(fake: FakeOpenCloud, uid: int) -> list[Any]:
    return [
        fake.start_server(uid, A, players=20),
        fake.start_server(uid, A, players=10),
        fake.start_server(uid, B, players=11),
    ]


def _sends(server: Any) -> str:
    sent = server.http_request(URL, {"x-api-key": server.get_secret("PAYMENTS_KEY")})
    return str(sent.headers["x-api-key"])


def test_forecast_launch_and_wait_for_a_rollout(fake_open_cloud: Any) -> None:
    fake: FakeOpenCloud = fake_open_cloud.fake
    uid = fake_open_cloud.universe_id
    # The client waits on the fake's own clock: each of its sleeps moves it forward.
    client = client_for(fake_open_cloud, clock=fake.backend.clock, sleep=fake.advance)
    client.set("PAYMENTS_KEY", "old", domain="api.example.com")
    old = _servers(fake, uid)
    client.set("PAYMENTS_KEY", "new")

    forecast = client.forecast_restart()
    assert forecast.universe_id == uid
    assert (forecast.players_impacted, forecast.instances_impacted) == (41, 3)
    assert forecast.places == (
        PlaceForecast(A, 30, 2, 30, 2, "1", {"1": 30}, {"1": 2}),
        PlaceForecast(B, 11, 1, 11, 1, "1", {"1": 11}, {"1": 1}),
    )
    only = client.forecast_restart([B, 4242])
    assert [(p.place_id, p.players_impacted) for p in only.places] == [(B, 11), (4242, 0)]

    launched = client.launch_restart(bleed_off_minutes=5, attributes={"reason": "rotation"})
    assert (launched.players_impacted, launched.instances_impacted) == (41, 3)
    status = client.restart_status(launched.restart_id)
    assert [(p.place_id, p.state, p.remaining_players) for p in status.places] == [
        (A, "DELAYING", 30),
        (B, "DELAYING", 11),
    ]
    assert status.start_time is not None and status.scheduled_time is not None
    assert (status.start_time - status.scheduled_time).total_seconds() == pytest.approx(300)
    assert old[0].restart_scheduled is not None
    assert old[0].restart_scheduled.attributes == {"reason": "rotation"}

    seen: list[RestartStatus] = []
    final = client.wait_for_restart(launched.restart_id, timeout=600, progress=seen.append)
    assert final.done and {p.state for p in final.places} == {"SUCCEEDED"}
    assert (final.remaining_players, final.remaining_instances) == (0, 0)
    assert (final.total_players, final.total_instances) == (41, 3)
    assert [s.places[0].state for s in seen][-2:] == ["RESTARTING", "SUCCEEDED"]
    assert seen[0].places[0].state == "DELAYING"
    # Polled every 2 s on the fake's clock: about 150 reads for a 5-minute bleed-off.
    assert 145 <= len(seen) <= 155
    assert not any(s.running for s in old)
    assert [_sends(s) for s in fake.servers(uid)] == ["new", "new", "new"]


def test_a_launch_body_restarts_every_version_of_the_named_places() -> None:
    client, adapter = canned_client(
        (200, {"id": "r-1", "playersImpacted": 3, "instancesImpacted": 1}, {})
    )
    launched = client.launch_restart(place_ids=[A, str(B), A], bleed_off_minutes=240)
    (request,) = adapter.sent
    assert (request.method, request.url) == (
        "POST",
        "https://apis.roblox.com/server-management/v1/universes/123/restarts",
    )
    assert json.loads(request.body) == {
        "places": {str(A): {}, str(B): {}},
        "bleedOffDurationMinutes": 240,
    }
    assert (launched.restart_id, launched.players_impacted) == ("r-1", 3)
    client, adapter = canned_client((200, {"id": "r-2"}, {}))
    assert client.launch_restart().instances_impacted == 0
    assert json.loads(adapter.sent[0].body) == {}


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"bleed_off_minutes": 0}, "0 minutes is not a bleed-off; give 1 to 240"),
        ({"bleed_off_minutes": 241}, "Roblox allows 1 to 240 minutes"),
        ({"bleed_off_minutes": 2.5}, "got float"),
        ({"place_ids": []}, "the list is empty"),
        ({"place_ids": [0]}, "Invalid place id 0"),
        ({"attributes": ["a"]}, "give a JSON object"),
        ({"attributes": "{}"}, "give a JSON object"),
        ({"attributes": {"k": float("nan")}}, "no NaN"),
        ({"attributes": {1: "a"}}, "every key must be a string"),
        ({"attributes": {"a": [{2: "x"}]}}, "every key must be a string"),
        ({"attributes": {"k": object()}}, "every value JSON"),
        ({"attributes": {"k": "é" * 250}}, "508 bytes as JSON; Roblox allows at most 500"),
    ],
)
def test_bad_launch_input_is_one_line_before_any_request(
    kwargs: dict[str, Any], words: str
) -> None:
    client, adapter = canned_client()
    with pytest.raises(InvalidInputError) as info:
        client.launch_restart(**kwargs)
    assert words in str(info.value)
    assert "\n" not in str(info.value)
    assert adapter.sent == []


def test_attributes_count_compact_utf8_bytes() -> None:
    exactly = {"k": "é" * 246}  # {"k":""} is 8 bytes, each é two
    assert validate_attributes(exactly) == exactly
    assert validate_attributes({"t": (1, 2)}) == {"t": [1, 2]}
    assert validate_attributes(None) is None


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda c: c.restart_status(""), "Invalid restart id"),
        (lambda c: c.restart_status("a/b"), "Invalid restart id"),
        (lambda c: c.wait_for_restart("r", timeout=0), "Invalid timeout"),
        (lambda c: c.wait_for_restart("r", timeout=-1), "Invalid timeout"),
        (lambda c: c.wait_for_restart("r", timeout=float("inf")), "Invalid timeout"),
        (lambda c: c.wait_for_restart("r", timeout=10, interval=0), "Invalid interval"),
        (lambda c: c.forecast_restart([-3]), "Invalid place id"),
    ],
)
def test_bad_status_and_wait_input(call: Any, words: str) -> None:
    client, adapter = canned_client()
    with pytest.raises(InvalidInputError, match=words):
        call(client)
    assert adapter.sent == []


def test_a_timeout_says_what_is_still_running(fake_open_cloud: Any) -> None:
    fake: FakeOpenCloud = fake_open_cloud.fake
    uid = fake_open_cloud.universe_id
    client = client_for(fake_open_cloud, clock=fake.backend.clock, sleep=fake.advance)
    _servers(fake, uid)
    launched = client.launch_restart(bleed_off_minutes=10)
    with pytest.raises(RestartNotFinishedError) as info:
        client.wait_for_restart(launched.restart_id, timeout=60, interval=20)
    message = str(info.value)
    assert message == (
        f"Restart {launched.restart_id} of universe {uid} did not finish within 60 s: "
        f"place {A} DELAYING (2 servers, 30 players left); place {B} DELAYING (1 server, "
        "11 players left). It goes on; wait again with its id to follow it."
    )
    assert info.value.status.remaining_instances == 3


def test_an_unknown_restart_id_is_not_found(fake_open_cloud: Any) -> None:
    client = client_for(fake_open_cloud)
    with pytest.raises(NotFoundError, match="Roblox does not list it|does not list it"):
        client.restart_status("no-such-restart")


def test_403s_name_the_permission_and_the_legacy_restart(fake_open_cloud: Any) -> None:
    fake: FakeOpenCloud = fake_open_cloud.fake
    uid = fake_open_cloud.universe_id
    no_read = fake.add_api_key(universe_read=False)
    client = SecretsClient(uid, api_key=no_read.key, base_url=fake_open_cloud.url, rate_limit=None)
    with pytest.raises(PermissionDeniedError) as info:
        client.forecast_restart()
    message = str(info.value)
    assert message.startswith(f"Forecasting a restart in universe {uid} failed: Permission")
    assert "universe API system with read permission" in message
    assert "universe:read" in message and "restart_servers; --legacy" in message
    assert no_read.key not in message
    with pytest.raises(PermissionDeniedError, match="universe:read"):
        client.restart_status("x")
    no_write = fake.add_api_key(universe_write=False)
    client = SecretsClient(uid, api_key=no_write.key, base_url=fake_open_cloud.url, rate_limit=None)
    with pytest.raises(PermissionDeniedError, match="write permission.*universe:write") as info:
        client.launch_restart()
    assert "--legacy" not in str(info.value)  # the older endpoint needs write too


def test_a_400_hint_is_about_restarts() -> None:
    client, _ = canned_client(
        (400, {"status": 400, "detail": "place 5 is not a place of universe 123"}, {})
    )
    with pytest.raises(Exception) as info:
        client.launch_restart(place_ids=[5])
    assert "place 5 is not a place of universe 123" in str(info.value)
    assert "Check the place ids, the bleed-off (1-240 minutes) and the attributes." in str(
        info.value
    )


def test_a_launch_that_may_have_happened_is_never_sent_again(fake_open_cloud: Any) -> None:
    fake: FakeOpenCloud = fake_open_cloud.fake
    uid = fake_open_cloud.universe_id
    server = fake.start_server(uid, players=4)
    fake.inject_fault("launch_restart", drop_connection=True)
    client = client_for(fake_open_cloud, max_retries=3, sleep=lambda seconds: None)
    with pytest.raises(TransportError) as info:
        client.launch_restart()
    assert info.value.outcome_unknown
    assert "Look at the restarts" in str(info.value)
    assert [e.operation for e in fake.journal].count("launch_restart") == 1
    assert server.accepting_players
    client, adapter = canned_client(
        (503, {"status": 503, "detail": "busy"}, {}),
        (200, {"id": "r"}, {}),
        max_retries=3,
        sleep=lambda seconds: None,
        base_url="https://apis.roblox.com",  # not the fixture's RBX_OPEN_CLOUD_URL
    )
    with pytest.raises(ServerError) as failed:
        client.launch_restart()
    assert failed.value.outcome_unknown and len(adapter.sent) == 1


def test_reads_are_retried_and_a_429_launch_is_retried() -> None:
    client, adapter = canned_client(
        (503, {}, {}),
        (200, {"placeForecasts": None}, {}),
        (429, {"status": 429}, {"Retry-After": "1"}),
        (200, {"id": "r"}, {}),
        max_retries=3,
        sleep=lambda seconds: None,
    )
    assert client.forecast_restart().places == ()
    assert client.launch_restart().restart_id == "r"
    assert len(adapter.sent) == 4


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"placeForecasts": []},
        {"placeForecasts": {"abc": {}}},
        {"placeForecasts": {"1": {"playersImpacted": "3"}}},
        {"placeForecasts": {"1": {"playersImpacted": -1}}},
        {"placeForecasts": {"1": {"playersPerVersion": {"1": True}}}},
    ],
)
def test_odd_forecasts_are_unexpected_answers(body: Any) -> None:
    client, _ = canned_client((200, body, {}))
    with pytest.raises(UnexpectedAnswerError):
        client.forecast_restart()


@pytest.mark.parametrize(
    "body",
    [
        {"restartStatuses": {"r": {"placeRestartStatuses": {"1": {"state": "DONE"}}}}},
        {"restartStatuses": {"r": []}},
        {"restartStatuses": {"r": {"placeRestartStatuses": {"1": []}}}},
    ],
)
def test_odd_statuses_are_unexpected_answers(body: Any) -> None:
    client, _ = canned_client((200, body, {}))
    with pytest.raises(UnexpectedAnswerError):
        client.restart_status("r")


def test_a_launch_answer_without_an_id_is_unexpected_and_unknown() -> None:
    client, _ = canned_client((200, {"playersImpacted": 3}, {}))
    with pytest.raises(UnexpectedAnswerError) as info:
        client.launch_restart()
    assert info.value.outcome_unknown


def test_server_management_has_its_own_bucket_shared_by_siblings() -> None:
    clock = VirtualClock()
    fake = FakeOpenCloud(clock=clock, rate_limit=(120, 60))
    universes = [fake.add_universe().universe_id for _ in range(2)]
    key = fake.add_api_key()
    session = requests.Session()
    fake.mount(session)
    shared = Pacer(clock=clock, sleep=clock.sleep)
    clients = [
        SecretsClient(
            u, api_key=key.key, session=session, pacer=shared, clock=clock, sleep=clock.sleep
        )
        for u in universes
    ]
    start = clock.now
    for turn in range(SERVER_MANAGEMENT_RATE_LIMIT[0] + 10):
        clients[turn % 2].forecast_restart()
    # 100 at once, then one every 0.6 s: the fake's 100/min bucket never refused one.
    assert clock.now - start == pytest.approx(6.0, abs=0.01)
    assert {e.status for e in fake.journal} == {200}
    # The secrets store's bucket and the legacy restart's are untouched.
    before = clock.now
    clients[0].set("A", "v")
    clients[0].restart_servers()
    assert clock.now == before
