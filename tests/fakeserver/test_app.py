"""The five endpoints through the WSGI app: statuses, bodies, decrypted values, every error.

Every response returned by the helpers has been validated against the published schemas
(see ``check_response`` in ``support.py``).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re

import pytest
from nacl.public import PrivateKey

from fakeserver import FakeOpenCloud
from tests.fakeserver.support import WsgiClient, full_setup, seal

HOST_253 = ".".join(["a" * 63] * 3 + ["a" * 61])
assert len(HOST_253) == 253
# Microseconds, as Roblox has them: two writes in one millisecond must not share a stamp.
RFC3339_US = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def _create_fails(client: WsgiClient, body: dict[str, object]) -> str:
    """POST ``body`` as a create, assert it is refused with 400, and return the detail."""
    response = client.request("POST", client.base, body)
    assert response.status == 400
    detail: str = response.json["detail"]
    return detail


@pytest.fixture
def env() -> tuple[FakeOpenCloud, int, WsgiClient]:
    """A fake with one universe, one full API key, and a client."""
    return full_setup()


def _sealed_body(fake: FakeOpenCloud, uid: int, secret_id: str) -> dict[str, str]:
    """A valid create body sealed with the universe's current key, fetched without HTTP."""
    universe = fake.universe(uid)
    return {"id": secret_id, "secret": seal("v", universe.public_key), "key_id": universe.key_id}


def _state(fake: FakeOpenCloud) -> tuple[object, object]:
    items = {u.universe_id: fake.secret_items(u.universe_id) for u in fake.universes}
    return fake.snapshot(), items


# --------------------------------------------------------------------------- public key


def test_public_key_is_the_universes_x25519_key(env):
    fake, uid, client = env
    response = client.public_key()
    assert response.status == 200
    body = response.json
    assert body["id"] == "public-key"
    assert len(base64.b64decode(body["secret"], validate=True)) == 32
    assert body["key_id"].isdigit()
    universe = fake.universe(uid)
    assert (body["key_id"], body["secret"]) == (universe.key_id, universe.public_key)


def test_oauth_token_works_like_an_api_key(env):
    fake, uid, _ = env
    token = fake.add_oauth_token()
    client = WsgiClient(fake, uid, token.headers)
    assert client.create("from_oauth", "v").status == 201
    assert fake.plaintext(uid, "from_oauth") == "v"
    lower = WsgiClient(fake, uid, {"Authorization": f"bearer {token.token}"})
    assert lower.public_key().status == 200


# --------------------------------------------------------------------------- create


@pytest.mark.parametrize(
    "value",
    ["s3cret", "héllo wörld", "🔑" * 1024, "x" * 1024, "line\nbreak\ttab", " ", "\x00nul"],
)
def test_create_opens_the_box_and_stores_the_exact_value(env, value):
    fake, uid, client = env
    response = client.create("api_token", value)
    assert response.status == 201
    body = response.json
    assert set(body) == {"id", "domain", "key_id", "create_time", "update_time"}
    assert body["id"] == "api_token"
    assert body["domain"] is None
    assert body["key_id"] == fake.universe(uid).key_id
    assert RFC3339_US.fullmatch(body["create_time"])
    assert body["create_time"] == body["update_time"]
    assert fake.plaintext(uid, "api_token") == value


@pytest.mark.parametrize("secret_id", ["_", "a" * 64, "A_1", "Zz9_", "_0"])
def test_valid_ids(env, secret_id):
    fake, uid, client = env
    assert client.create(secret_id, "v").status == 201
    assert fake.secret_ids(uid) == [secret_id]


@pytest.mark.parametrize(
    "secret_id",
    ["", "1abc", "a-b", "a" * 65, "é", "a b", "a.b", "a\n", 5, True, ["a"], {"a": 1}],
)
def test_invalid_ids_are_400(env, secret_id):
    fake, uid, client = env
    key_id, public = client.key()
    body = {"id": secret_id, "secret": seal("v", public), "key_id": key_id}
    response = client.request("POST", client.base, body)
    assert response.status == 400
    assert fake.secret_ids(uid) == []


