"""Issue 8, C8: a write that may still be in flight is never resent, nor reported done.

The fake answers a write late (its scripted ``latency`` fault) while the client gives up
sooner: the request was sent, so it may still land. Resending it is what lost a newer value in
the review (the first write was sent three times and the last copy landed after the second
write). The oracle is the fake itself: its plaintext and the journal's write count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from rbxsecrets_magic import SecretsClient, TransportError
from tests.rbxsecrets_magic.support import CannedAdapter, client_for

LATE = 0.8  # the fake answers writes after this long
TIMEOUT = 0.3  # the client waits this long


def _writes(cloud: Any, secret_id: str) -> list[tuple[str | None, int | None]]:
    """The writes the fake received for ``secret_id``: (operation, status), in order."""
    return [
        (e.operation, e.status)
        for e in cloud.fake.journal
        if e.operation in ("create_secret", "update_secret", "delete_secret")
        and (e.path.endswith(f"/{secret_id}") or e.operation == "create_secret")
    ]


def _wait_until(condition: Callable[[], bool], limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "the late write never landed"
        time.sleep(0.02)


def _update_time(client: SecretsClient, secret_id: str) -> Any:
    return next(i.update_time for i in client.list() if i.id == secret_id)


def test_a_late_write_is_not_resent_and_the_newer_value_survives(fake_open_cloud: Any) -> None:
    # The review's sequence: set v1 (answered too late), then v2. Before the fix both said
    # "updated" and the fake ended with v1, sent three times.
    client = client_for(fake_open_cloud, timeout=TIMEOUT)
    client.set("api_token", "v0-FIRST")
    before = _update_time(client, "api_token")
    fake_open_cloud.fake.inject_fault("update_secret", latency=LATE, times=3)
    with pytest.raises(TransportError) as info:
        client.set("api_token", "v1-OLD", exists=True)
    error = info.value
    assert error.outcome_unknown
    message = str(error)
    assert "may still take effect later" in message
    assert "not sent again" in message
    assert "update time" in message
    assert "safe to repeat" not in message
    # The advice: wait for the listing's update time to move before writing another value.
    _wait_until(lambda: _update_time(client, "api_token") != before)
    fake_open_cloud.fake.clear_faults()
    assert client.set("api_token", "v2-NEW", exists=True).action == "updated"
    time.sleep(LATE + 0.2)  # nothing else is in flight: this changes nothing
    assert fake_open_cloud.plaintext("api_token") == "v2-NEW"
    assert [op for op, _ in _writes(fake_open_cloud, "api_token")].count("update_secret") == 2


def test_a_create_that_may_be_in_flight_is_not_resent_by_set(fake_open_cloud: Any) -> None:
    # set() with no listing tries a create first; its timeout must not turn into a retry, nor
    # into a 409-then-update that would resend the value.
    client = client_for(fake_open_cloud, timeout=TIMEOUT)
    client.public_key()
    fake_open_cloud.fake.inject_fault("create_secret", latency=LATE)
    with pytest.raises(TransportError) as info:
        client.set("slow", "the value")
    assert info.value.outcome_unknown
    _wait_until(lambda: "slow" in fake_open_cloud.fake.secret_ids(fake_open_cloud.universe_id))
    time.sleep(0.1)
    assert fake_open_cloud.plaintext("slow") == "the value"
    ops = [op for op, _ in _writes(fake_open_cloud, "slow")]
    assert ops == ["create_secret"]


def test_set_many_marks_a_late_write_outcome_unknown_and_sends_it_once(
    fake_open_cloud: Any,
) -> None:
    client = client_for(fake_open_cloud, timeout=TIMEOUT)
    client.set("slow", "v0")
    client.set("fast", "v0")
    fake_open_cloud.fake.inject_fault("update_secret", latency=LATE)
    slow, fast = client.set_many({"slow": "v1", "fast": "v1"})
    assert not slow.ok and slow.outcome_unknown
    assert slow.error is not None and "may still take effect later" in str(slow.error)
    assert fast.action == "updated" and not fast.outcome_unknown
    _wait_until(lambda: fake_open_cloud.plaintext("slow") == "v1")
    time.sleep(0.1)
    updates = [
        e
        for e in fake_open_cloud.fake.journal
        if e.operation == "update_secret" and e.path.endswith("/slow")
    ]
    assert len(updates) == 1


def test_a_delete_that_may_be_in_flight_is_not_resent(fake_open_cloud: Any) -> None:
    # A late DELETE resent after the user created the secret again would delete the new one.
    client = client_for(fake_open_cloud, timeout=TIMEOUT)
    client.create("k", "v")
    fake_open_cloud.fake.inject_fault("delete_secret", latency=LATE)
    with pytest.raises(TransportError) as info:
        client.delete("k")
    assert info.value.outcome_unknown
    _wait_until(lambda: fake_open_cloud.fake.secret_ids(fake_open_cloud.universe_id) == [])
    time.sleep(0.1)
    deletes = [e for e in fake_open_cloud.fake.journal if e.operation == "delete_secret"]
    assert len(deletes) == 1


def test_a_dropped_write_is_not_resent_but_a_dropped_read_is(fake_open_cloud: Any) -> None:
    # The fake reads the whole request, then drops the connection: it may have been acted on.
    client = client_for(fake_open_cloud, sleep=lambda _: None)
    client.create("k", "v0")
    fake_open_cloud.fake.inject_fault("update_secret", drop_connection=True)
    with pytest.raises(TransportError) as info:
        client.set("k", "v1", exists=True)
    assert info.value.outcome_unknown
    assert [op for op, _ in _writes(fake_open_cloud, "k")].count("update_secret") == 1
    fake_open_cloud.fake.inject_fault("list_secrets", drop_connection=True)
    assert [i.id for i in client.list()] == ["k"]


def test_answered_5xx_and_429_writes_are_still_retried(fake_open_cloud: Any) -> None:
    client = client_for(fake_open_cloud, sleep=lambda _: None)
    client.create("k", "v0")
    fake_open_cloud.fake.inject_fault("update_secret", status=503, retry_after=0)
    fake_open_cloud.fake.inject_fault("update_secret", status=429, retry_after=0)
    assert client.set("k", "v1", exists=True).action == "updated"
    assert fake_open_cloud.plaintext("k") == "v1"
    assert [s for op, s in _writes(fake_open_cloud, "k") if op == "update_secret"] == [
        503,
        429,
        200,
    ]


def test_a_gateway_timeout_is_a_write_in_flight_too() -> None:
    # 504: a proxy gave up waiting for the server, which may still be writing.
    public = "ZrnxBrwkE9/mrC/8Au5vkcDwHWC4KUhoiIpN0MUHG2I="
    client, adapter = _canned(
        (200, {"id": "public-key", "secret": public, "key_id": "1"}, {}),
        (504, "<html>Gateway Timeout</html>", {}),
    )
    with pytest.raises(Exception) as info:
        client.update("k", "v1")
    assert getattr(info.value, "outcome_unknown", False)
    assert [r.method for r in adapter.sent] == ["GET", "PATCH"]


class _ConnectFailsOnce(CannedAdapter):
    """Fails the first write with a connect error (nothing was sent), then answers."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if request.method == "PATCH" and not any(r.method == "PATCH" for r in self.sent):
            self.sent.append(request)
            raise requests.ConnectTimeout("connect timed out")
        return super().send(request, **kwargs)


def _canned(
    *answers: tuple[int, Any, dict[str, str]], adapter_cls: type[CannedAdapter] = CannedAdapter
) -> tuple[SecretsClient, Any]:
    adapter = adapter_cls(*answers)
    session = requests.Session()
    session.mount("https://apis.roblox.com", adapter)
    client = SecretsClient(
        123,
        api_key="canned-api-key-0123456789",
        session=session,
        rate_limit=None,
        sleep=lambda _: None,
    )
    return client, adapter


def test_a_write_that_provably_was_not_sent_is_retried() -> None:
    public = "ZrnxBrwkE9/mrC/8Au5vkcDwHWC4KUhoiIpN0MUHG2I="
    client, adapter = _canned(
        (200, {"id": "public-key", "secret": public, "key_id": "1"}, {}),
        (200, {"id": "k", "key_id": "1"}, {}),
        adapter_cls=_ConnectFailsOnce,
    )
    assert client.update("k", "v1").id == "k"
    assert [r.method for r in adapter.sent] == ["GET", "PATCH", "PATCH"]
