"""Rate limiting and scripted faults, through the WSGI app, on a fake clock."""

from __future__ import annotations

import pytest

from fakeserver import FakeOpenCloud
from fakeserver.errors import DropConnection
from tests.fakeserver.support import FakeClock, WsgiClient, full_setup, seal


def limited(clock: FakeClock, limit: int = 3, window: float = 60.0, **kwargs):
    """A fake with one universe and key, rate limited to ``limit`` per ``window``."""
    return full_setup(rate_limit=(limit, window), clock=clock, **kwargs)


# --------------------------------------------------------------------------- rate limit


def test_headers_count_down_then_429_with_retry_after(clock):
    _fake, _uid, client = limited(clock)
    remaining = []
    for _ in range(3):
        response = client.list()
        assert response.status == 200
        assert response.header("x-ratelimit-limit") == "3, 3;w=60"
        remaining.append(response.header("x-ratelimit-remaining"))
        assert response.header("Retry-After") is None
    assert remaining == ["2", "1", "0"]
    response = client.list()
    assert response.status == 429
    assert response.json["status"] == "429"
    # One token refills in 60 / 3 = 20 seconds.
    assert response.header("Retry-After") == "20"
    assert response.header("x-ratelimit-remaining") == "0"
    assert response.header("x-ratelimit-reset") == "60"
    clock.advance(19.9)
    assert client.list().status == 429
    clock.advance(0.1)
    assert client.list().status == 200


def test_reset_header_is_time_to_full(clock):
    _fake, _uid, client = limited(clock, limit=4, window=2.0)
    assert client.list().header("x-ratelimit-reset") == "0.5"
    clock.advance(0.25)
    assert client.list().header("x-ratelimit-reset") == "0.75"
    clock.advance(10)
    response = client.list()
    assert response.header("x-ratelimit-remaining") == "3"
    assert response.header("x-ratelimit-reset") == "0.5"


def test_compressed_window_rounds_retry_after_up(clock):
    _fake, _uid, client = limited(clock, limit=2, window=0.5)
    assert client.list().header("x-ratelimit-limit") == "2, 2;w=0.5"
    client.list()
    response = client.list()
    assert response.status == 429
    assert response.header("Retry-After") == "1"


def test_rejected_429_changes_nothing(clock):
    fake, uid, client = limited(clock, limit=2)
    key_id, public = client.key()
    body = {"id": "x", "secret": seal("v", public), "key_id": key_id}
    assert client.request("POST", client.base, body).status == 201
    assert client.request("DELETE", f"{client.base}/x").status == 429
    assert fake.plaintext(uid, "x") == "v"


def test_unauthenticated_and_unrouted_requests_spend_nothing(clock):
    _fake, _uid, client = limited(clock, limit=1)
    for _ in range(5):
        response = client.request("GET", client.base, headers={"x-api-key": "nope"})
        assert response.status == 401
        assert response.header("x-ratelimit-limit") is None
        assert client.request("PUT", client.base).status == 405
        assert client.request("GET", "/nowhere").status == 404
    assert client.list().status == 200


def test_every_authenticated_answer_carries_the_headers(clock):
    fake, uid, client = limited(clock, limit=100)
    read_only = WsgiClient(fake, uid, fake.add_api_key(write=False).headers)
    responses = [
        client.list(),
        client.list("limit=0"),
        client.delete("missing"),
        read_only.delete("x"),
        WsgiClient(fake, "abc", client.headers).list(),
        client.public_key(),
    ]
    assert [r.status for r in responses] == [200, 400, 404, 403, 400, 200]
    for response in responses:
        assert response.header("x-ratelimit-limit") == "100, 100;w=60"
        assert response.header("x-ratelimit-remaining") is not None
        assert response.header("x-ratelimit-reset") is not None


def test_no_headers_when_off():
    fake, _uid, client = full_setup()
    assert fake.rate_limit is None
    response = client.list()
    assert all(not k.lower().startswith("x-ratelimit") for k, _ in response.headers)


def test_429_comes_before_the_universe_400(clock):
    fake, _uid, client = limited(clock, limit=1)
    client.list()
    bad = WsgiClient(fake, "abc", client.headers)
    assert bad.list().status == 429


def test_buckets_are_per_owner(clock):
    fake, uid, client = limited(clock, limit=1)
    second = WsgiClient(fake, uid, fake.add_api_key().headers)
    shared_a = WsgiClient(fake, uid, fake.add_api_key(owner="alice").headers)
    shared_b = WsgiClient(fake, uid, fake.add_oauth_token(owner="alice").headers)
    assert client.list().status == 200
    assert client.list().status == 429
    assert second.list().status == 200
    assert shared_a.list().status == 200
    assert shared_b.list().status == 429


def test_set_rate_limit_on_off_and_refill(clock):
    fake, _uid, client = full_setup(clock=clock)
    fake.set_rate_limit(1, 10.0)
    assert fake.rate_limit == (1, 10.0)
    assert client.list().status == 200
    assert client.list().status == 429
    fake.set_rate_limit(1, 10.0)  # buckets start full again
    assert client.list().status == 200
    fake.set_rate_limit(None)
    for _ in range(20):
        assert client.list().status == 200
    with pytest.raises(ValueError):
        fake.set_rate_limit(0)
    with pytest.raises(ValueError):
        fake.set_rate_limit(5, 0)