def test_create_of_an_existing_id_is_409_and_keeps_the_old_value(env):
    fake, uid, client = env
    assert client.create("dup", "first", domain="a.com").status == 201
    before = _state(fake)
    response = client.create("dup", "second")
    assert response.status == 409
    assert "dup" in response.json["detail"]
    assert _state(fake) == before
    assert fake.plaintext(uid, "dup") == "first"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("*", "*"),
        ("*.example.com", "*.example.com"),
        ("API.Example.COM", "api.example.com"),
        ("*.Stripe.com", "*.stripe.com"),
        ("localhost", "localhost"),
        ("a-b.c0", "a-b.c0"),
        ("x" * 63 + ".com", "x" * 63 + ".com"),
        (HOST_253, HOST_253),
        ("", None),
        (None, None),
    ],
)
def test_valid_domains_are_folded_and_empty_is_private(env, sent, stored):
    _fake, _uid, client = env
    response = client.create("d", "v", domain=sent)
    assert response.status == 201, response.json
    assert response.json["domain"] == stored
    assert client.list().json["secrets"][0]["domain"] == stored


@pytest.mark.parametrize(
    "domain",
    [
        "http://x.com",
        "x.com:443",
        "x.com/path",
        "user@x.com",
        "-a.com",
        "a-.com",
        "a..com",
        "x.com.",
        ".x.com",
        "*.",
        "**",
        "*.*.com",
        "api.*.com",
        "*x.com",
        "x" * 64 + ".com",
        ("a" * 63 + ".") * 4,
        HOST_253 + "a",
        "\u212a.com",  # Kelvin sign: lower() would turn it into an ASCII "k"
        "exa mple.com",
        "ex_ample.com",
        " x.com",
        "x.com\n",
        "bücher.de",
    ],
)
def test_invalid_domains_are_400(env, domain):
    fake, uid, client = env
    response = client.create("d", "v", domain=domain)
    assert response.status == 400
    assert "domain" in response.json["detail"]
    assert fake.secret_ids(uid) == []


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s.rstrip("="),  # unpadded
        lambda s: s.replace("+", "-").replace("/", "_") + "-_",  # URL-safe alphabet
        lambda s: s[:10] + "\n" + s[10:],  # whitespace
        lambda s: " " + s,
        lambda s: s + "=",  # extra padding
        lambda s: s[:-4] + "QUJ=",  # non-canonical trailing bits
        lambda s: s[:-1] + "é",
        lambda s: "",
        lambda s: "QUJD",  # valid base64, far too short for a sealed box
        lambda s: s + "AAAA",  # valid base64 of a longer, broken box
        lambda s: base64.b64encode(b"\x00" * 80).decode(),  # random bytes of box size
    ],
)
def test_bad_base64_or_broken_boxes_are_400(env, mangle):
    fake, uid, client = env
    key_id, public = client.key()
    secret = seal("value", public)
    mangled = mangle(secret)
    assert mangled != secret
    body = {"id": "x", "secret": mangled, "key_id": key_id}
    assert client.request("POST", client.base, body).status == 400
    assert fake.secret_ids(uid) == []


def test_box_sealed_for_another_key_is_400(env):
    fake, uid, client = env
    key_id, _ = client.key()
    other = base64.b64encode(bytes(PrivateKey.generate().public_key)).decode()
    body = {"id": "x", "secret": seal("value", other), "key_id": key_id}
    response = client.request("POST", client.base, body)
    assert response.status == 400
    assert "key_id" in response.json["detail"] or "sealed box" in response.json["detail"]
    assert fake.secret_ids(uid) == []


@pytest.mark.parametrize("key_id", [12345, 1.5, True, ["1"], {"k": "1"}])
def test_key_id_must_be_a_json_string(env, key_id):
    _fake, _uid, client = env
    _, public = client.key()
    body = {"id": "x", "secret": seal("v", public), "key_id": key_id}
    assert "key_id" in _create_fails(client, body)


def test_numeric_key_id_of_the_right_number_is_still_400(env):
    fake, uid, client = env
    key_id, public = client.key()
    body = {"id": "x", "secret": seal("v", public), "key_id": int(key_id)}
    assert client.request("POST", client.base, body).status == 400
    assert fake.secret_ids(uid) == []


@pytest.mark.parametrize("key_id", ["1", "0000000000", "not-a-key", "", "9" * 30])
def test_wrong_key_id_is_400_naming_key_id(env, key_id):
    fake, uid, client = env
    _, public = client.key()
    body = {"id": "x", "secret": seal("v", public), "key_id": key_id}
    assert "key_id" in _create_fails(client, body)
    assert fake.secret_ids(uid) == []


@pytest.mark.parametrize(
    "body",
    [
        {"id": "x", "key_id": "KEY"},
        {"id": "x", "secret": "SEALED"},
        {"id": "x"},
        {"secret": "SEALED", "key_id": "KEY"},
        {"id": None, "secret": "SEALED", "key_id": "KEY"},
        {"id": "x", "secret": None, "key_id": "KEY"},
    ],
)
def test_missing_required_fields_are_400(env, body):
    fake, uid, client = env
    key_id, public = client.key()
    filled = {
        k: (seal("v", public) if v == "SEALED" else key_id if v == "KEY" else v)
        for k, v in body.items()
    }
    assert client.request("POST", client.base, filled).status == 400
    assert fake.secret_ids(uid) == []


