"""The fake's test-facing API: setup, oracle, key rotation, journal, and its building blocks."""

from __future__ import annotations

import base64
import logging

import pytest
from nacl.public import PrivateKey, PublicKey, SealedBox

import fakeserver
from fakeserver import FakeOpenCloud
from fakeserver.backend.keys import SEAL_OVERHEAD, KeyPair, UnsealError, new_key_id
from fakeserver.backend.ratelimit import TokenBucket, format_seconds
from fakeserver.errors import (
    ApiProblem,
    BadRequest,
    Conflict,
    DropConnection,
    Forbidden,
    InjectedFault,
    MethodNotAllowed,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from tests.fakeserver.support import FakeClock, WsgiClient, full_setup, seal


def test_exports_are_pinned():
    assert fakeserver.__all__ == sorted(fakeserver.__all__, key=lambda n: (not n.isupper(), n))
    assert set(fakeserver.__all__) == {
        "OPERATIONS",
        "ApiKey",
        "DropConnection",
        "FakeOpenCloud",
        "FakeServer",
        "GameServer",
        "GameServerError",
        "JournalEntry",
        "OAuthToken",
        "RestartScheduled",
        "Secret",
        "Universe",
    }
    assert fakeserver.OPERATIONS == (
        "get_public_key",
        "list_secrets",
        "create_secret",
        "update_secret",
        "delete_secret",
        "restart_servers",
        "forecast_restart",
        "launch_restart",
        "list_restarts",
    )
    with pytest.raises(AttributeError):
        fakeserver.NoSuchThing  # noqa: B018


def test_fake_server_is_exported_lazily():
    from fakeserver.transports.server import FakeServer

    assert fakeserver.FakeServer is FakeServer


# --------------------------------------------------------------------------- universes


def test_add_universe_generates_unique_ids_and_real_keys():
    fake = FakeOpenCloud()
    universes = [fake.add_universe() for _ in range(5)]
    assert len({u.universe_id for u in universes}) == 5
    assert len({u.key_id for u in universes}) == 5
    for universe in universes:
        assert universe.key_id.isdigit() and not universe.key_id.startswith("0")
        assert len(base64.b64decode(universe.public_key, validate=True)) == 32
    assert fake.universes == sorted(universes, key=lambda u: u.universe_id)


def test_add_universe_explicit_and_invalid_ids():
    fake = FakeOpenCloud()
    assert fake.add_universe(6930499524).universe_id == 6930499524
    with pytest.raises(ValueError, match="already exists"):
        fake.add_universe(6930499524)
    for bad in (0, -1, 2**63):
        with pytest.raises(ValueError):
            fake.add_universe(bad)
    # A generated id skips an explicit one that took its place.
    fake.add_universe(4_000_000_001)
    assert fake.add_universe().universe_id == 4_000_000_002


def test_universe_lookup_and_oracle_errors():
    fake = FakeOpenCloud()
    with pytest.raises(KeyError):
        fake.universe(1)
    with pytest.raises(KeyError):
        fake.secret_ids(1)
    universe = fake.add_universe()
    with pytest.raises(KeyError):
        fake.plaintext(universe.universe_id, "missing")


# --------------------------------------------------------------------------- credentials


def test_api_key_defaults_headers_and_repr_hide_the_key():
    fake = FakeOpenCloud()
    key = fake.add_api_key()
    assert key.read and key.write and key.universe_ids is None
    assert key.headers == {"x-api-key": key.key}
    assert len(key.key) >= 40
    assert key.key not in repr(key) and key.key not in str(key)
    assert key.credential_id == "apikey-1"
    assert key.key not in repr(fake)
    other = fake.add_api_key(read=False, universe_ids=[1, 2], key="my-key")
    assert (other.read, other.write, other.universe_ids) == (False, True, frozenset({1, 2}))
    assert other.credential_id == "apikey-2"


def test_oauth_token_headers_and_repr_hide_the_token():
    fake = FakeOpenCloud()
    token = fake.add_oauth_token(scopes=["universe.secret:read"], token="tok-123")
    assert token.headers == {"Authorization": "Bearer tok-123"}
    assert "tok-123" not in repr(token)
    assert token.scopes == frozenset({"universe.secret:read"})
    assert token.credential_id.startswith("oauth-")


@pytest.mark.parametrize("bad", ["", " lead", "trail ", "new\nline", "tab\tkey", "é-key"])
def test_credentials_must_be_header_safe_and_errors_do_not_echo(bad):
    fake = FakeOpenCloud()
    with pytest.raises(ValueError) as info:
        fake.add_api_key(key=bad)
    if bad.strip():
        assert bad.strip() not in str(info.value)
    with pytest.raises(ValueError):
        fake.add_oauth_token(token=bad)


def test_duplicate_credentials_are_refused_without_echo():
    fake = FakeOpenCloud()
    fake.add_api_key(key="same-secret-key")
    with pytest.raises(ValueError) as info:
        fake.add_api_key(key="same-secret-key")
    assert "same-secret-key" not in str(info.value)
    fake.add_oauth_token(token="same-secret-key")  # a different kind of credential
    with pytest.raises(ValueError):
        fake.add_oauth_token(token="same-secret-key")


# --------------------------------------------------------------------------- key rotation


def test_rotate_key_rejects_the_previous_key_by_default():
    fake, uid, client = full_setup()
    old_key_id, old_public = client.key()
    sealed_old = seal("v", old_public)
    new_key_id_ = fake.rotate_key(uid)
    assert new_key_id_ != old_key_id
    assert fake.universe(uid).key_id == new_key_id_
    assert client.key()[0] == new_key_id_
    body = {"id": "x", "secret": sealed_old, "key_id": old_key_id}
    response = client.request("POST", client.base, body)
    assert response.status == 400
    assert "key_id" in response.json["detail"]
    assert new_key_id_ in response.json["detail"]
    assert client.create("x", "v").status == 201


def test_grace_period_accepts_the_previous_key_on_the_fake_clock():
    clock = FakeClock()
    fake, uid, client = full_setup(clock=clock, key_grace_seconds=30)
    old_key_id, old_public = client.key()
    fake.rotate_key(uid)
    body = {"id": "x", "secret": seal("during grace", old_public), "key_id": old_key_id}
    response = client.request("POST", client.base, body)
    assert response.status == 201
    assert response.json["key_id"] == old_key_id
    assert fake.plaintext(uid, "x") == "during grace"
    clock.advance(30)
    body = {"secret": seal("after grace", old_public), "key_id": old_key_id}
    assert client.request("PATCH", f"{client.base}/x", body).status == 400
    assert fake.plaintext(uid, "x") == "during grace"


def test_grace_covers_only_the_key_just_replaced():
    clock = FakeClock()
    fake, uid, client = full_setup(clock=clock)
    first_id, first_public = client.key()
    second = fake.rotate_key(uid, grace_seconds=100)
    second_public = fake.universe(uid).public_key
    fake.rotate_key(uid, grace_seconds=100)
    for key_id, public, status in [(first_id, first_public, 400), (second, second_public, 201)]:
        body = {"id": f"k{status}", "secret": seal("v", public), "key_id": key_id}
        assert client.request("POST", client.base, body).status == status


def test_a_box_for_the_old_key_with_the_new_key_id_does_not_open():
    fake, uid, client = full_setup()
    _, old_public = client.key()
    new_id = fake.rotate_key(uid, grace_seconds=60)
    body = {"id": "x", "secret": seal("v", old_public), "key_id": new_id}
    response = client.request("POST", client.base, body)
    assert response.status == 400
    assert "sealed box" in response.json["detail"]


def test_rotate_key_of_unknown_universe_is_key_error():
    with pytest.raises(KeyError):
        FakeOpenCloud().rotate_key(5)


# --------------------------------------------------------------------------- oracle, seeding


def test_oracle_views_and_put_secret():
    fake, uid, client = full_setup()
    first = fake.put_secret(uid, "b", "value b", domain="*.X.com")
    assert first["domain"] == "*.x.com"
    fake.put_secret(uid, "a", "value a")
    assert fake.secret_ids(uid) == ["a", "b"]
    assert fake.plaintext(uid, "b") == "value b"
    assert [i["id"] for i in fake.secret_items(uid)] == ["a", "b"]
    assert all("value" not in str(item) for item in fake.secret_items(uid))
    assert fake.snapshot() == {uid: {"a": (None, "value a"), "b": ("*.x.com", "value b")}}
    replaced = fake.put_secret(uid, "b", "again")
    assert replaced["create_time"] == first["create_time"]
    assert fake.plaintext(uid, "b") == "again"
    assert client.list().json["secrets"] == fake.secret_items(uid)


@pytest.mark.parametrize(
    ("secret_id", "value", "domain"),
    [("1x", "v", None), ("x", "", None), ("x", "v" * 1025, None), ("x", "v", "bad domain")],
)
def test_put_secret_applies_the_api_rules(secret_id, value, domain):
    fake, uid, _ = full_setup()
    with pytest.raises(ValueError):
        fake.put_secret(uid, secret_id, value, domain=domain)
    assert fake.secret_ids(uid) == []


def test_put_secret_unknown_universe():
    with pytest.raises(KeyError):
        FakeOpenCloud().put_secret(1, "x", "v")


def test_reset_drops_everything_but_switches():
    fake, _uid, client = full_setup(problem_status_as_number=True, rate_limit=(5, 1.0))
    client.create("x", "v")
    fake.reset()
    assert fake.universes == []
    assert fake.journal == []
    assert fake.problem_status_as_number and fake.rate_limit == (5, 1.0)
    assert client.list().status == 401
    universe = fake.add_universe()
    key = fake.add_api_key()
    assert WsgiClient(fake, universe.universe_id, key.headers).list().status == 200


def test_reprs_never_show_values_or_keys():
    fake, uid, client = full_setup()
    client.create("x", "repr-secret-value")
    state = fake.backend._universes[uid]
    texts = [
        repr(fake),
        repr(state.secrets["x"]),
        repr(state.key),
        repr(fake.journal),
        repr(fake.app),
    ]
    for text in texts:
        assert "repr-secret-value" not in text
        assert client.headers["x-api-key"] not in text


def test_timestamps_are_rfc3339_utc_microseconds(monkeypatch):
    from fakeserver.backend import state as backend

    clock = iter([1795766877_472900_123, 1795766877_999999_999, 1795766878_000000_500])
    monkeypatch.setattr(backend.time, "time_ns", lambda: next(clock))
    assert backend._timestamp() == "2026-11-27T08:07:57.472900Z"
    assert backend._timestamp() == "2026-11-27T08:07:57.999999Z"
    assert backend._timestamp() == "2026-11-27T08:07:58.000000Z"


def test_listeners_get_each_entry():
    fake, _uid, client = full_setup()
    seen = []
    fake.add_listener(seen.append)
    client.list()
    client.delete("x")
    fake.remove_listener(seen.append)
    fake.remove_listener(seen.append)  # no error the second time
    client.list()
    assert [e.status for e in seen] == [200, 404]


def test_journal_limit_keeps_the_newest():
    fake, _uid, client = full_setup(journal_limit=3)
    for _ in range(5):
        client.list()
    client.delete("x")
    assert [e.status for e in fake.journal] == [200, 200, 404]


def test_nothing_is_logged(caplog):
    caplog.set_level(logging.DEBUG)
    _fake, _uid, client = full_setup()
    client.create("x", "logged?")
    client.request("GET", client.base, headers={"x-api-key": "bad"})
    assert "logged?" not in caplog.text
    assert client.headers["x-api-key"] not in caplog.text


# --------------------------------------------------------------------------- keys


def test_keypair_opens_its_own_boxes_only():
    pair = KeyPair("123")
    public = PublicKey(base64.b64decode(pair.public_key))
    assert pair.open(SealedBox(public).encrypt(b"hello")) == b"hello"
    other = SealedBox(PrivateKey.generate().public_key).encrypt(b"hello")
    with pytest.raises(UnsealError) as info:
        pair.open(other)
    assert info.value.args and "hello" not in str(info.value)
    with pytest.raises(UnsealError):
        pair.open(b"\x00" * (SEAL_OVERHEAD - 1))
    assert pair.public_key in repr(pair) and "123" in repr(pair)


def test_keypair_wraps_a_given_private_key():
    private = PrivateKey.generate()
    pair = KeyPair("1", private)
    assert base64.b64decode(pair.public_key) == bytes(private.public_key)


def test_new_key_id_avoids_taken_ids():
    taken = {new_key_id() for _ in range(50)}
    assert all(k.isdigit() and len(k) == 10 for k in taken)
    assert new_key_id(taken) not in taken


# --------------------------------------------------------------------------- token bucket


def test_token_bucket_refills_continuously():
    clock = FakeClock()
    bucket = TokenBucket(2, 10.0, clock)
    assert bucket.take().allowed and bucket.take().allowed
    refused = bucket.take()
    assert not refused.allowed and refused.retry_after == 5
    assert dict(refused.headers)["Retry-After"] == "5"
    clock.advance(2.5)
    refused = bucket.take()
    assert not refused.allowed and refused.retry_after == 3  # 2.5 s, rounded up
    clock.advance(2.5)
    allowed = bucket.take()
    assert allowed.allowed and allowed.retry_after == 0
    assert "Retry-After" not in dict(allowed.headers)
    clock.advance(1000)
    assert dict(bucket.take().headers)["x-ratelimit-remaining"] == "1"
    assert "TokenBucket(limit=2" in repr(bucket) and "allowed" in repr(allowed)


def test_token_bucket_rejects_bad_configuration():
    with pytest.raises(ValueError):
        TokenBucket(0, 1.0, FakeClock())
    with pytest.raises(ValueError):
        TokenBucket(1, 0.0, FakeClock())


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0"), (-1, "0"), (60.0, "60"), (0.5, "0.5"), (1 / 3, "0.333"), (0.0001, "0")],
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


# --------------------------------------------------------------------------- errors


def test_problem_bodies():
    problem = BadRequest("bad thing")
    body = problem.body("/p")
    assert body == {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "Bad Request",
        "status": "400",
        "detail": "bad thing",
        "instance": "/p",
    }
    assert problem.body("/p", status_as_number=True)["status"] == 400
    assert str(problem) == "bad thing" and "400" in repr(problem)
    assert Unauthorized().body("/p") == {"errors": [{"code": 0, "message": "Invalid API Key"}]}
    statuses = [cls("x").status for cls in (Forbidden, NotFound, Conflict, TooManyRequests)]
    assert statuses == [403, 404, 409, 429]
    assert isinstance(Conflict("x"), ApiProblem)


def test_method_not_allowed_and_injected_fault():
    problem = MethodNotAllowed("PUT", ["GET", "POST"])
    assert problem.headers == [("Allow", "GET, POST")]
    assert "PUT" in problem.detail
    assert "<script>" not in MethodNotAllowed("<script>", ["GET"]).detail
    fault = InjectedFault(503, retry_after=3)
    assert fault.status == 503 and fault.headers == [("Retry-After", "3")]
    assert fault.body("/x")["title"] == "Service Unavailable"
    assert InjectedFault(599).body("/x")["type"] == "about:blank"
    assert InjectedFault(599).title == "Error"


def test_drop_connection_is_not_an_api_problem():
    signal = DropConnection("create_secret")
    assert not isinstance(signal, ApiProblem)
    assert "create_secret" in str(signal)
