"""The fake's ``:restartServers`` endpoint and game servers, through its WSGI app.

Every answer is checked by ``call_app`` (ProblemDetails against the secrets store's schema);
success answers are also validated here against Roblox's published schema of the operation
(``data/universes-restart-servers.v2.json``, copied unchanged from shared/reference).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

from fakeserver import FakeOpenCloud, GameServerError
from tests.fakeserver.support import (
    FakeClock,
    Response,
    WsgiClient,
    call_app,
    openapi_to_jsonschema,
    seal,
)

REFERENCE = Path(__file__).resolve().parent / "data" / "universes-restart-servers.v2.json"
PATH = "/cloud/v2/universes/{}:restartServers"
URL = "https://api.example.com/v1"


def _validator(name: str) -> Draft202012Validator:
    document = json.loads(REFERENCE.read_text(encoding="utf-8"))
    components = openapi_to_jsonschema(document["components"])
    schema = {"components": components, "$ref": f"#/components/schemas/{name}"}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


REQUEST_SCHEMA = _validator("RestartUniverseServersRequest")
RESPONSE_SCHEMA = _validator("RestartUniverseServersResponse")


def restart(
    fake: FakeOpenCloud,
    universe_id: int | str,
    headers: dict[str, str],
    body: Any = None,
    *,
    raw: bytes | None = None,
) -> Response:
    data = raw if raw is not None else json.dumps({} if body is None else body).encode()
    response = call_app(fake, "POST", PATH.format(universe_id), body=data, headers=headers)
    if response.status == 200:
        RESPONSE_SCHEMA.validate(response.json)
        assert response.json == {}
    return response


@pytest.fixture
def setup(clock: FakeClock) -> tuple[FakeOpenCloud, int, dict[str, str]]:
    fake = FakeOpenCloud(clock=clock)
    uid = fake.add_universe().universe_id
    fake.put_secret(uid, "API_KEY", "v1", domain="api.example.com")
    return fake, uid, fake.add_api_key().headers


def sends(server: Any) -> str:
    sent = server.http_request(URL, headers={"x-api-key": server.get_secret("API_KEY")})
    return str(sent.headers["x-api-key"])


# The SHA-256 of Roblox's published file as copied; checked in every clone, not skipped.
REFERENCE_SHA256 = "2c4d67f701cf07c383d1acf717986eef18157777edf3c6428eab1ba8a3d8b537"


def test_the_reference_copy_is_the_published_file() -> None:
    # Development checkouts sit next to ../shared; a plain clone checks the pinned digest
    # alone: either way the copy cannot drift unnoticed.
    assert hashlib.sha256(REFERENCE.read_bytes()).hexdigest() == REFERENCE_SHA256
    shared = Path(__file__).resolve().parents[3] / "shared" / "reference" / REFERENCE.name
    if shared.is_file():
        assert REFERENCE.read_bytes() == shared.read_bytes()


def test_the_response_validator_really_checks() -> None:
    with pytest.raises(ValidationError):
        RESPONSE_SCHEMA.validate([])
    with pytest.raises(ValidationError):
        REQUEST_SCHEMA.validate({"placeIds": ["1"]})


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"closeAllVersions": True},
        {"closeAllVersions": True, "bleedOffServers": True, "bleedOffDurationMinutes": 10},
        {"placeIds": [1, 2], "closeAllVersions": False},
    ],
)
def test_valid_bodies_are_answered_200_empty(setup: Any, body: dict[str, Any]) -> None:
    fake, uid, headers = setup
    REQUEST_SCHEMA.validate(body)
    assert restart(fake, uid, headers, body).status == 200


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"closeAllVersions": True, "force": True}, "unknown field 'force'"),
        ({"bleedOffServers": True, "bleedOffDurationMinutes": 0}, "from 1 to 60"),
        ({"bleedOffServers": True, "bleedOffDurationMinutes": 61}, "from 1 to 60"),
        ({"placeIds": ["123"]}, "must hold only integers"),
        ({"placeIds": [1.5]}, "must hold only integers"),
        ({"closeAllVersions": "yes"}, "must be true or false"),
    ],
)
def test_bad_bodies_are_400_and_restart_nothing(
    setup: Any, body: dict[str, Any], detail: str
) -> None:
    fake, uid, headers = setup
    server = fake.start_server(uid)
    response = restart(fake, uid, headers, body)
    assert response.status == 400
    assert detail in response.json["detail"]
    assert response.json["instance"] == PATH.format(uid)
    assert fake.servers(uid) == [server] and server.accepting_players


@pytest.mark.parametrize(
    ("raw", "detail"),
    [(b"", "must be a JSON object"), (b"[]", "must be a JSON object"), (b"{", "not valid JSON")],
)
def test_the_body_is_required_and_must_be_an_object(setup: Any, raw: bytes, detail: str) -> None:
    fake, uid, headers = setup
    response = restart(fake, uid, headers, raw=raw)
    assert (response.status, detail in response.json["detail"]) == (400, True)


def test_order_of_checks(setup: Any) -> None:
    fake, uid, headers = setup
    assert restart(fake, uid, {"x-api-key": "nope"}, {"bad": 1}).status == 401
    assert restart(fake, "abc", headers, {"bad": 1}).status == 400
    assert restart(fake, 12345, headers, {"bad": 1}).status == 403
    get = call_app(fake, "GET", PATH.format(uid), headers=headers)
    assert (get.status, get.header("Allow")) == (405, "POST")


def test_permission_api_keys_have_it_unless_made_without(setup: Any) -> None:
    fake, uid, _ = setup
    without = fake.add_api_key(universe_write=False)
    assert without.universe_write is False
    response = restart(fake, uid, without.headers, {"closeAllVersions": True})
    assert response.status == 403
    assert response.json["detail"] == (
        "the credential lacks write permission on the universe API system (scope universe:write)"
    )
    # The secret-store permissions are separate: this key still writes secrets.
    assert WsgiClient(fake, uid, without.headers).create("B", "x").status == 201
    read_only = fake.add_api_key(read=True, write=False)
    assert restart(fake, uid, read_only.headers).status == 200
    limited = fake.add_api_key(universe_ids=[uid + 1])
    assert restart(fake, uid, limited.headers).status == 403


def test_permission_oauth_tokens_need_the_universe_write_scope(setup: Any) -> None:
    fake, uid, _ = setup
    secrets_only = fake.add_oauth_token()
    assert restart(fake, uid, secrets_only.headers).status == 403
    universe = fake.add_oauth_token(scopes=["universe:write"])
    assert restart(fake, uid, universe.headers).status == 200
    # ... and universe:write alone does not reach the secrets store.
    assert WsgiClient(fake, uid, universe.headers).list().status == 403


def test_restart_has_its_own_30_per_minute_bucket(setup: Any, clock: FakeClock) -> None:
    fake, uid, headers = setup
    fake.set_rate_limit(2, 60)
    client = WsgiClient(fake, uid, headers)
    for _ in range(30):
        response = restart(fake, uid, headers)
        assert response.status == 200
    assert response.header("x-ratelimit-limit") == "30, 30;w=60"
    refused = restart(fake, uid, headers)
    assert refused.status == 429
    assert refused.header("Retry-After") == "2"
    assert "rate limit of 30 requests per 60 seconds" in refused.json["detail"]
    # The secrets store's bucket is untouched by all that, and the reverse.
    assert [client.list().status for _ in range(3)] == [200, 200, 429]
    clock.advance(2)
    assert restart(fake, uid, headers).status == 200
    fake.set_rate_limit(None)
    assert all(restart(fake, uid, headers).status == 200 for _ in range(40))


def test_advance_moves_the_one_clock(setup: Any) -> None:
    fake, uid, headers = setup
    client = WsgiClient(fake, uid, headers)
    fake.set_rate_limit(1, 10)
    assert [client.list().status, client.list().status] == [200, 429]
    fake.advance(10)
    assert client.list().status == 200
    fake.set_rate_limit(None)
    old_key, old_public = client.key()
    fake.rotate_key(uid, grace_seconds=30)
    body = {"secret": seal("v3", old_public), "key_id": old_key}
    fake.advance(29.5)
    assert client.request("PATCH", f"{client.base}/API_KEY", body).status == 200
    fake.advance(0.5)
    assert client.request("PATCH", f"{client.base}/API_KEY", body).status == 400
    with pytest.raises(ValueError, match="only moves forward"):
        fake.advance(-1)


def test_the_trap_restart_after_a_secrets_only_change_restarts_nothing(setup: Any) -> None:
    fake, uid, headers = setup
    server = fake.start_server(uid)
    assert WsgiClient(fake, uid, headers).update("API_KEY", "v2").status == 200
    assert restart(fake, uid, headers, {}).status == 200
    assert fake.servers(uid) == [server]
    assert sends(server) == "v1"
    assert sends(fake.start_server(uid)) == "v2"


def test_restart_after_publish_replaces_servers_on_the_older_version(setup: Any) -> None:
    fake, uid, headers = setup
    old = fake.start_server(uid)
    fake.put_secret(uid, "API_KEY", "v2", domain="api.example.com")
    assert fake.publish_place(uid) == 2
    assert restart(fake, uid, headers, {}).status == 200
    (new,) = fake.servers(uid)
    assert not old.running and new is not old
    assert (new.place_id, new.place_version) == (old.place_id, 2)
    assert sends(new) == "v2"


def test_close_all_versions_with_bleed_off(setup: Any, clock: FakeClock) -> None:
    fake, uid, headers = setup
    old = fake.start_server(uid)
    other_place = fake.start_server(uid, place_id=77)
    fake.put_secret(uid, "API_KEY", "v2", domain="api.example.com")
    body = {
        "placeIds": [old.place_id],
        "closeAllVersions": True,
        "bleedOffServers": True,
        "bleedOffDurationMinutes": 5,
    }
    assert restart(fake, uid, headers, body).status == 200
    servers = fake.servers(uid)
    assert servers[:2] == [old, other_place] and len(servers) == 3
    assert (old.state, other_place.state) == ("draining", "running")
    assert [sends(s) for s in servers] == ["v1", "v1", "v2"]
    clock.advance(299)
    assert old.running
    fake.advance(1)
    assert fake.servers(uid) == servers[1:]
    with pytest.raises(GameServerError, match="has shut down"):
        sends(old)


def test_the_journal_records_the_restart_without_values(setup: Any) -> None:
    fake, uid, headers = setup
    fake.clear_journal()
    restart(fake, uid, headers, {"closeAllVersions": True})
    (entry,) = fake.journal
    assert (entry.operation, entry.status, entry.credential_id) == (
        "restart_servers",
        200,
        "apikey-1",
    )
    assert "v1" not in repr(fake.journal)


def test_faults_can_target_restarts(setup: Any) -> None:
    fake, uid, headers = setup
    server = fake.start_server(uid)
    fake.inject_fault("restart_servers", status=503)
    assert restart(fake, uid, headers, {"closeAllVersions": True}).status == 503
    assert server.accepting_players
    assert restart(fake, uid, headers, {"closeAllVersions": True}).status == 200
    assert not server.running


def test_reset_drops_servers_and_restarts_place_ids(setup: Any) -> None:
    fake, uid, _ = setup
    first = fake.universe(uid).start_place_id
    fake.start_server(uid)
    fake.reset()
    again = fake.add_universe(uid)
    assert again.start_place_id == first
    assert fake.servers(uid) == []


def test_start_server_errors(setup: Any) -> None:
    fake, uid, _ = setup
    with pytest.raises(KeyError):
        fake.start_server(uid + 1)
    with pytest.raises(ValueError, match="positive integer"):
        fake.start_server(uid, place_id=0)