@pytest.mark.parametrize(
    "value", ["", "x" * 1025, "🔑" * 1025, b"\xff\xfe", b"\xed\xa0\x80", b"abc\x80"]
)
def test_bad_values_are_400(env, value):
    fake, uid, client = env
    key_id, public = client.key()
    body = {"id": "x", "secret": seal(value, public), "key_id": key_id}
    assert "value" in _create_fails(client, body)
    assert fake.secret_ids(uid) == []


def test_value_far_too_long_is_rejected_before_decryption(env):
    _fake, _uid, client = env
    key_id, public = client.key()
    body = {"id": "x", "secret": seal("x" * 5000, public), "key_id": key_id}
    assert "1024" in _create_fails(client, body)


def test_unknown_fields_are_400(env):
    fake, uid, client = env
    key_id, public = client.key()
    for extra in ({"keyId": "1"}, {"value": "plain"}, {"secret_value": None}, {"é": 1}):
        body = {"id": "x", "secret": seal("v", public), "key_id": key_id, **extra}
        assert "field" in _create_fails(client, body)
    assert fake.secret_ids(uid) == []


def test_unknown_field_name_is_not_echoed_when_it_looks_odd(env):
    _, _, client = env
    response = client.create("x", "v", **{"sk live 12345 secret?!": 1})
    assert response.status == 400
    assert "sk live" not in response.raw.decode()


def test_null_means_absent_and_client_timestamps_are_ignored(env):
    _fake, _uid, client = env
    response = client.create(
        "x", "v", domain=None, create_time="1999-01-01T00:00:00.000Z", update_time=None
    )
    assert response.status == 201
    assert response.json["domain"] is None
    assert response.json["create_time"] != "1999-01-01T00:00:00.000Z"
    assert client.create("y", "v", create_time=5).status == 400  # still must be a string


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"[]",
        b'"x"',
        b"1",
        b"null",
        b"true",
        b'{"id": NaN}',
        b'{"id": Infinity}',
        b"\xff\xfe{}",
        b'\xef\xbb\xbf{"id": "x"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"id": "x"} trailing',
    ],
)
def test_malformed_bodies_are_400(env, raw):
    fake, uid, client = env
    assert client.request("POST", client.base, raw=raw).status == 400
    assert client.request("PATCH", f"{client.base}/x", raw=raw).status in (400, 404)
    assert fake.secret_ids(uid) == []


def test_body_larger_than_the_limit_is_400_and_drained(env):
    fake, _uid, client = env
    raw = b'{"id": "' + b"a" * 200_000 + b'"}'
    assert client.request("POST", client.base, raw=raw).status == 400
    assert fake.journal[-1].request_bytes == 0


def test_the_501st_secret_is_400_but_a_duplicate_is_still_409(env):
    fake, uid, client = env
    for i in range(500):
        fake.put_secret(uid, f"s{i:03d}", "v")
    before = _state(fake)
    response = client.create("one_more", "v")
    assert response.status == 400
    assert "500" in response.json["detail"]
    assert client.create("s000", "v").status == 409
    assert _state(fake) == before
    assert client.delete("s000").status == 200
    assert client.create("one_more", "v").status == 201


# --------------------------------------------------------------------------- update


def test_writes_in_quick_succession_get_distinct_update_times(env):
    """Within one millisecond too: the client's state tells writes apart by update_time."""
    _fake, _uid, client = env
    stamps = [client.create("x", "v0").json["update_time"]]
    stamps += [client.update("x", f"v{i}").json["update_time"] for i in range(1, 20)]
    assert all(RFC3339_US.fullmatch(s) for s in stamps)
    assert len(set(stamps)) == len(stamps)
    assert stamps == sorted(stamps)


def test_update_value_keeps_domain_and_create_time(env):
    fake, uid, client = env
    created = client.create("x", "old", domain="a.com").json
    response = client.update("x", "new")
    assert response.status == 200
    body = response.json
    assert body["domain"] == "a.com"
    assert body["create_time"] == created["create_time"]
    assert body["update_time"] >= created["update_time"]
    assert fake.plaintext(uid, "x") == "new"


def test_update_domain_only_keeps_value_and_key_id(env):
    fake, uid, client = env
    client.create("x", "value")
    key_id = fake.universe(uid).key_id
    fake.rotate_key(uid)
    response = client.update("x", domain="*.B.com")
    assert response.status == 200
    assert response.json["domain"] == "*.b.com"
    assert response.json["key_id"] == key_id
    assert fake.plaintext(uid, "x") == "value"


