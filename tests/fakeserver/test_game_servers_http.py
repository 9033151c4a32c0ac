"""Game servers over loopback HTTP: the ``/_fake/`` routes, and rblx-open-cloud's restart.

The ``/_fake/`` routes exist for tests written in other languages; they are served only with
``expose_plaintext`` (``rbx-fakeserver --expose-plaintext``). ``rblx-open-cloud`` (``import
rblxopencloud``) is a published client whose ``Experience.restart_servers()`` sends ``{}``:
the fake must answer it as Roblox does, restarting nothing after a secrets-only change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from rblxopencloud import Experience, Forbidden
from requests.adapters import HTTPAdapter

from fakeserver import FakeOpenCloud

URL = "https://api.example.com/v1"


@pytest.fixture
def served() -> Iterator[tuple[FakeOpenCloud, int, str, dict[str, str]]]:
    fake = FakeOpenCloud(expose_plaintext=True)
    uid = fake.add_universe().universe_id
    fake.put_secret(uid, "API_KEY", "v1", domain="api.example.com")
    fake.put_secret(uid, "PRIVATE", "p1")
    headers = fake.add_api_key().headers
    with fake.serve() as server:
        yield fake, uid, server.url, headers


def test_fake_routes_are_not_served_without_expose_plaintext() -> None:
    fake = FakeOpenCloud()
    uid = fake.add_universe().universe_id
    with fake.serve() as server:
        answer = requests.get(
            f"{server.url}/_fake/universes/{uid}/servers",
            headers=fake.add_api_key().headers,
            timeout=10,
        )
    assert answer.status_code == 404


def test_start_list_and_resolve_over_http(served: Any) -> None:
    fake, uid, base, headers = served
    root = f"{base}/_fake/universes/{uid}/servers"
    started = requests.post(root, json={}, headers=headers, timeout=10)
    assert started.status_code == 201
    server = started.json()
    start_place = fake.universe(uid).start_place_id
    assert server == {
        "id": server["id"],
        "placeId": start_place,
        "placeVersion": 1,
        "state": "running",
        "acceptingPlayers": True,
        "players": 0,
        "restartScheduled": None,
        "secretNames": ["API_KEY", "PRIVATE"],
    }
    other = requests.post(root, json={"placeId": 55}, headers=headers, timeout=10).json()
    assert other["placeId"] == 55
    listed = requests.get(root, headers=headers, timeout=10).json()
    assert [s["id"] for s in listed["servers"]] == [server["id"], other["id"]]
    assert [s.id for s in fake.servers(uid)] == [server["id"], other["id"]]

    resolve = f"{root}/{server['id']}/http-request"
    spec = {
        "url": URL,
        "headers": {"Authorization": {"secret": "API_KEY", "prefix": "Bearer "}},
        "body": "{}",
    }
    sent = requests.post(resolve, json=spec, headers=headers, timeout=10)
    assert sent.status_code == 200
    assert sent.json() == {"url": URL, "headers": {"Authorization": "Bearer v1"}, "body": "{}"}


@pytest.mark.parametrize(
    ("spec", "detail"),
    [
        (
            {"url": "https://evil.test/", "headers": {"A": {"secret": "API_KEY"}}},
            "secret API_KEY may be sent only to 'api.example.com', not to evil.test",
        ),
        ({"url": URL, "headers": {"A": {"secret": "PRIVATE"}}}, "secret PRIVATE is private"),
        ({"url": URL, "body": {"secret": "API_KEY"}}, "secret API_KEY is in the request body"),
        ({"url": URL, "headers": {"A": {"secret": "MISSING"}}}, "Can't find secret with given key"),
        ({"url": {"secret": "PRIVATE", "suffix": "x"}}, "cannot be suffixed"),
        ({"url": "api.example.com/v1"}, "has no host"),
        ({"url": URL, "extra": 1}, "unknown field"),
        ({"url": 5}, "url must be a string"),
    ],
)
def test_refused_requests_are_400_without_values(
    served: Any, spec: dict[str, Any], detail: str
) -> None:
    fake, uid, base, headers = served
    server = fake.start_server(uid)
    answer = requests.post(
        f"{base}/_fake/universes/{uid}/servers/{server.id}/http-request",
        json=spec,
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 400
    assert detail in answer.json()["detail"]
    assert answer.json()["detail"].startswith("the game server refused the request: ")
    assert "v1" not in answer.text and "p1" not in answer.text


def test_unknown_or_closed_server_is_404(served: Any) -> None:
    fake, uid, base, headers = served
    server = fake.start_server(uid)
    requests.post(
        f"{base}/cloud/v2/universes/{uid}:restartServers",
        json={"closeAllVersions": True},
        headers=headers,
        timeout=10,
    )
    for server_id in (server.id, "no-such-server"):
        answer = requests.post(
            f"{base}/_fake/universes/{uid}/servers/{server_id}/http-request",
            json={"url": URL},
            headers=headers,
            timeout=10,
        )
        assert answer.status_code == 404


def test_fake_routes_need_a_credential_and_are_never_rate_limited(served: Any) -> None:
    fake, uid, base, headers = served
    root = f"{base}/_fake/universes/{uid}/servers"
    assert requests.get(root, timeout=10).status_code == 401
    fake.set_rate_limit(1, 60)
    assert all(requests.get(root, headers=headers, timeout=10).status_code == 200 for _ in range(3))


def test_create_server_body_rules(served: Any) -> None:
    _, uid, base, headers = served
    root = f"{base}/_fake/universes/{uid}/servers"
    for body in ({"placeId": "1"}, {"placeId": 0}, {"place": 1}):
        assert requests.post(root, json=body, headers=headers, timeout=10).status_code == 400


# --------------------------------------------------------------------------- rblx-open-cloud


class _ToLoopback(HTTPAdapter):
    """Send rblx-open-cloud's hard-coded https://apis.roblox.com requests to the fake's URL.

    The library builds ``f"https://apis.roblox.com/{path}"`` and sends it on its module-level
    ``rblxopencloud.http_session``; this adapter, mounted on that session, rewrites the origin
    and sends over real loopback HTTP.
    """

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        assert request.url is not None
        request.url = self.base + request.url.removeprefix("https://apis.roblox.com")
        return super().send(request, **kwargs)


@pytest.fixture
def experience(
    served: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeOpenCloud, int, Any]]:
    from rblxopencloud import http as rblx_http

    fake, uid, base, headers = served
    session = requests.Session()
    session.mount("https://apis.roblox.com/", _ToLoopback(base))
    monkeypatch.setattr(rblx_http, "http_session", session)
    fake.clear_journal()
    yield fake, uid, Experience(uid, headers["x-api-key"])
    session.close()


def test_rblx_open_cloud_restart_is_answered_200_over_http(experience: Any) -> None:
    fake, uid, exp = experience
    assert exp.restart_servers() is None
    (entry,) = fake.journal
    assert (entry.method, entry.path, entry.status) == (
        "POST",
        f"/cloud/v2/universes/{uid}:restartServers",
        200,
    )
    assert entry.operation == "restart_servers"


def test_rblx_open_cloud_restart_restarts_nothing_after_a_secrets_only_change(
    experience: Any,
) -> None:
    fake, uid, exp = experience
    server = fake.start_server(uid)
    fake.put_secret(uid, "API_KEY", "v2", domain="api.example.com")
    exp.restart_servers()
    assert fake.servers(uid) == [server]
    headers = {"K": server.get_secret("API_KEY")}
    assert server.http_request(URL, headers).headers == {"K": "v1"}


def test_rblx_open_cloud_restart_restarts_older_versions_after_publish(experience: Any) -> None:
    fake, uid, exp = experience
    old = fake.start_server(uid)
    fake.put_secret(uid, "API_KEY", "v2", domain="api.example.com")
    fake.publish_place(uid, old.place_id)
    current = fake.start_server(uid)
    exp.restart_servers()
    servers = fake.servers(uid)
    assert not old.running
    assert servers[0] is current and len(servers) == 2
    replacement = servers[1]
    assert replacement.place_version == 2
    headers = {"K": replacement.get_secret("API_KEY")}
    assert replacement.http_request(URL, headers).headers == {"K": "v2"}


def test_rblx_open_cloud_key_without_universe_write_gets_forbidden(experience: Any) -> None:
    fake, uid, _ = experience
    key = fake.add_api_key(universe_write=False)
    with pytest.raises(Forbidden):
        Experience(uid, key.key).restart_servers()
