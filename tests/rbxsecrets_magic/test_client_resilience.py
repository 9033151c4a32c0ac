"""Retries, unknown outcomes, key rotation, pacing and bulk runs against fakeserver.

Nothing here measures wall-clock time: waits are recorded through the client's ``sleep``
hook, and rate limiting runs on a :class:`VirtualClock` shared by the fake and the client.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
import requests
import urllib3
from urllib3.util.retry import Retry

from rbxsecrets_magic.errors import (
    AuthenticationError,
    BadRequestError,
    InvalidInputError,
    PermissionDeniedError,
    RateLimitedError,
    TransportError,
)
from rbxsecrets_magic.opencloud.client import SecretsClient, SetResult
from rbxsecrets_magic.opencloud.pacing import Pacer
from tests.rbxsecrets_magic.support import VirtualClock, canned_client, client_for, mounted_client


def _no_sleep(seconds: float) -> None:
    pass


def _recording_clock() -> tuple[dict[str, Any], list[float]]:
    """Client kwargs for a virtual clock whose sleeps are recorded, and the record."""
    clock = VirtualClock()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.sleep(seconds)

    return {"clock": clock, "sleep": sleep}, waits


@pytest.fixture(params=["loopback", "mounted"])
def make(request: pytest.FixtureRequest) -> Any:
    """Builds a client over loopback HTTP or through the in-process adapter."""
    return client_for if request.param == "loopback" else mounted_client


def _ops(cloud: Any, *operations: str) -> list[tuple[str, int | None]]:
    return [
        (e.operation or "", e.status)
        for e in cloud.fake.journal
        if not operations or e.operation in operations
    ]


# -- 429 and 5xx ----------------------------------------------------------------------------


def test_429_on_a_write_waits_retry_after_and_succeeds(make: Any, fake_open_cloud: Any) -> None:
    hooks, waits = _recording_clock()
    fake_open_cloud.fake.inject_fault("create_secret", status=429, retry_after=2, times=2)
    client = make(fake_open_cloud, **hooks)
    assert client.set("k", "v").action == "created"
    assert fake_open_cloud.plaintext("k") == "v"
    assert _ops(fake_open_cloud, "create_secret") == [
        ("create_secret", 429),
        ("create_secret", 429),
        ("create_secret", 201),
    ]
    assert waits == [2.0, 2.0]


def test_429_without_retry_after_backs_off(fake_open_cloud: Any) -> None:
    hooks, waits = _recording_clock()
    fake_open_cloud.fake.inject_fault("update_secret", status=429, times=3)
    client = client_for(fake_open_cloud, **hooks)
    client.create("k", "v")
    client.update("k", "w")
    assert fake_open_cloud.plaintext("k") == "w"
    assert waits == [0.25, 0.5, 1.0]


def test_429_on_reads_is_retried(make: Any, fake_open_cloud: Any) -> None:
    # The client retries every 429 itself, over loopback and through the fake's adapter.
    fake_open_cloud.fake.inject_fault("list_secrets", status=429, retry_after=0, times=2)
    fake_open_cloud.fake.inject_fault("get_public_key", status=429, retry_after=0)
    client = make(fake_open_cloud, sleep=_no_sleep)
    assert client.list() == []
    assert client.public_key().key_id
    assert _ops(fake_open_cloud) == [
        ("list_secrets", 429),
        ("list_secrets", 429),
        ("list_secrets", 200),
        ("get_public_key", 429),
        ("get_public_key", 200),
    ]


@pytest.mark.parametrize(
    "operation",
    ["create_secret", "update_secret", "delete_secret", "list_secrets", "get_public_key"],
)
def test_503_is_retried_for_every_operation(
    operation: str, make: Any, fake_open_cloud: Any
) -> None:
    client = make(fake_open_cloud, sleep=_no_sleep)
    client.create("k", "v")
    fake_open_cloud.fake.inject_fault(operation, status=503, retry_after=0)
    {
        "create_secret": lambda: client.create("k2", "v2"),
        "update_secret": lambda: client.update("k", "v3"),
        "delete_secret": lambda: client.delete("k"),
        "list_secrets": client.list,
        "get_public_key": client.public_key,
    }[operation]()
    statuses = [s for op, s in _ops(fake_open_cloud, operation)]
    assert 503 in statuses and statuses[-1] in (200, 201)


def test_write_503_uses_retry_after_then_exponential_backoff(fake_open_cloud: Any) -> None:
    waits: list[float] = []
    fake_open_cloud.fake.inject_fault("create_secret", status=503, retry_after=3)
    fake_open_cloud.fake.inject_fault("create_secret", status=502, times=2)
    client = client_for(fake_open_cloud, sleep=waits.append)
    assert client.set("k", "v").ok
    assert waits == [3.0, 0.5, 1.0]
    # The 5xx answers changed nothing, so the later create still succeeds.
    assert _ops(fake_open_cloud, "create_secret")[-1] == ("create_secret", 201)


def test_urllib3_never_retries_whatever_session_is_given(fake_open_cloud: Any) -> None:
    # Every retry is the client's own: the adapter it mounts does not retry, a stock adapter
    # the caller mounted with retries is replaced for the base URL, a custom one is kept.
    own = client_for(fake_open_cloud)
    retry = own._sender.session.get_adapter(fake_open_cloud.url + "/cloud/").max_retries
    assert isinstance(retry, Retry)
    assert retry.total == 0 and not retry.read
    assert not retry.is_retry("GET", 503, has_retry_after=True)
    assert not retry.is_retry("GET", 429, has_retry_after=True)
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(max_retries=Retry(5)))
    theirs = client_for(fake_open_cloud, session=session)
    adapter = theirs._sender.session.get_adapter(fake_open_cloud.url + "/cloud/")
    assert adapter.max_retries.total == 0
    assert session.get_adapter("http://elsewhere.example/").max_retries.total == 5
    mounted = mounted_client(fake_open_cloud)
    adapter = mounted._sender.session.get_adapter("https://apis.roblox.com/cloud/")
    assert type(adapter).__name__ == "WSGIAdapter"


def test_read_retries_are_the_same_over_every_session(make: Any, fake_open_cloud: Any) -> None:
    # One retry loop for reads and writes: the same attempts and the same waits, through the
    # client's sleep, over loopback HTTP and through the in-process adapter.
    hooks, waits = _recording_clock()
    fake_open_cloud.fake.inject_fault("list_secrets", status=503)
    fake_open_cloud.fake.inject_fault("list_secrets", drop_connection=True)
    fake_open_cloud.fake.inject_fault("list_secrets", status=502, retry_after=3)
    assert make(fake_open_cloud, **hooks).list() == []
    assert waits == [0.25, 0.5, 3.0]
    assert _ops(fake_open_cloud) == [
        ("list_secrets", 503),
        ("list_secrets", None),
        ("list_secrets", 502),
        ("list_secrets", 200),
    ]


# -- no answer: drops and timeouts ----------------------------------------------------------


def test_dropped_connection_is_retried_for_a_read(make: Any, fake_open_cloud: Any) -> None:
    client = make(fake_open_cloud, sleep=_no_sleep)
    client.create("k", "v0")
    fake_open_cloud.fake.inject_fault("list_secrets", drop_connection=True)
    assert [i.id for i in client.list()] == ["k"]
    assert _ops(fake_open_cloud, "list_secrets")[-2:] == [
        ("list_secrets", None),
        ("list_secrets", 200),
    ]


# Issue 8 (C8) changed these: a write dropped or timed out after it was sent may still land,
# so it is never sent again (a late copy would undo a newer write); its outcome is unknown.
@pytest.mark.parametrize("operation", ["create_secret", "update_secret"])
def test_dropped_write_is_not_resent(operation: str, make: Any, fake_open_cloud: Any) -> None:
    client = make(fake_open_cloud, sleep=_no_sleep)
    client.create("k", "v0")
    fake_open_cloud.fake.inject_fault(operation, drop_connection=True)
    secret = "k2" if operation == "create_secret" else "k"
    with pytest.raises(TransportError) as info:
        client.set(secret, "v1", exists=operation == "update_secret")
    assert info.value.outcome_unknown
    assert _ops(fake_open_cloud, operation)[-1:] == [(operation, None)]


def _wait_for_commit(cloud: Any, operation: str) -> None:
    deadline = time.monotonic() + 10
    while not any(e.operation == operation and e.status in (200, 201) for e in cloud.fake.journal):
        assert time.monotonic() < deadline
        time.sleep(0.005)


@pytest.mark.parametrize("bulk", [False, True])
def test_create_that_timed_out_is_outcome_unknown_not_resent(
    bulk: bool, make: Any, fake_open_cloud: Any
) -> None:
    # The fake answers after 0.3 s, the client gives up after 0.1 s: the create happened but
    # the client cannot know, and does not send it again.
    fake_open_cloud.fake.inject_fault("create_secret", latency=0.3)
    client = make(fake_open_cloud, timeout=0.1, sleep=_no_sleep)
    client.public_key()
    if bulk:
        result = client.set_many({"slow": "the value"})[0]
        assert result.action == "failed" and result.outcome_unknown
    else:
        with pytest.raises(TransportError) as info:
            client.set("slow", "the value")
        assert info.value.outcome_unknown
    _wait_for_commit(fake_open_cloud, "create_secret")
    assert fake_open_cloud.plaintext("slow") == "the value"
    assert _ops(fake_open_cloud, "create_secret", "update_secret") == [("create_secret", 201)]


_KEY = {"id": "public-key", "secret": "ZrnxBrwkE9/mrC/8Au5vkcDwHWC4KUhoiIpN0MUHG2I=", "key_id": "1"}


def test_a_409_after_a_5xx_create_explains_it_may_be_ours() -> None:
    # A 502 may come after the server stored the secret: the retry's 409 may be its own.
    client, adapter = canned_client(
        (200, _KEY, {}),
        (502, "<html>Bad gateway</html>", {}),
        (409, {"detail": "exists"}, {}),
        sleep=_no_sleep,
    )
    with pytest.raises(Exception) as info:
        client.create("slow", "v")
    assert str(info.value).endswith(
        "An earlier attempt failed after it may have created it; use set() to be sure of its value."
    )
    assert [r.method for r in adapter.sent] == ["GET", "POST", "POST"]


def test_delete_whose_5xx_attempt_deleted_it_succeeds() -> None:
    client, adapter = canned_client(
        (503, {"detail": "busy"}, {}), (404, {"detail": "no such secret"}, {}), sleep=_no_sleep
    )
    client.delete("k")  # the retry's 404 may be the first attempt's doing
    assert [r.method for r in adapter.sent] == ["DELETE", "DELETE"]


def test_timeouts_exhausting_retries_raise_transport_error(fake_open_cloud: Any) -> None:
    fake_open_cloud.fake.inject_fault("list_secrets", latency=0.3, times=2)
    client = mounted_client(fake_open_cloud, timeout=0.05, max_retries=1, sleep=_no_sleep)
    with pytest.raises(TransportError, match=r"\(no answer within 0.05 s\)"):
        client.list()


# -- key rotation ---------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 4])
def test_key_rotation_in_the_middle_of_a_bulk_run(concurrency: int, fake_open_cloud: Any) -> None:
    fake = fake_open_cloud.fake
    values = {f"secret_{i:02d}": f"value {i} ✓" for i in range(40)}
    done: list[SetResult] = []

    def progress(result: SetResult) -> None:
        done.append(result)
        if len(done) == 10:
            fake.rotate_key(fake_open_cloud.universe_id)

    client = client_for(fake_open_cloud)
    results = client.set_many(values, concurrency=concurrency, progress=progress)
    assert [r.action for r in results] == ["created"] * 40
    assert {s: fake_open_cloud.plaintext(s) for s in values} == values
    # The key was fetched once, then once more after the rotation: never per secret.
    assert len(_ops(fake_open_cloud, "get_public_key")) == 2
    new_key = fake.universe(fake_open_cloud.universe_id).key_id
    assert client.public_key().key_id == new_key


def test_second_key_id_rejection_is_raised() -> None:
    import base64

    from nacl.public import PrivateKey

    public = base64.b64encode(bytes(PrivateKey.generate().public_key)).decode()
    key = {"id": "public-key", "secret": public, "key_id": "1"}
    rejected = {"status": "400", "detail": "key_id is not the current key"}
    client, adapter = canned_client(
        (200, key, {}), (400, rejected, {}), (200, key, {}), (400, rejected, {})
    )
    # The server's words about a write are not shown; that it blamed the key_id is.
    with pytest.raises(BadRequestError, match="HTTP 400: the key_id was refused"):
        client.create("k", "v")
    assert [r.method for r in adapter.sent] == ["GET", "POST", "GET", "POST"]


def test_other_400s_are_not_retried() -> None:
    import base64

    from nacl.public import PrivateKey

    public = base64.b64encode(bytes(PrivateKey.generate().public_key)).decode()
    key = {"id": "public-key", "secret": public, "key_id": "1"}
    client, adapter = canned_client((200, key, {}), (400, {"detail": "domain is invalid"}, {}))
    with pytest.raises(BadRequestError):
        client.create("k", "v")
    assert [r.method for r in adapter.sent] == ["GET", "POST"]


# -- pacing ---------------------------------------------------------------------------------


def test_500_secrets_paced_to_the_server_limit_without_a_429(fake_open_cloud_factory: Any) -> None:
    clock = VirtualClock()
    cloud = fake_open_cloud_factory(rate_limit=(120, 60.0), clock=clock, serve=False)
    client = mounted_client(cloud, rate_limit=(120, 60.0), clock=clock, sleep=clock.sleep)
    values = {f"s{i:03d}": f"value number {i}" for i in range(500)}
    started = clock.now
    results = client.set_many(values)
    assert all(r.action == "created" for r in results)
    assert {s: cloud.plaintext(s) for s in values} == values
    assert Counter(e.status for e in cloud.fake.journal) == {200: 2, 201: 500}
    # Virtual time, so exact: the first 120 requests ride the full bucket, the other 382 go
    # at 2 per second: the least time the server allows, without a single 429.
    assert clock.now - started == pytest.approx((502 - 120) / 2, abs=0.5)


def test_server_headers_override_the_default_quota(fake_open_cloud_factory: Any) -> None:
    clock = VirtualClock()
    cloud = fake_open_cloud_factory(rate_limit=(10, 1.0), clock=clock, serve=False)
    # The client assumes Roblox's 120/60 s until the first answer says 10 per second.
    client = mounted_client(cloud, rate_limit=(120, 60.0), clock=clock, sleep=clock.sleep)
    client.set_many({f"s{i}": "v" for i in range(48)})
    assert all(e.status != 429 for e in cloud.fake.journal)
    assert clock.now - 1000.0 == pytest.approx((50 - 10) / 10, abs=0.2)


def test_default_quota_paces_when_the_server_sends_no_headers(fake_open_cloud: Any) -> None:
    clock = VirtualClock()
    client = mounted_client(fake_open_cloud, rate_limit=(10, 60.0), clock=clock, sleep=clock.sleep)
    client.set_many({f"s{i}": "v" for i in range(28)})
    # 30 requests: 10 from the full bucket, then one every 6 s.
    assert clock.now - 1000.0 == pytest.approx(20 * 6.0)


def test_clients_sharing_a_pacer_stay_at_the_rate_together(fake_open_cloud_factory: Any) -> None:
    # Roblox's limit is per API key owner: two universes with one key share one bucket, so
    # their clients share one pacer. Each client's next request follows the other's.
    clock = VirtualClock()
    cloud = fake_open_cloud_factory(universes=2, rate_limit=(10, 1.0), clock=clock, serve=False)
    pacer = Pacer((10, 1.0), clock=clock, sleep=clock.sleep)
    session = requests.Session()
    cloud.fake.mount(session)
    clients = [
        SecretsClient(u, api_key=cloud.api_key, session=session, pacer=pacer, sleep=clock.sleep)
        for u in cloud.universe_ids
    ]
    values = {f"s{i:02d}": f"value {i}" for i in range(20)}
    for client in clients:
        client.public_key()
    for name, value in values.items():
        for client in clients:
            client.create(name, value)
    for universe in cloud.universe_ids:
        assert {s: cloud.plaintext(s, universe) for s in values} == values
    assert Counter(e.status for e in cloud.fake.journal) == {200: 2, 201: 40}
    # 42 requests: 10 from the full bucket, the other 32 at the shared 10 per second.
    assert clock.now - 1000.0 == pytest.approx(32 / 10, abs=0.05)


def test_concurrent_bulk_run_under_a_real_rate_limit(fake_open_cloud_factory: Any) -> None:
    cloud = fake_open_cloud_factory(rate_limit=(20, 0.2))
    values = {f"s{i:02d}": f"v{i}" for i in range(60)}
    threads: set[int] = set()
    results = client_for(cloud).set_many(
        values, concurrency=4, progress=lambda r: threads.add(threading.get_ident())
    )
    assert [r.secret_id for r in results] == list(values)
    assert all(r.ok for r in results)
    assert {s: cloud.plaintext(s) for s in values} == values
    # Progress is reported from the caller's thread, where a progress bar can draw.
    assert threads == {threading.get_ident()}


# -- bulk failures --------------------------------------------------------------------------


def test_one_failure_does_not_stop_the_run(fake_open_cloud: Any) -> None:
    fake_open_cloud.fake.inject_fault("create_secret", status=400)
    results = client_for(fake_open_cloud).set_many({"a": "1", "b": "2", "c": "3"})
    assert [r.action for r in results] == ["failed", "created", "created"]
    assert isinstance(results[0].error, BadRequestError)
    assert fake_open_cloud.fake.secret_ids(fake_open_cloud.universe_id) == ["b", "c"]


@pytest.mark.parametrize("concurrency", [1, 3])
def test_permission_failure_stops_sending(concurrency: int, fake_open_cloud: Any) -> None:
    read_only = fake_open_cloud.fake.add_api_key(write=False)
    client = SecretsClient(
        fake_open_cloud.universe_id, api_key=read_only.key, base_url=fake_open_cloud.url
    )
    results = client.set_many({f"s{i}": "v" for i in range(20)}, concurrency=concurrency)
    assert all(isinstance(r.error, PermissionDeniedError) for r in results)
    # At most one create per thread was sent before the first 403 stopped the run.
    assert len(_ops(fake_open_cloud, "create_secret")) <= concurrency


def test_set_many_raises_when_listing_fails(fake_open_cloud: Any) -> None:
    client = SecretsClient(
        fake_open_cloud.universe_id, api_key="unknown-key", base_url=fake_open_cloud.url
    )
    with pytest.raises(AuthenticationError):
        client.set_many({"a": "v"})


def test_set_many_with_nothing_valid_sends_nothing(fake_open_cloud: Any) -> None:
    results = client_for(fake_open_cloud).set_many({"1bad": "v", "ok": ""})
    assert [r.action for r in results] == ["failed", "failed"]
    assert fake_open_cloud.fake.journal == []


def test_a_raising_progress_callback_stops_the_run(fake_open_cloud: Any) -> None:
    def explode(result: SetResult) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client_for(fake_open_cloud).set_many(
            {f"s{i:02d}": "v" for i in range(50)}, concurrency=2, progress=explode
        )
    # Unsent secrets were cancelled rather than sent in the background.
    assert len(fake_open_cloud.fake.secret_ids(fake_open_cloud.universe_id)) < 50


def test_session_is_reused_for_keep_alive(fake_open_cloud: Any) -> None:
    session = requests.Session()
    client = SecretsClient(
        fake_open_cloud.universe_id,
        api_key=fake_open_cloud.api_key,
        base_url=fake_open_cloud.url,
        session=session,
        rate_limit=None,
    )
    client.set_many({f"s{i}": "v" for i in range(5)})
    pool = session.get_adapter(fake_open_cloud.url + "/").poolmanager
    assert len(pool.pools) == 1
    client.close()  # a session the caller passed in stays open
    assert session.get_adapter(fake_open_cloud.url + "/") is not None


def test_429_on_a_read_waits_through_the_pacer(fake_open_cloud: Any) -> None:
    # Left to urllib3, the wait would happen in its own sleep, for this thread alone.
    hooks, waits = _recording_clock()
    fake_open_cloud.fake.inject_fault("list_secrets", status=429, retry_after=2)
    assert client_for(fake_open_cloud, **hooks).list() == []
    assert waits == [2.0]
    assert _ops(fake_open_cloud) == [("list_secrets", 429), ("list_secrets", 200)]


def test_a_long_retry_after_on_a_read_is_reported_not_slept(fake_open_cloud: Any) -> None:
    fake_open_cloud.fake.inject_fault("get_public_key", status=429, retry_after=3600)
    client = client_for(fake_open_cloud)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.public_key()
        except RateLimitedError as err:
            outcome.append(err)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(60)  # a guard against hanging, not a timing assertion
    assert not worker.is_alive(), "the client slept through Retry-After: 3600"
    assert "Wait 3600 s" in str(outcome[0])
    assert _ops(fake_open_cloud) == [("get_public_key", 429)]


def test_a_write_that_could_not_connect_is_not_retried_twice_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A connection that could not be made is retried once per retry, not by urllib3 too;
    # nothing was sent, so the outcome is known: the change was not made.
    attempts: list[str] = []
    real_new_conn = urllib3.connection.HTTPConnection._new_conn

    def counting(self: Any) -> Any:
        attempts.append(self.host)
        return real_new_conn(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "_new_conn", counting)
    client = SecretsClient(
        1, api_key="k" * 20, base_url="http://127.0.0.1:9", max_retries=1, sleep=_no_sleep
    )
    with pytest.raises(TransportError) as info:
        client.delete("k")
    # Refused by loopback: nothing listens, so it is final at once (issue 8, E17).
    assert len(attempts) == 1
    assert not info.value.outcome_unknown
    assert str(info.value).endswith("Check the network and base_url (RBX_OPEN_CLOUD_URL).")


@pytest.mark.parametrize("concurrency", [1, 3])
def test_rate_limit_that_waiting_cannot_cure_stops_sending(
    concurrency: int, fake_open_cloud: Any
) -> None:
    fake_open_cloud.fake.inject_fault("create_secret", status=429, retry_after=3600, times=20)
    results = client_for(fake_open_cloud).set_many(
        {f"s{i}": "v" for i in range(12)}, concurrency=concurrency
    )
    assert all(isinstance(r.error, RateLimitedError) for r in results)
    assert len(_ops(fake_open_cloud, "create_secret")) <= concurrency


@pytest.mark.parametrize("rate_limit", [(0, 60.0), (10, 0), (10, -1.0), (10,), "fast", (True, 1)])
def test_invalid_rate_limit_is_an_input_error(rate_limit: Any) -> None:
    with pytest.raises(InvalidInputError, match=r"^Invalid rate_limit: give \(requests"):
        SecretsClient(1, api_key="k" * 20, rate_limit=rate_limit)