def test_update_with_new_key_records_that_key(env):
    fake, uid, client = env
    client.create("x", "value")
    new_key = fake.rotate_key(uid)
    response = client.update("x", "v2")
    assert response.json["key_id"] == new_key
    assert fake.plaintext(uid, "x") == "v2"


def test_update_domain_empty_makes_private_and_null_keeps(env):
    _fake, _uid, client = env
    client.create("x", "value", domain="a.com")
    assert client.update("x", "v2", domain=None).json["domain"] == "a.com"
    assert client.update("x", domain="").json["domain"] is None
    assert client.list().json["secrets"][0]["domain"] is None


def test_domain_null_alone_is_nothing_to_change(env):
    fake, _uid, client = env
    client.create("x", "value", domain="a.com")
    before = _state(fake)
    response = client.update("x", domain=None)
    assert response.status == 400
    assert "nothing" in response.json["detail"]
    assert _state(fake) == before


def test_null_domain_clears_switch():
    fake, uid, client = full_setup(null_domain_clears=True)
    client.create("x", "value", domain="a.com")
    response = client.update("x", domain=None)
    assert response.status == 200
    assert response.json["domain"] is None
    client.update("x", domain="b.com")
    assert client.update("x", "v3").json["domain"] == "b.com"  # absent still keeps
    assert fake.plaintext(uid, "x") == "v3"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"key_id": "KEY"},
        {"secret": "SEALED"},
        {"secret": "SEALED", "key_id": None},
        {"id": "other", "domain": "a.com"},
        {"id": 5, "domain": "a.com"},
        {"domain": "bad domain"},
        {"domain": 7},
        {"create_time": "2020-01-01T00:00:00.000Z"},
        {"unknown": 1},
    ],
)
def test_bad_updates_are_400_and_change_nothing(env, body):
    fake, _uid, client = env
    client.create("x", "value", domain="a.com")
    key_id, public = client.key()
    filled = {
        k: (seal("new", public) if v == "SEALED" else key_id if v == "KEY" else v)
        for k, v in body.items()
    }
    before = _state(fake)
    assert client.request("PATCH", f"{client.base}/x", filled).status == 400
    assert _state(fake) == before


def test_update_body_id_equal_to_path_is_fine(env):
    fake, uid, client = env
    client.create("x", "value")
    assert client.update("x", "v2", id="x").status == 200
    assert fake.plaintext(uid, "x") == "v2"


@pytest.mark.parametrize("secret_id", ["missing", "public-key", "1abc", "a" * 65, "%20"])
def test_update_of_missing_or_malformed_id_is_404(env, secret_id):
    fake, uid, client = env
    response = client.update(secret_id, "v")
    assert response.status == 404
    assert fake.secret_ids(uid) == []


def test_validation_400_comes_before_404(env):
    _, _, client = env
    assert client.update("missing", domain="not a domain").status == 400


# --------------------------------------------------------------------------- delete


def test_delete_answers_empty_object_and_removes(env):
    fake, uid, client = env
    client.create("x", "v")
    client.create("y", "v")
    response = client.delete("x")
    assert response.status == 200
    assert response.json == {}
    assert fake.secret_ids(uid) == ["y"]
    with pytest.raises(KeyError):
        fake.plaintext(uid, "x")
    assert client.delete("x").status == 404


@pytest.mark.parametrize("secret_id", ["missing", "1abc", "public-key", "a-b"])
def test_delete_of_missing_or_malformed_id_is_404(env, secret_id):
    fake, uid, client = env
    client.create("keep", "v")
    assert client.delete(secret_id).status == 404
    assert fake.secret_ids(uid) == ["keep"]


def test_delete_ignores_a_body(env):
    _fake, _uid, client = env
    client.create("x", "v")
    response = client.request("DELETE", f"{client.base}/x", raw=b"not json")
    assert response.status == 200


# --------------------------------------------------------------------------- list


def test_empty_list(env):
    _, _, client = env
    empty = {"secrets": [], "nextPageCursor": None, "previousPageCursor": None}
    assert client.list().json == empty


def test_list_is_ordered_by_id_default_page_10_and_has_no_values(env):
    fake, uid, client = env
    ids = [f"k{i:02d}" for i in range(25)]
    for secret_id in reversed(ids):
        fake.put_secret(uid, secret_id, f"value-{secret_id}")
    body = client.list().json
    assert [s["id"] for s in body["secrets"]] == ids[:10]
    assert body["previousPageCursor"] is None
    assert body["nextPageCursor"]
    assert "value-" not in json.dumps(body)
    assert all("secret" not in item for item in body["secrets"])