def test_a_client_pacing_at_the_rate_never_sees_429(clock):
    _fake, _uid, client = limited(clock, limit=120, window=60.0)
    for _ in range(120):
        assert client.list().status == 200
    for _ in range(600):
        clock.advance(60.0 / 120)
        assert client.list().status == 200


def test_the_oracle_endpoint_spends_no_tokens(clock):
    fake, uid, client = limited(clock, limit=1, expose_plaintext=True)
    fake.put_secret(uid, "x", "v")
    for _ in range(3):
        response = client.request("GET", f"/_fake/universes/{uid}/secrets/x/plaintext")
        assert response.status == 200
        assert response.header("x-ratelimit-limit") is None
    assert client.list().status == 200
    assert client.list().status == 429


def test_default_rate_matches_roblox(clock):
    _fake, _uid, client = limited(clock, limit=120, window=60.0)
    assert client.list().header("x-ratelimit-limit") == "120, 120;w=60"


# --------------------------------------------------------------------------- faults


def test_status_fault_fires_once_then_normal():
    fake, uid, client = full_setup()
    fake.inject_fault("create_secret", status=503)
    response = client.create("x", "v")
    assert response.status == 503
    assert response.json["status"] == "503"
    assert response.header("Retry-After") is None
    assert fake.secret_ids(uid) == []
    assert client.create("x", "v").status == 201
    assert [e.status for e in fake.journal if e.operation == "create_secret"] == [503, 201]


def test_fault_times_and_queueing():
    fake, _uid, client = full_setup()
    fake.inject_fault("list_secrets", status=500, times=2)
    fake.inject_fault("list_secrets", status=502)
    assert [client.list().status for _ in range(4)] == [500, 500, 502, 200]


def test_wildcard_fault_hits_any_operation_but_specific_first():
    fake, _uid, client = full_setup()
    fake.inject_fault("*", status=500, times=2)
    fake.inject_fault("delete_secret", status=504)
    assert client.delete("x").status == 504
    assert client.public_key().status == 500
    assert client.delete("x").status == 500
    assert client.delete("x").status == 404


def test_429_fault_carries_retry_after():
    fake, _uid, client = full_setup()
    fake.inject_fault("update_secret", status=429, retry_after=7)
    response = client.request("PATCH", f"{client.base}/x", {"domain": "a.com"})
    assert response.status == 429
    assert response.header("Retry-After") == "7"


def test_latency_fault_sleeps_outside_the_lock_then_proceeds(monkeypatch):
    import fakeserver.web.faults as faults_module

    fake, uid, client = full_setup()
    slept: list[float] = []

    def fake_sleep(seconds: float) -> None:
        # The lock must be free while sleeping, or every other request would stall.
        assert fake.backend._lock.acquire(blocking=False)
        fake.backend._lock.release()
        slept.append(seconds)

    monkeypatch.setattr(faults_module.time, "sleep", fake_sleep)
    fake.inject_fault("create_secret", latency=2.5)
    assert client.create("x", "v").status == 201
    assert slept == [2.5]
    assert fake.plaintext(uid, "x") == "v"
    fake.inject_fault("get_public_key", latency=1.0, status=500)
    assert client.public_key().status == 500
    assert slept == [2.5, 1.0]


def test_drop_connection_raises_and_changes_nothing():
    fake, uid, client = full_setup()
    fake.inject_fault("create_secret", drop_connection=True)
    with pytest.raises(DropConnection) as info:
        client.create("x", "v")
    assert info.value.operation == "create_secret"
    assert fake.secret_ids(uid) == []
    assert fake.journal[-1].status is None
    assert fake.journal[-1].operation == "create_secret"
    assert client.create("x", "v").status == 201


def test_faults_fire_before_authentication():
    fake, _uid, client = full_setup()
    fake.inject_fault("list_secrets", status=503)
    assert client.request("GET", client.base, headers={}).status == 503


def test_faults_do_not_apply_to_the_oracle_endpoint():
    fake, uid, client = full_setup(expose_plaintext=True)
    fake.put_secret(uid, "x", "v")
    fake.inject_fault("*", status=500)
    assert client.request("GET", f"/_fake/universes/{uid}/secrets/x/plaintext").status == 200
    assert client.list().status == 500


@pytest.mark.parametrize(
    "kwargs",
    [
        {"operation": "nope", "status": 500},
        {"operation": "create_secret", "status": 200},
        {"operation": "create_secret", "status": 600},
        {"operation": "create_secret"},
        {"operation": "create_secret", "status": 500, "times": 0},
        {"operation": "create_secret", "latency": -1.0},
        {"operation": "create_secret", "status": 429, "retry_after": -1},
    ],
)
def test_inject_fault_rejects_nonsense(kwargs):
    fake = FakeOpenCloud()
    with pytest.raises(ValueError):
        fake.inject_fault(**kwargs)


def test_clear_faults_and_reset_drop_faults():
    fake, _uid, client = full_setup()
    fake.inject_fault("*", status=500, times=100)
    fake.clear_faults()
    assert client.list().status == 200
    fake.inject_fault("*", status=500, times=100)
    fake.reset()
    universe = fake.add_universe()
    key = fake.add_api_key()
    assert WsgiClient(fake, universe.universe_id, key.headers).list().status == 200
