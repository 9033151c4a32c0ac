"""Every endpoint through all three transports: loopback HTTP, the requests adapter, respx.

One scenario, four ways of carrying it (``httpx.AsyncClient`` under respx is the fourth); each
checks statuses and bodies, and decrypts through the oracle to compare plaintexts.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from nacl.public import PublicKey, SealedBox
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from fakeserver import FakeOpenCloud
from fakeserver.transports.httpx_route import httpx_handler, respx_route
from fakeserver.transports.requests_adapter import WSGIAdapter, mount
from fakeserver.transports.server import FakeServer

ROBLOX = "https://apis.roblox.com"
TRANSPORTS = ("http", "mount", "respx", "respx-async")
VALUE = 'héllo wörld 🔑 "quoted" \\ back'


def seal(value: str, public_key: str) -> str:
    """What a client sends: base64 of a sealed box of the UTF-8 value."""
    box = SealedBox(PublicKey(base64.b64decode(public_key)))
    return base64.b64encode(box.encrypt(value.encode("utf-8"))).decode("ascii")


class Reply:
    """A response reduced to what the tests compare, whichever library produced it."""

    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.content = content

    def json(self) -> Any:
        import json

        return json.loads(self.content)


class Driver:
    """Sends requests to one fake through one transport."""

    def __init__(self, kind: str, fake: FakeOpenCloud) -> None:
        self.kind = kind
        self.fake = fake
        self.server: FakeServer | None = None
        self._exit: list[Any] = []
        if kind == "http":
            self.server = FakeServer(fake).start()
            self.base = self.server.url
            self.session = requests.Session()
        elif kind == "mount":
            self.base = ROBLOX
            self.session = requests.Session()
            fake.mount(self.session)
        else:
            self.base = ROBLOX
            route = fake.respx_route()
            self.router = route.__enter__()
            self._exit.append(route)
            if kind == "respx":
                self.client: Any = httpx.Client()
            else:
                self.loop = asyncio.new_event_loop()
                self.client = httpx.AsyncClient()

    def close(self) -> None:
        if self.kind == "respx":
            self.client.close()
        elif self.kind == "respx-async":
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()
        else:
            self.session.close()
        for route in self._exit:
            route.__exit__(None, None, None)
        if self.server is not None:
            self.server.stop()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = 10.0,
    ) -> Reply:
        url = self.base + path
        if self.kind in ("http", "mount"):
            r = self.session.request(
                method, url, json=json, headers=headers, params=params, timeout=timeout
            )
            return Reply(r.status_code, dict(r.headers), r.content)
        if self.kind == "respx":
            h = self.client.request(
                method, url, json=json, headers=headers, params=params, timeout=timeout
            )
        else:
            h = self.loop.run_until_complete(
                self.client.request(
                    method, url, json=json, headers=headers, params=params, timeout=timeout
                )
            )
        return Reply(h.status_code, dict(h.headers), h.content)


@pytest.fixture(params=TRANSPORTS)
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    d = Driver(request.param, FakeOpenCloud())
    try:
        yield d
    finally:
        d.close()


def _setup(d: Driver, **key_kwargs: Any) -> tuple[int, dict[str, str]]:
    universe = d.fake.add_universe()
    key = d.fake.add_api_key(universe_ids=[universe.universe_id], **key_kwargs)
    return universe.universe_id, key.headers


def test_every_endpoint_round_trip(driver: Driver) -> None:
    universe_id, auth = _setup(driver)
    secrets_path = f"/cloud/v2/universes/{universe_id}/secrets"

    key = driver.call("GET", secrets_path + "/public-key", headers=auth)
    assert key.status == 200
    assert key.headers["content-type"].startswith("application/json")
    body = key.json()
    assert body["id"] == "public-key"
    assert len(base64.b64decode(body["secret"])) == 32
    key_id, public_key = body["key_id"], body["secret"]

    empty = driver.call("GET", secrets_path, headers=auth)
    assert empty.status == 200
    assert empty.json()["secrets"] == []

    created = driver.call(
        "POST",
        secrets_path,
        headers=auth,
        json={
            "id": "api_token",
            "secret": seal(VALUE, public_key),
            "key_id": key_id,
            "domain": "*.example.com",
        },
    )
    assert created.status == 201, created.content
    item = created.json()
    assert item["id"] == "api_token" and item["domain"] == "*.example.com"
    assert item["key_id"] == key_id and "secret" not in item
    assert driver.fake.plaintext(universe_id, "api_token") == VALUE
    assert int(created.headers["content-length"]) == len(created.content)

    duplicate = driver.call(
        "POST",
        secrets_path,
        headers=auth,
        json={"id": "api_token", "secret": seal("other", public_key), "key_id": key_id},
    )
    assert duplicate.status == 409
    assert driver.fake.plaintext(universe_id, "api_token") == VALUE

    second = driver.call(
        "POST",
        secrets_path,
        headers=auth,
        json={"id": "b_second", "secret": seal("x" * 1024, public_key), "key_id": key_id},
    )
    assert second.status == 201
    assert driver.fake.plaintext(universe_id, "b_second") == "x" * 1024

    first_page = driver.call("GET", secrets_path, headers=auth, params={"limit": 1})
    assert first_page.status == 200
    page = first_page.json()
    assert [s["id"] for s in page["secrets"]] == ["api_token"]
    assert page["nextPageCursor"]
    next_page = driver.call(
        "GET", secrets_path, headers=auth, params={"limit": 1, "cursor": page["nextPageCursor"]}
    ).json()
    assert [s["id"] for s in next_page["secrets"]] == ["b_second"]

    updated = driver.call(
        "PATCH",
        f"{secrets_path}/api_token",
        headers=auth,
        json={"secret": seal("new välue", public_key), "key_id": key_id},
    )
    assert updated.status == 200, updated.content
    assert updated.json()["domain"] == "*.example.com"
    assert driver.fake.plaintext(universe_id, "api_token") == "new välue"

    redomained = driver.call(
        "PATCH", f"{secrets_path}/api_token", headers=auth, json={"domain": ""}
    )
    assert redomained.status == 200
    assert redomained.json()["domain"] is None
    assert driver.fake.plaintext(universe_id, "api_token") == "new välue"

    deleted = driver.call("DELETE", f"{secrets_path}/api_token", headers=auth)
    assert deleted.status == 200
    assert deleted.json() == {}
    with pytest.raises(KeyError):
        driver.fake.plaintext(universe_id, "api_token")
    assert driver.fake.secret_ids(universe_id) == ["b_second"]

    # Nothing the client sent in secret comes back, or lands in the journal.
    journal = repr(driver.fake.journal)
    for reply in (created, updated, redomained, deleted, first_page):
        assert VALUE.encode() not in reply.content
    assert VALUE not in journal and "new välue" not in journal
    assert auth["x-api-key"] not in journal
    assert [e.status for e in driver.fake.journal][-3:] == [200, 200, 200]


def test_error_statuses_are_the_contracts(driver: Driver) -> None:
    universe_id, auth = _setup(driver)
    read_only = driver.fake.add_api_key(write=False, universe_ids=[universe_id]).headers
    secrets_path = f"/cloud/v2/universes/{universe_id}/secrets"
    key = driver.call("GET", secrets_path + "/public-key", headers=auth).json()
    good = {"id": "a_secret", "secret": seal("v", key["secret"]), "key_id": key["key_id"]}

    missing = driver.call("GET", secrets_path)
    assert missing.status == 401
    assert missing.json() == {"errors": [{"code": 0, "message": "Invalid API Key"}]}
    assert driver.call("POST", secrets_path, headers=read_only, json=good).status == 403
    wrong_key = driver.call("POST", secrets_path, headers=auth, json={**good, "key_id": "1"})
    assert wrong_key.status == 400
    problem = wrong_key.json()
    assert problem["status"] == "400" and "key_id" in problem["detail"]
    assert driver.call("DELETE", f"{secrets_path}/nope", headers=auth).status == 404
    not_allowed = driver.call("PUT", secrets_path, headers=auth, json=good)
    assert not_allowed.status == 405
    assert "POST" in not_allowed.headers["allow"]
    assert driver.call("GET", "/no/such/path", headers=auth).status == 404
    assert driver.fake.secret_ids(universe_id) == []


def test_rate_limit_headers_pass_through(driver: Driver) -> None:
    universe_id, auth = _setup(driver)
    driver.fake.set_rate_limit(2, 60.0)
    path = f"/cloud/v2/universes/{universe_id}/secrets"
    first = driver.call("GET", path, headers=auth)
    assert first.status == 200
    assert first.headers["x-ratelimit-remaining"] == "1"
    driver.call("GET", path, headers=auth)
    limited = driver.call("GET", path, headers=auth)
    assert limited.status == 429
    assert int(limited.headers["retry-after"]) >= 1


def test_dropped_connection(driver: Driver) -> None:
    universe_id, auth = _setup(driver)
    path = f"/cloud/v2/universes/{universe_id}/secrets"
    key = driver.call("GET", path + "/public-key", headers=auth).json()
    body = {"id": "dropped", "secret": seal("v", key["secret"]), "key_id": key["key_id"]}
    driver.fake.inject_fault("create_secret", drop_connection=True)
    expected = (
        requests.ConnectionError if driver.kind in ("http", "mount") else httpx.RemoteProtocolError
    )
    with pytest.raises(expected):
        driver.call("POST", path, headers=auth, json=body)
    assert driver.fake.secret_ids(universe_id) == []
    # The client recovers on a new connection.
    again = driver.call("POST", path, headers=auth, json=body)
    assert again.status == 201
    assert driver.fake.plaintext(universe_id, "dropped") == "v"


def test_injected_latency_times_out(driver: Driver) -> None:
    universe_id, auth = _setup(driver)
    driver.fake.inject_fault("get_public_key", latency=0.3)
    expected = requests.ReadTimeout if driver.kind in ("http", "mount") else httpx.ReadTimeout
    with pytest.raises(expected):
        driver.call(
            "GET",
            f"/cloud/v2/universes/{universe_id}/secrets/public-key",
            headers=auth,
            timeout=0.05,
        )


@pytest.mark.parametrize("kind", ["http", "mount"])
def test_session_retry_policy_applies_in_process_too(kind: str) -> None:
    """A session's urllib3 Retry behaves the same over HTTP and through the adapter."""
    fake = FakeOpenCloud()
    d = Driver(kind, fake)
    try:
        retry = Retry(total=3, status_forcelist=[503], allowed_methods=None, backoff_factor=0)
        # Mounted after fake.mount on purpose: the adapter looks the policy up per request.
        d.session.mount("http://", HTTPAdapter(max_retries=retry))
        d.session.mount("https://", HTTPAdapter(max_retries=retry))
        universe_id, auth = _setup(d)
        path = f"/cloud/v2/universes/{universe_id}/secrets"
        fake.inject_fault("list_secrets", status=503, times=2, retry_after=0)
        assert d.call("GET", path, headers=auth).status == 200
        assert [e.status for e in fake.journal] == [503, 503, 200]

        fake.inject_fault("list_secrets", status=503, times=4)
        with pytest.raises(requests.exceptions.RetryError):
            d.call("GET", path, headers=auth)
    finally:
        d.close()