def _walk(client: WsgiClient, query: str) -> tuple[list[list[str]], list[str | None]]:
    pages: list[list[str]] = []
    prevs: list[str | None] = []
    body = client.list(query).json
    while True:
        pages.append([s["id"] for s in body["secrets"]])
        prevs.append(body["previousPageCursor"])
        if body["nextPageCursor"] is None:
            return pages, prevs
        body = client.list(f"{query}&cursor={body['nextPageCursor']}").json


def test_cursor_walk_forward_and_back(env):
    fake, uid, client = env
    ids = sorted(f"s_{i}" for i in range(23))
    for secret_id in ids:
        fake.put_secret(uid, secret_id, "v")
    pages, prevs = _walk(client, "limit=5")
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [secret_id for page in pages for secret_id in page] == ids
    assert prevs[0] is None and all(prevs[1:])
    # Walk back from the last page.
    body = client.list(f"limit=5&cursor={prevs[-1]}").json
    assert [s["id"] for s in body["secrets"]] == pages[-2]
    back = body
    while back["previousPageCursor"]:
        back = client.list(f"limit=5&cursor={back['previousPageCursor']}").json
    assert [s["id"] for s in back["secrets"]] == pages[0]
    assert back["previousPageCursor"] is None


def test_cursor_survives_deletion_of_its_boundary(env):
    fake, uid, client = env
    for secret_id in "abcdef":
        fake.put_secret(uid, secret_id, "v")
    body = client.list("limit=2").json
    client.delete("c")  # the first id of the next page
    body = client.list(f"limit=2&cursor={body['nextPageCursor']}").json
    assert [s["id"] for s in body["secrets"]] == ["d", "e"]


def test_limit_bounds_and_alias(env):
    fake, uid, client = env
    for i in range(12):
        fake.put_secret(uid, f"s{i:02d}", "v")
    assert len(client.list("limit=1").json["secrets"]) == 1
    assert len(client.list("limit=500").json["secrets"]) == 12
    assert len(client.list("maxPageSize=3").json["secrets"]) == 3
    assert len(client.list("limit=2&maxPageSize=7").json["secrets"]) == 2
    assert len(client.list("maxPageSize=7&limit=2").json["secrets"]) == 2
    assert len(client.list("limit=4&limit=9").json["secrets"]) == 4
    assert len(client.list("limit=012").json["secrets"]) == 12
    assert len(client.list("other=1&cursor=").json["secrets"]) == 10


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=501",
        "limit=-1",
        "limit=abc",
        "limit=",
        "limit=1.5",
        "limit=%2B5",
        "maxPageSize=0",
        "maxPageSize=501",
        "limit=%EF%BC%95",
        "limit=99999999999999999999999",
        "limit=²",
        "maxPageSize=x&limit=5x",
    ],
)
def test_bad_limits_are_400(env, query):
    _, _, client = env
    response = client.list(query)
    assert response.status == 400
    assert "limit" in response.json["detail"]


def test_cursors_the_fake_did_not_issue_are_400(env):
    fake, uid, client = env
    for i in range(4):
        fake.put_secret(uid, f"s{i}", "v")
    cursor = client.list("limit=1").json["nextPageCursor"]
    other = fake.add_universe()
    other_client = WsgiClient(fake, other.universe_id, client.headers)
    for bad in ["nope", cursor + "x", cursor[:-2], "x" + cursor, ".", "Tg.abc", "%FF"]:
        assert client.list(f"cursor={bad}").status == 400, bad
    assert other_client.list(f"cursor={cursor}").status == 400
    assert client.list(f"cursor={cursor}").status == 200


def test_cursor_from_another_fake_is_400(env):
    fake, uid, client = env
    fake.put_secret(uid, "a", "v")
    fake.put_secret(uid, "b", "v")
    cursor = client.list("limit=1").json["nextPageCursor"]
    other_fake, other_uid, other_client = full_setup()
    assert other_uid == uid  # generated ids are deterministic, so the cursor could fit
    other_fake.put_secret(uid, "a", "v")
    other_fake.put_secret(uid, "b", "v")
    assert other_client.list(f"cursor={cursor}").status == 400


