"""Game servers started through the fake are capped, as its secrets and connections are.

Each server holds a copy of its universe's secrets, so ``POST /_fake/universes/{u}/servers``
without a cap let any holder of the key grow the fake without bound (3,000 servers took it from
25 to 153 MiB). Beyond ``MAX_GAME_SERVERS`` a start is refused in one clear line.
"""

from __future__ import annotations

import pytest
import requests

from fakeserver import FakeOpenCloud
from fakeserver.backend.fleet import MAX_GAME_SERVERS


def test_starts_beyond_the_cap_are_refused_over_http() -> None:
    fake = FakeOpenCloud(expose_plaintext=True)
    uid = fake.add_universe().universe_id
    other = fake.add_universe().universe_id
    session = requests.Session()
    session.headers.update(fake.add_api_key().headers)
    fake.mount(session)
    root = f"https://apis.roblox.com/_fake/universes/{uid}/servers"
    for _ in range(MAX_GAME_SERVERS):
        assert session.post(root, json={}).status_code == 201
    refused = session.post(root, json={})
    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert "\n" not in detail
    assert f"maximum of {MAX_GAME_SERVERS} game servers" in detail
    assert len(session.get(root).json()["servers"]) == MAX_GAME_SERVERS
    # The cap is per universe, and the fake's Python API keeps it too.
    assert session.post(f"https://apis.roblox.com/_fake/universes/{other}/servers", json={}).ok
    with pytest.raises(ValueError, match=f"maximum of {MAX_GAME_SERVERS} game servers"):
        fake.start_server(uid)
    assert len(fake.servers(uid)) == MAX_GAME_SERVERS


def test_a_restart_still_replaces_servers_at_the_cap() -> None:
    fake = FakeOpenCloud()
    uid = fake.add_universe().universe_id
    before = {fake.start_server(uid).id for _ in range(MAX_GAME_SERVERS)}
    fake.publish_place(uid)
    session = requests.Session()
    session.headers.update(fake.add_api_key().headers)
    fake.mount(session)
    restart = f"https://apis.roblox.com/cloud/v2/universes/{uid}:restartServers"
    assert session.post(restart, json={}).status_code == 200
    after = {server.id for server in fake.servers(uid)}
    assert len(after) == MAX_GAME_SERVERS and not after & before