def test_adapter_keeps_requests_default_of_no_retry_on_drop() -> None:
    fake = FakeOpenCloud()
    universe_id = fake.add_universe().universe_id
    auth = fake.add_api_key().headers
    session = requests.Session()
    adapter = mount(fake, session)
    assert isinstance(adapter, WSGIAdapter)
    fake.inject_fault("list_secrets", drop_connection=True)
    with pytest.raises(requests.ConnectionError, match="Connection aborted"):
        session.get(f"{ROBLOX}/cloud/v2/universes/{universe_id}/secrets", headers=auth)
    assert [e.status for e in fake.journal] == [None]


def test_adapter_response_looks_like_http_adapter_one() -> None:
    fake = FakeOpenCloud()
    universe_id = fake.add_universe().universe_id
    auth = fake.add_api_key().headers
    session = requests.Session()
    fake.mount(session)
    url = f"{ROBLOX}/cloud/v2/universes/{universe_id}/secrets/public-key"
    response = session.get(url, headers=auth, stream=True)
    assert response.url == url
    assert response.request.headers["x-api-key"] == auth["x-api-key"]
    assert response.reason == "OK"
    assert b"".join(response.iter_content(7)).startswith(b'{"id":"public-key"')
    # Other hosts keep their ordinary adapter.
    assert not isinstance(session.get_adapter("https://example.com/"), WSGIAdapter)