# --------------------------------------------------------------------------- credentials


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-api-key": "unknown"},
        {"x-api-key": ""},
        {"Authorization": "Bearer unknown"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": ""},
    ],
)
def test_missing_or_unknown_credentials_are_401_gateway_shape(env, headers):
    fake, _uid, client = env
    before = _state(fake)
    for method, path in [
        ("GET", f"{client.base}/public-key"),
        ("GET", client.base),
        ("POST", client.base),
        ("PATCH", f"{client.base}/x"),
        ("DELETE", f"{client.base}/x"),
        ("GET", "/cloud/v2/universes/not-a-number/secrets"),
    ]:
        response = client.request(method, path, raw=b"{}", headers=headers)
        assert response.status == 401
        assert response.json == {"errors": [{"code": 0, "message": "Invalid API Key"}]}
    assert _state(fake) == before


def test_api_key_in_bearer_header_is_not_accepted(env):
    _fake, _uid, client = env
    key = client.headers["x-api-key"]
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.request("GET", client.base, headers=bearer).status == 401


def test_read_only_key(env):
    fake, uid, _ = env
    fake.put_secret(uid, "x", "v")
    client = WsgiClient(fake, uid, fake.add_api_key(write=False).headers)
    assert client.public_key().status == 200
    assert client.list().status == 200
    body = _sealed_body(fake, uid, "y")
    assert client.request("POST", client.base, body).status == 403
    assert client.request("PATCH", f"{client.base}/x", {"domain": "a.com"}).status == 403
    response = client.delete("x")
    assert response.status == 403
    assert "write" in response.json["detail"]
    assert fake.secret_ids(uid) == ["x"]


def test_write_only_key_cannot_fetch_the_public_key_but_can_write(env):
    fake, uid, _ = env
    client = WsgiClient(fake, uid, fake.add_api_key(read=False).headers)
    assert client.public_key().status == 403
    assert client.list().status == 403
    body = _sealed_body(fake, uid, "y")
    assert client.request("POST", client.base, body).status == 201
    assert client.delete("y").status == 200


@pytest.mark.parametrize(
    ("scopes", "read_status", "write_status"),
    [
        (["universe.secret:read"], 200, 403),
        (["universe.secret:write"], 403, 201),
        ([], 403, 403),
        (["universe.secret:read", "universe.secret:write"], 200, 201),
        (["universe.place:write"], 403, 403),
    ],
)
def test_oauth_scopes(env, scopes, read_status, write_status):
    fake, uid, _ = env
    client = WsgiClient(fake, uid, fake.add_oauth_token(scopes=scopes).headers)
    assert client.list().status == read_status
    body = _sealed_body(fake, uid, "y")
    assert client.request("POST", client.base, body).status == write_status


def test_universe_restrictions_and_unknown_universes_are_403(env):
    fake, uid, _ = env
    other = fake.add_universe().universe_id
    limited = fake.add_api_key(universe_ids=[uid])
    assert WsgiClient(fake, uid, limited.headers).list().status == 200
    response = WsgiClient(fake, other, limited.headers).list()
    assert response.status == 403
    assert str(other) in response.json["detail"]
    token = fake.add_oauth_token(universe_ids=[other])
    assert WsgiClient(fake, uid, token.headers).public_key().status == 403
    assert WsgiClient(fake, other, token.headers).public_key().status == 200
    full = fake.add_api_key()
    assert WsgiClient(fake, 123456, full.headers).list().status == 403


@pytest.mark.parametrize(
    "universe",
    ["abc", "-1", "1.0", "+5", " 5", "99999999999999999999", "9223372036854775808", "١٢٣", "0x10"],
)
def test_non_numeric_universe_is_400_after_authentication(env, universe):
    fake, _, client = env
    other = WsgiClient(fake, universe, client.headers)
    response = other.list()
    assert response.status == 400
    assert "universeId" in response.json["detail"]
    anonymous = WsgiClient(fake, universe, {})
    assert anonymous.list().status == 401


def test_largest_int64_universe_is_numeric(env):
    fake, _, client = env
    universe = fake.add_universe(2**63 - 1)
    assert WsgiClient(fake, universe.universe_id, client.headers).list().status == 200


# --------------------------------------------------------------------------- order of checks


def test_unknown_paths_are_404_before_authentication(env):
    _fake, uid, client = env
    for path in [
        "/",
        "",
        "/cloud/v2/universes",
        f"/cloud/v2/universes/{uid}",
        f"/cloud/v2/universes/{uid}/secrets/",
        f"/cloud/v2/universes/{uid}/secrets/x/y",
        f"/cloud/v2/universes/{uid}/other",
        f"/cloud/v1/universes/{uid}/secrets",
        "/cloud/v2/universes//secrets",
        f"/_fake/universes/{uid}/secrets/x/plaintext",
    ]:
        for headers in ({}, client.headers):
            response = client.request("GET", path, headers=headers)
            assert response.status == 404, path
            assert response.json["instance"] == (path or "/")


