"""SecretsClient.restart_servers: what it sends, what it refuses, its pacing, and a rollout.

The rollout runs against fakeserver's game servers: a server started before an update keeps
sending the old value; after set() and restart_servers() a new server sends the new one; and
the same restart sent by hand with ``closeAllVersions: false`` restarts nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from fakeserver import FakeOpenCloud
from rbxsecrets_magic.errors import (
    InvalidInputError,
    PermissionDeniedError,
    ServerError,
    TransportError,
)
from rbxsecrets_magic.opencloud.client import RESTART_RATE_LIMIT, SecretsClient
from rbxsecrets_magic.opencloud.pacing import Pacer
from tests.rbxsecrets_magic.support import VirtualClock, canned_client, client_for

URL = "https://api.example.com/v1/charge"


def _sent_bodies(adapter: Any) -> list[Any]:
    return [json.loads(request.body) for request in adapter.sent]


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({}, {"closeAllVersions": True}),
        (
            {"bleed_off_minutes": 10},
            {"closeAllVersions": True, "bleedOffServers": True, "bleedOffDurationMinutes": 10},
        ),
        ({"place_ids": [5, "6", 5]}, {"closeAllVersions": True, "placeIds": [5, 6]}),
        (
            {"place_ids": (7,), "bleed_off_minutes": 60},
            {
                "closeAllVersions": True,
                "placeIds": [7],
                "bleedOffServers": True,
                "bleedOffDurationMinutes": 60,
            },
        ),
    ],
)
def test_sends_close_all_versions_and_the_options(kwargs: dict[str, Any], body: Any) -> None:
    client, adapter = canned_client((200, {}, {}))
    assert client.restart_servers(**kwargs) is None
    (request,) = adapter.sent
    assert (request.method, request.url) == (
        "POST",
        "https://apis.roblox.com/cloud/v2/universes/123:restartServers",
    )
    assert _sent_bodies(adapter) == [body]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"bleed_off_minutes": 0}, "0 minutes is not a bleed-off"),
        ({"bleed_off_minutes": 61}, "Roblox allows 1 to 60 minutes"),
        ({"bleed_off_minutes": -1}, "Roblox allows 1 to 60 minutes"),
        ({"bleed_off_minutes": 1.5}, "got float"),
        ({"bleed_off_minutes": True}, "got bool"),
        ({"place_ids": []}, "the list is empty"),
        ({"place_ids": "123"}, "give a list of place ids"),
        ({"place_ids": [0]}, "Invalid place id 0"),
        ({"place_ids": ["12a"]}, "Invalid place id '12a'"),
        ({"place_ids": [1.0]}, "got float"),
        ({"place_ids": [2**63]}, "positive whole number"),
        (
            {"place_ids": [True]},
            "Invalid place id: got a bool; a place id is a positive whole number (the place's ID).",
        ),
    ],
)
def test_bad_input_is_one_line_before_any_request(kwargs: dict[str, Any], words: str) -> None:
    client, adapter = canned_client()
    with pytest.raises(InvalidInputError) as info:
        client.restart_servers(**kwargs)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert adapter.sent == []


def test_place_ids_as_ints_or_digit_strings_without_duplicates() -> None:
    from rbxsecrets_magic.opencloud.validation import validate_place_ids

    assert validate_place_ids([5, " 7 ", 5, "7"]) == (5, 7)
    assert validate_place_ids(None) is None


def test_403_names_the_universe_write_permission(fake_open_cloud: Any) -> None:
    key = fake_open_cloud.fake.add_api_key(universe_write=False)
    client = SecretsClient(
        fake_open_cloud.universe_id,
        api_key=key.key,
        base_url=fake_open_cloud.url,
        rate_limit=None,
    )
    with pytest.raises(PermissionDeniedError) as info:
        client.restart_servers()
    message = str(info.value)
    assert message.startswith(
        f"Restarting the servers of universe {fake_open_cloud.universe_id} failed: "
        "Permission denied (HTTP 403: "
    )
    assert "universe API system with write permission, not the secret-store one" in message
    assert "universe:write" in message
    assert key.key not in message


def test_a_5xx_is_not_retried_and_says_the_outcome_is_unknown() -> None:
    client, adapter = canned_client(
        (503, {"status": "503", "detail": "busy"}, {}),
        (200, {}, {}),
        max_retries=3,
        sleep=lambda seconds: None,
    )
    with pytest.raises(ServerError) as info:
        client.restart_servers()
    # A retry could restart the servers that replaced the first round: one attempt only.
    assert len(adapter.sent) == 1
    assert info.value.outcome_unknown
    assert "may or may not have been made" in str(info.value)


def test_a_lost_answer_is_not_retried(fake_open_cloud: Any) -> None:
    fake: FakeOpenCloud = fake_open_cloud.fake
    server = fake.start_server(fake_open_cloud.universe_id)
    fake.inject_fault("restart_servers", drop_connection=True)
    client = client_for(fake_open_cloud, max_retries=3, sleep=lambda seconds: None)
    with pytest.raises(TransportError) as info:
        client.restart_servers()
    assert info.value.outcome_unknown
    assert [e.operation for e in fake.journal].count("restart_servers") == 1
    assert server.accepting_players


def test_a_429_is_waited_out_and_retried() -> None:
    client, adapter = canned_client(
        (429, {"status": "429", "detail": "slow down"}, {"Retry-After": "1"}),
        (200, {}, {}),
        max_retries=3,
        sleep=lambda seconds: None,
    )
    client.restart_servers()
    assert len(adapter.sent) == 2


def test_secret_writes_are_still_retried_after_a_5xx() -> None:
    client, adapter = canned_client(
        (503, {}, {}),
        (200, {}, {}),
        max_retries=3,
        sleep=lambda seconds: None,
    )
    client.delete("A")
    assert len(adapter.sent) == 2


def test_restarts_are_paced_by_their_own_bucket() -> None:
    clock = VirtualClock()
    fake = FakeOpenCloud(clock=clock, rate_limit=(120, 60))
    uid = fake.add_universe().universe_id
    key = fake.add_api_key()
    session = requests.Session()
    fake.mount(session)
    client = SecretsClient(uid, api_key=key.key, session=session, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(RESTART_RATE_LIMIT[0] + 5):
        client.restart_servers()
    # 30 at once, then one every 2 s: the fake's 30/min bucket never had to refuse one.
    assert clock.now - start == pytest.approx(10.0, abs=0.01)
    # The secret-store calls draw from the other bucket and are not held back.
    before = clock.now
    client.set("A", "v")
    assert clock.now == before
    assert {e.status for e in fake.journal} <= {200, 201}
    assert sum(e.operation == "restart_servers" for e in fake.journal) == 35


def test_clients_sharing_a_pacer_share_the_restart_bucket() -> None:
    # Roblox's restart limit is per key owner, like the secret-store one: clients for two
    # universes with one key and one pacer must stay within 30/min together.
    clock = VirtualClock()
    fake = FakeOpenCloud(clock=clock, rate_limit=(120, 60))
    universes = [fake.add_universe().universe_id for _ in range(2)]
    key = fake.add_api_key()
    session = requests.Session()
    fake.mount(session)
    shared = Pacer(clock=clock, sleep=clock.sleep)
    clients = [
        SecretsClient(
            uid, api_key=key.key, session=session, pacer=shared, clock=clock, sleep=clock.sleep
        )
        for uid in universes
    ]
    start = clock.now
    for turn in range(RESTART_RATE_LIMIT[0] + 5):
        clients[turn % 2].restart_servers()
    # One bucket for both: 30 at once, then one every 2 s, and the fake never refused one.
    assert clock.now - start == pytest.approx(10.0, abs=0.01)
    restarts = [e for e in fake.journal if e.operation == "restart_servers"]
    assert len(restarts) == 35 and {e.status for e in restarts} == {200}
    # A client with a pacer of its own still has a restart bucket of its own.
    alone = SecretsClient(
        universes[0],
        api_key=fake.add_api_key().key,
        session=session,
        clock=clock,
        sleep=clock.sleep,
    )
    before = clock.now
    alone.restart_servers()
    assert clock.now == before


def test_full_rollout_against_the_fake(fake_open_cloud: Any) -> None:
    fake: FakeOpenCloud = fake_open_cloud.fake
    uid = fake_open_cloud.universe_id
    client = client_for(fake_open_cloud)
    client.set("PAYMENTS_KEY", "old-value", domain="api.example.com")

    def sends(server: Any) -> str:
        token = server.get_secret("PAYMENTS_KEY").add_prefix("Bearer ")
        return str(server.http_request(URL, {"Authorization": token}).headers["Authorization"])

    before = fake.start_server(uid)
    client.set("PAYMENTS_KEY", "new-value")
    # Updated in the store, but the running server started with the old one.
    assert fake.plaintext(uid, "PAYMENTS_KEY") == "new-value"
    assert sends(before) == "Bearer old-value"

    # The trap: the same restart without closeAllVersions, sent by hand, restarts nothing.
    answer = requests.post(
        f"{fake_open_cloud.url}/cloud/v2/universes/{uid}:restartServers",
        json={"closeAllVersions": False, "bleedOffServers": True, "bleedOffDurationMinutes": 5},
        headers=fake_open_cloud.headers,
        timeout=10,
    )
    assert (answer.status_code, answer.json()) == (200, {})
    assert fake.servers(uid) == [before] and before.accepting_players
    assert sends(before) == "Bearer old-value"

    client.restart_servers(bleed_off_minutes=5)
    draining, replacement = fake.servers(uid)
    assert draining is before and not before.accepting_players
    assert sends(before) == "Bearer old-value"  # still up for its players until the deadline
    assert sends(replacement) == "Bearer new-value"
    assert sends(fake.start_server(uid)) == "Bearer new-value"
    fake.advance(5 * 60)
    assert not before.running
    assert before not in fake.servers(uid)