def test_app_exceptions_raise_in_the_callers_thread() -> None:
    def broken(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise ZeroDivisionError("bug in the fake")

    session = requests.Session()
    mount(broken, session)
    with pytest.raises(ZeroDivisionError):
        session.get(ROBLOX + "/x")
    with respx_route(broken), pytest.raises(ZeroDivisionError):
        httpx.get(ROBLOX + "/x")


def test_respx_route_records_calls_and_refuses_other_hosts() -> None:
    fake = FakeOpenCloud()
    universe_id = fake.add_universe().universe_id
    auth = fake.add_api_key().headers
    with fake.respx_route() as router:
        r = httpx.get(f"{ROBLOX}/cloud/v2/universes/{universe_id}/secrets", headers=auth)
        assert r.status_code == 200
        assert router.routes["fake_open_cloud"].call_count == 1
        with pytest.raises(Exception, match="not mocked"):
            httpx.get("https://example.com/")


def test_httpx_handler_serves_mock_transport_sync_and_async() -> None:
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    auth = fake.add_api_key().headers
    base = f"https://apis.roblox.com/cloud/v2/universes/{universe.universe_id}/secrets"
    transport = httpx.MockTransport(httpx_handler(fake))
    with httpx.Client(transport=transport) as client:
        body = {
            "id": "sync_one",
            "secret": seal("s1", universe.public_key),
            "key_id": universe.key_id,
        }
        assert client.post(base, json=body, headers=auth).status_code == 201

    async def go() -> int:
        async with httpx.AsyncClient(transport=transport) as client:
            body = {
                "id": "async_one",
                "secret": seal("a1", universe.public_key),
                "key_id": universe.key_id,
            }
            return (await client.post(base, json=body, headers=auth)).status_code

    assert asyncio.run(go()) == 201
    assert fake.plaintext(universe.universe_id, "sync_one") == "s1"
    assert fake.plaintext(universe.universe_id, "async_one") == "a1"


def test_respx_async_requests_overlap() -> None:
    # Each answer waits at a barrier until all three are inside the app at once, which only
    # happens if respx's async path runs the app off the event loop.
    fake = FakeOpenCloud()
    universe_id = fake.add_universe().universe_id
    auth = fake.add_api_key().headers
    fake.inject_fault("get_public_key", latency=0.05, times=3)
    barrier = threading.Barrier(3, timeout=5)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        barrier.wait()
        return fake.app(environ, start_response)

    url = f"{ROBLOX}/cloud/v2/universes/{universe_id}/secrets/public-key"

    async def go() -> list[int]:
        async with httpx.AsyncClient() as client:
            replies = await asyncio.gather(*(client.get(url, headers=auth) for _ in range(3)))
        return [r.status_code for r in replies]

    with respx_route(app) as router:
        assert asyncio.run(go()) == [200, 200, 200]
        assert router.routes["fake_open_cloud"].call_count == 3


def test_respx_async_request_leaves_the_event_loop_running() -> None:
    # The app holds the request until a coroutine on the loop releases it: the request
    # completes only if the loop keeps running while the app answers.
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    universe_id, key_id = universe.universe_id, universe.key_id
    auth = fake.add_api_key().headers
    fake.inject_fault("get_public_key", latency=0.05)
    inside, release = threading.Event(), threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        inside.set()
        if not release.wait(5):
            raise AssertionError("the event loop was blocked while the app answered")
        return fake.app(environ, start_response)

    url = f"{ROBLOX}/cloud/v2/universes/{universe_id}/secrets/public-key"

    async def go() -> tuple[int, str]:
        async with httpx.AsyncClient() as client:
            request = asyncio.create_task(client.get(url, headers=auth))
            while not inside.is_set():
                await asyncio.sleep(0.001)
            release.set()
            reply = await request
        return reply.status_code, reply.json()["key_id"]

    with respx_route(app):
        assert asyncio.run(go()) == (200, key_id)


def test_respx_sync_client_inside_a_coroutine_is_answered_in_place() -> None:
    # An event loop runs, but respx resolves a sync client's request synchronously: the
    # answer must be a response, not an awaitable, and come from the caller's thread.
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    auth = fake.add_api_key().headers
    threads: list[threading.Thread] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        threads.append(threading.current_thread())
        return fake.app(environ, start_response)

    url = f"{ROBLOX}/cloud/v2/universes/{universe.universe_id}/secrets/public-key"

    async def go() -> str:
        with httpx.Client() as client:
            reply = client.get(url, headers=auth, timeout=None)
        return str(reply.json()["key_id"])

    with respx_route(app):
        assert asyncio.run(go()) == universe.key_id
    assert threads == [threading.main_thread()]


def test_mount_custom_base_url_and_paths_with_escapes() -> None:
    fake = FakeOpenCloud()
    universe = fake.add_universe()
    auth = fake.add_api_key().headers
    session = requests.Session()
    fake.mount(session, base_url="http://fake.test:8080/")
    base = f"http://fake.test:8080/cloud/v2/universes/{universe.universe_id}/secrets"
    body = {"id": "esc_aped", "secret": seal("v", universe.public_key), "key_id": universe.key_id}
    assert session.post(base, json=body, headers=auth).status_code == 201
    # %5F is "_": the app sees the decoded path, as it would behind the server.
    assert session.delete(base + "/esc%5Faped", headers=auth).status_code == 200
    assert fake.secret_ids(universe.universe_id) == []


@pytest.mark.parametrize("kind", ["mount", "respx"])
def test_base_url_with_a_path_prefix(kind: str) -> None:
    fake = FakeOpenCloud()
    universe_id = fake.add_universe().universe_id
    auth = fake.add_api_key().headers
    base = "http://proxy.test/roblox/"
    url = f"http://proxy.test/roblox/cloud/v2/universes/{universe_id}/secrets"
    if kind == "mount":
        session = requests.Session()
        fake.mount(session, base_url=base)
        status = session.get(url, headers=auth).status_code
    else:
        with fake.respx_route(base_url=base):
            status = httpx.get(url, headers=auth).status_code
    assert status == 200
    assert [e.path for e in fake.journal] == [f"/cloud/v2/universes/{universe_id}/secrets"]


def test_mount_covers_its_host_and_no_lookalike() -> None:
    session = requests.Session()
    FakeOpenCloud().mount(session)
    for url in (f"{ROBLOX}/cloud/v2/x", f"{ROBLOX}:443/cloud/v2/x", f"{ROBLOX}/"):
        assert isinstance(session.get_adapter(url), WSGIAdapter), url
    # requests matches adapters by string prefix: these must keep the real adapter.
    for url in (
        "https://apis.roblox.com.evil.test/x",
        "https://apis.roblox.comx/x",
        "https://apis.roblox.com:8443/x",
    ):
        assert not isinstance(session.get_adapter(url), WSGIAdapter), url


def _cookie_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/plain"),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/"),
        ],
    )
    return [environ.get("HTTP_COOKIE", "-").encode()]


def test_adapter_keeps_cookies_like_http_adapter() -> None:
    session = requests.Session()
    mount(_cookie_app, session, "https://cookies.test")
    first = session.get("https://cookies.test/one")
    assert first.cookies.get_dict() == {"a": "1", "b": "2"}
    assert session.get("https://cookies.test/two").text == "a=1; b=2"


@pytest.mark.parametrize("kind", ["mount", "respx"])
def test_head_answers_carry_no_body_in_process(kind: str) -> None:
    fake = FakeOpenCloud()
    universe_id = fake.add_universe().universe_id
    url = f"{ROBLOX}/cloud/v2/universes/{universe_id}/secrets"
    if kind == "mount":
        session = requests.Session()
        fake.mount(session)
        reply = session.head(url)
        status, allow, content = reply.status_code, reply.headers["Allow"], reply.content
    else:
        with fake.respx_route():
            answer = httpx.head(url)
        status, allow, content = answer.status_code, answer.headers["Allow"], answer.content
    # As over the loopback server: the 405's headers, and no body after a HEAD.
    assert (status, allow, content) == (405, "GET, POST", b"")