def test_unserved_methods_are_405_with_allow_never_501(env):
    _fake, _uid, client = env
    cases = [
        ("PUT", client.base, "GET, POST"),
        ("DELETE", client.base, "GET, POST"),
        ("POST", f"{client.base}/x", "DELETE, PATCH"),
        ("GET", f"{client.base}/x", "DELETE, PATCH"),
        ("POST", f"{client.base}/public-key", "DELETE, GET, PATCH"),
        ("HEAD", client.base, "GET, POST"),
        ("OPTIONS", client.base, "GET, POST"),
        ("BREW", client.base, "GET, POST"),
        ("get", client.base, "GET, POST"),
    ]
    for method, path, allow in cases:
        for headers in ({}, client.headers):
            response = client.request(method, path, headers=headers)
            assert response.status == 405, (method, path)
            assert response.header("Allow") == allow


def test_odd_method_is_not_echoed(env):
    _, _, client = env
    response = client.request("X" * 40, client.base)
    assert response.status == 405
    assert "XXXXXXXX" not in response.json["detail"]


def test_403_comes_before_body_validation(env):
    fake, uid, _ = env
    client = WsgiClient(fake, uid, fake.add_api_key(write=False).headers)
    assert client.request("POST", client.base, raw=b"not json").status == 403
    assert client.request("PATCH", f"{client.base}/missing", raw=b"{").status == 403
    assert client.request("DELETE", f"{client.base}/1bad").status == 403


def test_400_universe_comes_before_403(env):
    fake, _, _ = env
    read_only = fake.add_api_key(write=False)
    client = WsgiClient(fake, "abc", read_only.headers)
    assert client.request("POST", client.base, raw=b"{}").status == 400


def test_validation_400_comes_before_409(env):
    _, _, client = env
    client.create("x", "v")
    assert client.create("x", "v", domain="bad domain").status == 400


# --------------------------------------------------------------------------- problem details


def test_problem_details_shape_default_status_string(env):
    _fake, _uid, client = env
    response = client.delete("missing")
    body = response.json
    assert body["status"] == "404"
    assert body["title"] == "Not Found"
    assert body["type"].startswith("https://")
    assert body["instance"] == f"{client.base}/missing"


def test_problem_status_as_number_switch():
    _fake, _uid, client = full_setup(problem_status_as_number=True)
    for response in (client.delete("missing"), client.list("limit=0"), client.create("1", "v")):
        assert isinstance(response.json["status"], int)
        assert response.json["status"] == response.status
    assert client.request("GET", client.base, headers={}).json["errors"][0]["code"] == 0


# --------------------------------------------------------------------------- oracle endpoint


def test_plaintext_endpoint_is_a_404_unless_exposed(env):
    _fake, uid, client = env
    client.create("x", "v")
    path = f"/_fake/universes/{uid}/secrets/x/plaintext"
    assert client.request("GET", path).status == 404


def test_plaintext_endpoint_when_exposed():
    fake, uid, client = full_setup(expose_plaintext=True)
    client.create("x", "the value ✓")
    path = f"/_fake/universes/{uid}/secrets/x/plaintext"
    response = client.request("GET", path)
    assert response.status == 200
    assert response.json == {"id": "x", "value": "the value ✓"}
    assert client.request("GET", path, headers={}).status == 401
    assert client.request("POST", path).status == 405
    assert client.request("GET", f"/_fake/universes/{uid}/secrets/nope/plaintext").status == 404
    other = fake.add_universe().universe_id
    limited = fake.add_api_key(universe_ids=[other])
    assert client.request("GET", path, headers=limited.headers).status == 403
    write_only = fake.add_api_key(read=False)
    assert client.request("GET", path, headers=write_only.headers).status == 403
    entry = fake.journal[-6]
    assert entry.operation == "get_plaintext" and entry.status == 200
    assert "the value" not in repr(fake.journal)


# --------------------------------------------------------------------------- journal


