"""The fake's Server Management v1 operations (forecast, launch, status) through its WSGI app.

Every answer ``call_app`` returns on these paths has been validated against Roblox's published
schemas (``data/server-management.v1.json``, copied unchanged from shared/reference): the
three success shapes, and ProblemDetails with an integer ``status`` for every error.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import ValidationError

from fakeserver import FakeOpenCloud
from fakeserver.backend.occupancy import RestartScheduled
from tests.fakeserver.support import (
    SERVER_MANAGEMENT_FILE,
    SM_VALIDATORS,
    FakeClock,
    Response,
    call_app,
)

PLACE_A = 1818
PLACE_B = 1819
URL = "https://api.example.com/v1"
# The SHA-256 of Roblox's file as copied; checked in every clone, not skipped.
REFERENCE_SHA256 = "612453c5f20b2027548844628ef74a9a33f42d2caadc3ccfb26009a807285c91"


class Api:
    """The three operations of one universe, with one credential, through the WSGI app."""

    def __init__(self, fake: FakeOpenCloud, universe_id: int | str, headers: dict[str, str]):
        self.fake = fake
        self.base = f"/server-management/v1/universes/{universe_id}/restarts"
        self.headers = headers

    def forecast(self) -> Response:
        return call_app(self.fake, "GET", f"{self.base}:forecast", headers=self.headers)

    def launch(self, body: Any = None, *, raw: bytes | None = None) -> Response:
        data = raw if raw is not None else json.dumps({} if body is None else body).encode()
        return call_app(self.fake, "POST", self.base, body=data, headers=self.headers)

    def statuses(self) -> Response:
        return call_app(self.fake, "GET", self.base, headers=self.headers)

    def status(self, restart_id: str) -> dict[str, Any]:
        response = self.statuses()
        assert response.status == 200
        found: dict[str, Any] = response.json["restartStatuses"][restart_id]
        return found

    def states(self, restart_id: str) -> dict[int, str]:
        places = self.status(restart_id)["placeRestartStatuses"]
        return {int(place): status["state"] for place, status in places.items()}


@pytest.fixture
def fake(clock: FakeClock) -> FakeOpenCloud:
    return FakeOpenCloud(clock=clock)


@pytest.fixture
def setup(fake: FakeOpenCloud) -> tuple[FakeOpenCloud, int, Api]:
    uid = fake.add_universe(111).universe_id
    fake.put_secret(uid, "API_KEY", "v1", domain="api.example.com")
    return fake, uid, Api(fake, uid, fake.add_api_key().headers)


def sends(server: Any) -> str:
    sent = server.http_request(URL, headers={"x-api-key": server.get_secret("API_KEY")})
    return str(sent.headers["x-api-key"])


def three_servers(fake: FakeOpenCloud, uid: int) -> list[Any]:
    return [
        fake.start_server(uid, PLACE_A, players=20),
        fake.start_server(uid, PLACE_A, players=10),
        fake.start_server(uid, PLACE_B, players=11),
    ]


def test_the_reference_copy_is_the_published_file() -> None:
    assert hashlib.sha256(SERVER_MANAGEMENT_FILE.read_bytes()).hexdigest() == REFERENCE_SHA256
    shared = Path(__file__).resolve().parents[3] / "shared" / "reference"
    shared_copy = shared / SERVER_MANAGEMENT_FILE.name
    if shared_copy.is_file():
        assert SERVER_MANAGEMENT_FILE.read_bytes() == shared_copy.read_bytes()


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("ForecastRestartResponse", {"placeForecasts": {"1": {"playersImpacted": "3"}}}),
        ("ForecastRestartResponse", {"placeForecasts": {"1": {"players": 3}}}),
        ("LaunchRestartResponse", {"id": 5}),
        ("ListRestartStatusesResponse", {"restartStatuses": {"x": {"state": "DONE"}}}),
        (
            "ListRestartStatusesResponse",
            {"restartStatuses": {"x": {"placeRestartStatuses": {"1": {"state": "DONE"}}}}},
        ),
        ("ServerManagementService.ProblemDetails", {"status": "400"}),
    ],
)
def test_the_validators_really_check(schema: str, body: Any) -> None:
    with pytest.raises(ValidationError):
        SM_VALIDATORS[schema].validate(body)


def test_a_rollout_forecast_launch_and_watch(setup: Any, clock: FakeClock) -> None:
    fake, uid, api = setup
    old = three_servers(fake, uid)
    heard: list[RestartScheduled] = []
    old[0].on_restart_scheduled(heard.append)
    forecast = api.forecast().json["placeForecasts"]
    assert {
        place: (f["playersImpacted"], f["instancesImpacted"]) for place, f in forecast.items()
    } == {
        str(PLACE_A): (30, 2),
        str(PLACE_B): (11, 1),
    }
    fake.put_secret(uid, "API_KEY", "v2", domain="api.example.com")
    launched = api.launch({"bleedOffDurationMinutes": 5, "attributes": {"reason": "rotation"}})
    assert launched.status == 200
    restart_id = launched.json["id"]
    assert (launched.json["playersImpacted"], launched.json["instancesImpacted"]) == (41, 3)
    # Every old server was told, with the time it will close, the source and the attributes.
    notice = old[1].restart_scheduled
    assert notice is not None and heard == [notice]
    assert (notice.source, dict(notice.attributes)) == ("DeveloperUpdate", {"reason": "rotation"})
    status = api.status(restart_id)
    assert notice.restart_time == pytest.approx(_unix(status["startTime"]), abs=0.001)
    assert _unix(status["startTime"]) - _unix(status["scheduledTime"]) == pytest.approx(300)
    assert all(s.restart_scheduled == notice for s in old)
    assert api.states(restart_id) == {PLACE_A: "DELAYING", PLACE_B: "DELAYING"}
    assert [sends(s) for s in old] == ["v1", "v1", "v1"]
    assert all(s.state == "draining" for s in old)

    clock.advance(300)
    status = api.status(restart_id)["placeRestartStatuses"]
    assert status[str(PLACE_A)]["state"] == "RESTARTING"
    assert (status[str(PLACE_A)]["totalPlayers"], status[str(PLACE_A)]["remainingPlayers"]) == (
        30,
        0,
    )
    assert api.states(restart_id) == {PLACE_A: "SUCCEEDED", PLACE_B: "SUCCEEDED"}
    # Old servers are gone; their replacements have the new value and the players.
    assert not any(s.running for s in old)
    new = fake.servers(uid)
    assert [sends(s) for s in new] == ["v2", "v2", "v2"]
    assert sorted(s.players for s in new) == [10, 11, 20]
    assert all(s.restart_scheduled is None for s in new)
    assert api.status(restart_id)["placeRestartStatuses"][str(PLACE_B)]["endTime"]


def _unix(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_a_listener_may_call_the_fake(setup: Any) -> None:
    fake, uid, api = setup
    server = fake.start_server(uid, players=1)
    seen: list[int] = []
    server.on_restart_scheduled(lambda notice: seen.append(len(fake.servers(uid))))
    disconnected = fake.start_server(uid)
    disconnect = disconnected.on_restart_scheduled(lambda notice: seen.append(-1))
    disconnect()
    assert api.launch({"bleedOffDurationMinutes": 1}).status == 200
    assert seen == [4]


@pytest.mark.parametrize(
    "body",
    [
        {"bleedOffDurationMinutes": 0},
        {"bleedOffDurationMinutes": 241},
        {"bleedOffServers": True},
        {"places": {"1818": {"versions": [1], "excludeCurrentVersion": True}}},
        {"places": {"nope": {}}},
        {"places": {"424242": {}}},
        {"attributes": ["a"]},
        {"attributes": {"k": "é" * 250}},
    ],
)
def test_bad_launches_are_400_with_an_integer_status_and_restart_nothing(
    setup: Any, body: Any
) -> None:
    fake, uid, api = setup
    servers = three_servers(fake, uid)
    response = api.launch(body)
    assert response.status == 400
    assert response.json["status"] == 400
    assert all(s.accepting_players and s.restart_scheduled is None for s in servers)
    assert api.statuses().json == {"restartStatuses": {}}


def test_malformed_json_is_a_400(setup: Any) -> None:
    _fake, _uid, api = setup
    assert api.launch(raw=b"{nope").status == 400
    assert api.launch(raw=b"").status == 400


def test_scopes_universe_read_for_forecast_and_status_universe_write_for_launch(
    setup: Any,
) -> None:
    fake, uid, _api = setup
    no_read = Api(fake, uid, fake.add_api_key(universe_read=False).headers)
    assert (no_read.forecast().status, no_read.statuses().status) == (403, 403)
    assert "universe:read" in no_read.forecast().json["detail"]
    assert no_read.launch().status == 200
    no_write = Api(fake, uid, fake.add_api_key(universe_write=False).headers)
    assert (no_write.forecast().status, no_write.statuses().status) == (200, 200)
    refused = no_write.launch()
    assert refused.status == 403 and "universe:write" in refused.json["detail"]
    secrets_only = Api(fake, uid, fake.add_oauth_token().headers)
    assert secrets_only.forecast().status == 403
    reader = Api(fake, uid, fake.add_oauth_token(scopes=["universe:read"]).headers)
    assert (reader.forecast().status, reader.launch().status) == (200, 403)
    writer = Api(fake, uid, fake.add_oauth_token(scopes=["universe:write"]).headers)
    assert (writer.forecast().status, writer.launch().status) == (403, 200)
    other = Api(fake, uid, fake.add_api_key(universe_ids=[uid + 1]).headers)
    assert other.forecast().status == 403


def test_the_order_of_checks(setup: Any) -> None:
    fake, uid, _api = setup
    assert Api(fake, uid, {"x-api-key": "nope"}).launch({"bad": 1}).status == 401
    key = fake.add_api_key().headers
    not_numeric = Api(fake, "abc", key).forecast()
    assert (not_numeric.status, not_numeric.json["status"]) == (400, 400)
    assert Api(fake, 12345, key).launch({"bad": 1}).status == 403
    wrong_method = call_app(fake, "DELETE", f"/server-management/v1/universes/{uid}/restarts")
    assert (wrong_method.status, wrong_method.header("Allow")) == (405, "GET, POST")
    assert wrong_method.json["status"] == 405


def test_a_bucket_of_100_per_minute_of_its_own(setup: Any, clock: FakeClock) -> None:
    fake, uid, api = setup
    fake.set_rate_limit(120, 60)
    calls = [api.forecast, api.statuses, api.launch]
    for i in range(100):
        response = calls[i % 3]()
        assert response.status == 200, i
    assert response.header("x-ratelimit-limit") == "100, 100;w=60"
    refused = api.forecast()
    assert refused.status == 429 and refused.json["status"] == 429
    assert refused.header("Retry-After") == "1"
    # The secrets store's bucket is untouched, and the legacy restart has its own.
    secrets_list = call_app(fake, "GET", f"/cloud/v2/universes/{uid}/secrets", headers=api.headers)
    assert secrets_list.status == 200
    assert secrets_list.header("x-ratelimit-remaining") == "119"
    clock.advance(0.6)
    assert api.forecast().status == 200


def test_faults_and_the_journal_know_the_operations(setup: Any) -> None:
    fake, uid, api = setup
    fake.inject_fault("launch_restart", status=503)
    failed = api.launch()
    assert (failed.status, failed.json["status"]) == (503, 503)
    assert api.launch().status == 200
    operations = [entry.operation for entry in fake.journal]
    assert operations == ["launch_restart", "launch_restart"]
    api.forecast()
    api.statuses()
    assert [e.operation for e in fake.journal][-2:] == ["forecast_restart", "list_restarts"]


def test_the_oracle_starts_servers_with_players() -> None:
    import requests

    fake = FakeOpenCloud(expose_plaintext=True)
    uid = fake.add_universe().universe_id
    key = fake.add_api_key().headers
    session = requests.Session()
    fake.mount(session)
    path = f"https://apis.roblox.com/_fake/universes/{uid}/servers"
    started = session.post(path, json={"placeId": 5, "players": 7}, headers=key)
    assert started.status_code == 201
    assert (started.json()["players"], started.json()["restartScheduled"]) == (7, None)
    assert session.post(path, json={"players": -1}, headers=key).status_code == 400
    assert session.post(path, json={"players": True}, headers=key).status_code == 400
    assert Api(fake, uid, key).launch({"bleedOffDurationMinutes": 2, "attributes": {"a": 1}})
    listed = session.get(path, headers=key).json()["servers"]
    assert listed[0]["restartScheduled"]["source"] == "DeveloperUpdate"
    assert listed[0]["restartScheduled"]["attributes"] == {"a": 1}
    assert (listed[0]["state"], listed[1]["players"]) == ("draining", 0)


def test_a_bleed_off_launch_replaces_servers_at_the_cap(setup: Any) -> None:
    # The cap limits servers a test starts, not the replacements a restart brings up while
    # the old ones drain: with a bleed-off both run for a while.
    from fakeserver.backend.fleet import MAX_GAME_SERVERS

    fake, uid, api = setup
    old = [fake.start_server(uid) for _ in range(MAX_GAME_SERVERS)]
    launched = api.launch({"bleedOffDurationMinutes": 1})
    assert launched.status == 200
    assert launched.json["instancesImpacted"] == MAX_GAME_SERVERS
    assert len(fake.servers(uid)) == 2 * MAX_GAME_SERVERS
    legacy = call_app(
        fake,
        "POST",
        f"/cloud/v2/universes/{uid}:restartServers",
        body=b'{"closeAllVersions": true, "bleedOffServers": true, "bleedOffDurationMinutes": 1}',
        headers=api.headers,
    )
    assert legacy.status == 200
    fake.advance(60)
    assert not any(s.running for s in old)
    assert len(fake.servers(uid)) == MAX_GAME_SERVERS