def test_journal_records_requests_without_secrets(env):
    fake, _uid, client = env
    fake.clear_journal()
    value = "journal-test-value-✓"
    key_id, public = client.key()
    ciphertext = seal(value, public)
    api_key = client.headers["x-api-key"]
    body = {"id": "j", "secret": ciphertext, "key_id": key_id}
    client.request("POST", client.base, body, query=f"cursor={api_key}&v={value}")
    client.list(f"cursor={ciphertext}")
    client.request("GET", client.base, headers={"x-api-key": "wrong-key-material"})
    journal = fake.journal
    assert [(e.method, e.operation, e.status) for e in journal] == [
        ("GET", "get_public_key", 200),
        ("POST", "create_secret", 201),
        ("GET", "list_secrets", 400),
        ("GET", "list_secrets", 401),
    ]
    create = journal[1]
    assert create.path == client.base
    assert create.credential_id == "apikey-1"
    assert create.key_id == key_id
    assert create.request_bytes == len(json.dumps(body).encode())
    assert create.response_bytes > 0
    assert journal[0].key_id == key_id
    assert journal[3].credential_id is None
    text = repr(journal) + str([dataclasses.astuple(e) for e in journal])
    for secret in (value, ciphertext, api_key, "wrong-key-material"):
        assert secret not in text
    assert [e.sequence for e in journal] == sorted(e.sequence for e in journal)
    assert all(journal[i].timestamp <= journal[i + 1].timestamp + 1 for i in range(3))


def test_journal_key_id_is_only_recorded_when_it_looks_like_one(env):
    fake, _uid, client = env
    fake.clear_journal()
    _, public = client.key()
    body = {"id": "j", "secret": seal("v", public), "key_id": "my password"}
    assert client.request("POST", client.base, body).status == 400
    assert fake.journal[-1].key_id is None


def test_errors_never_echo_values_or_credentials(env):
    _fake, _uid, client = env
    value = "do-not-echo-✓"
    _, public = client.key()
    ciphertext = seal(value, public)
    bodies = [
        {"id": "x", "secret": ciphertext, "key_id": value},
        {"id": value, "secret": ciphertext, "key_id": "1"},
        {"id": "x", "secret": value, "key_id": "1"},
        {"id": "x", "secret": ciphertext, "key_id": "1", "domain": value},
        {"id": "x", "secret": ciphertext, "key_id": "1", value: 1},
    ]
    for body in bodies:
        response = client.request("POST", client.base, body)
        assert response.status == 400
        text = response.raw.decode()
        assert value not in text and ciphertext not in text and "do-not-echo" not in text


# --------------------------------------------------------------------------- request bodies


def _raw_environ(uid: int, key: str, data: bytes, **extra: object) -> dict[str, object]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/cloud/v2/universes/{uid}/secrets",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(data),
        "HTTP_X_API_KEY": key,
        **extra,
    }


def _status(fake: FakeOpenCloud, environ: dict[str, object]) -> int:
    seen: list[str] = []
    fake.app(environ, lambda status, headers: seen.append(status))
    return int(seen[0].split()[0])


def test_chunked_bodies_are_read_to_the_end_of_the_stream(env):
    fake, uid, client = env
    key_id, public = client.key()
    data = json.dumps({"id": "chunked", "secret": seal("v", public), "key_id": key_id}).encode()
    terminated: dict[str, object] = {"wsgi.input_terminated": True}
    environ = _raw_environ(uid, client.headers["x-api-key"], data, **terminated)
    assert _status(fake, environ) == 201
    assert fake.plaintext(uid, "chunked") == "v"
    huge = _raw_environ(uid, client.headers["x-api-key"], b"{" * 200_000, **terminated)
    assert _status(fake, huge) == 400
    assert huge["wsgi.input"].read() == b""  # drained


@pytest.mark.parametrize("length", ["abc", "-5", "", "0"])
def test_unusable_content_length_means_no_body(env, length):
    fake, uid, client = env
    environ = _raw_environ(uid, client.headers["x-api-key"], b"{}", CONTENT_LENGTH=length)
    assert _status(fake, environ) == 400
    assert fake.journal[-1].request_bytes == 0


def test_missing_wsgi_input_is_an_empty_body(env):
    fake, uid, client = env
    environ = _raw_environ(uid, client.headers["x-api-key"], b"")
    del environ["wsgi.input"]
    assert _status(fake, environ) == 400


def test_non_ascii_paths_read_back_as_utf8_in_instance_and_journal(env):
    fake, _uid, client = env
    # PEP 3333: the server hands the decoded bytes of %C3%A9 over as latin-1 text.
    raw_path = f"{client.base}/caf\u00c3\u00a9"
    response = client.request("DELETE", raw_path)
    assert response.status == 404
    assert response.json["instance"] == f"{client.base}/caf\u00e9"
    assert fake.journal[-1].path == f"{client.base}/caf\u00e9"


def test_status_lines_have_the_standard_phrase_or_a_generic_one():
    from fakeserver.web.messages import json_answer

    assert json_answer(404, {}).status == "404 Not Found"
    assert json_answer(599, {}).status == "599 Error"  # an injected status HTTP does not name
