"""Property tests: thousands of malformed requests never get a 5xx and never change state.

Hypothesis builds requests from bad paths, methods, headers, query strings, bodies and
ciphertexts (plus the occasional valid one). For each: the app must not raise, must answer
below 500 with a body that validates against the schemas, and an error answer must leave the
fake exactly as it was.
"""

from __future__ import annotations

import base64
import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakeserver import FakeOpenCloud
from tests.fakeserver.support import call_app, seal


def fuzz_settings(examples: int) -> settings:
    """Hypothesis settings for ``examples`` requests: no deadline, no example database."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


FAKE = FakeOpenCloud(expose_plaintext=True)
UID = FAKE.add_universe().universe_id
OTHER_UID = FAKE.add_universe().universe_id
FULL = FAKE.add_api_key()
READ_ONLY = FAKE.add_api_key(write=False)
LIMITED = FAKE.add_api_key(universe_ids=[OTHER_UID])
TOKEN = FAKE.add_oauth_token(scopes=["universe.secret:write"])
KEY_ID = FAKE.universe(UID).key_id
PUBLIC = FAKE.universe(UID).public_key
SEED = {"alpha": ("a.com", "first"), "beta": (None, "second"), "existing_1": ("*", "third")}


def _restore() -> None:
    """Put the universe back to the seed (after a request that legitimately changed it)."""
    state = FAKE.backend._universes[UID]
    if {k: (s.domain, s.value) for k, s in state.secrets.items()} != SEED:
        state.secrets.clear()
        for secret_id, (domain, value) in SEED.items():
            FAKE.put_secret(UID, secret_id, value, domain=domain)
    FAKE.clear_journal()


_restore()


def _observable() -> Any:
    """Everything a request could change, timestamps and keys included."""
    return (
        FAKE.snapshot(),
        [FAKE.secret_items(u.universe_id) for u in FAKE.universes],
        FAKE.universes,
    )


def _send(
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    query: str,
    content_length: str | None = None,
) -> int:
    _restore()
    before = _observable()
    response = call_app(
        FAKE,
        method,
        path,
        body=body,
        headers=headers,
        query=query,
        content_length=content_length,
    )
    assert response.status < 500, response.raw
    if response.status >= 400:
        assert _observable() == before
    else:
        assert method in ("GET", "POST", "PATCH", "DELETE")
    return response.status


# --------------------------------------------------------------------------- strategies

ID_CHARS = string.ascii_letters + string.digits + "_"
secret_ids = st.one_of(
    st.sampled_from(["alpha", "beta", "existing_1", "public-key", "new_one", "", "1x"]),
    st.text(alphabet=ID_CHARS, min_size=0, max_size=70),
    st.text(max_size=20).filter(lambda s: "/" not in s),
)
universe_segments = st.one_of(
    st.just(str(UID)),
    st.just(str(OTHER_UID)),
    st.sampled_from(["0", "-1", "1e3", "99999999999999999999", "abc", " 1", str(UID) + " "]),
    st.integers(min_value=0, max_value=2**70).map(str),
    st.text(max_size=12).filter(lambda s: "/" not in s and s != ""),
)


# Any method at all, now and then.
methods = st.one_of(
    st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"]),
    st.text(min_size=1, max_size=12),
)


@st.composite
def targets(draw: st.DrawFn) -> tuple[str, str]:
    """``(method, path)``: API-shaped paths with bad segments, and arbitrary ones.

    Mostly with a method the path serves, so requests get past routing to the later checks.
    """
    universe = draw(universe_segments)
    kind = draw(st.sampled_from(["list", "list", "key", "secret", "secret", "oracle", "any"]))
    if kind == "list":
        path, served = f"/cloud/v2/universes/{universe}/secrets", ["GET", "POST"]
    elif kind == "key":
        path, served = f"/cloud/v2/universes/{universe}/secrets/public-key", ["GET"]
    elif kind == "secret":
        path = f"/cloud/v2/universes/{universe}/secrets/{draw(secret_ids)}"
        served = ["PATCH", "DELETE"]
    elif kind == "oracle":
        path = f"/_fake/universes/{universe}/secrets/{draw(secret_ids)}/plaintext"
        served = ["GET"]
    else:
        path = draw(st.one_of(st.text(max_size=60).map(lambda p: "/" + p), st.text(max_size=40)))
        served = ["GET", "POST"]
    method = draw(st.one_of(st.sampled_from(served), st.sampled_from(served), methods))
    return method, path


@st.composite
def headers(draw: st.DrawFn) -> dict[str, str]:
    """Credential headers: mostly valid (so requests reach validation), else unknown or odd."""
    result: dict[str, str] = {}
    kind = draw(st.sampled_from(["full", "full", "full", "token", "read", "limited", "odd"]))
    if kind == "full":
        result["x-api-key"] = FULL.key
    elif kind == "token":
        result["Authorization"] = f"Bearer {TOKEN.token}"
    elif kind == "read":
        result["x-api-key"] = READ_ONLY.key
    elif kind == "limited":
        result["x-api-key"] = LIMITED.key
    else:
        if draw(st.booleans()):
            result["x-api-key"] = draw(
                st.one_of(st.sampled_from(["", "x", FULL.key + " "]), st.text(max_size=30))
            )
        if draw(st.booleans()):
            scheme = draw(st.sampled_from(["Bearer ", "bearer ", "Basic ", "", "Bearer  "]))
            token = draw(st.one_of(st.just(TOKEN.token), st.just(FULL.key), st.text(max_size=20)))
            result["Authorization"] = scheme + token
    if draw(st.booleans()):
        result["Content-Type"] = draw(st.sampled_from(["application/json", "text/plain", ""]))
    return result


json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = ["id", "secret", "key_id", "domain", "create_time", "update_time", "value", "keyId"]


@st.composite
def ciphertexts(draw: st.DrawFn) -> str:
    """Sealed boxes, broken in some way (or occasionally intact)."""
    value = draw(
        st.one_of(st.text(max_size=40), st.binary(max_size=40), st.just("x" * 1025), st.just(""))
    )
    public = draw(st.sampled_from([PUBLIC, FAKE.universe(OTHER_UID).public_key]))
    raw = bytearray(base64.b64decode(seal(value, public)))
    mutation = draw(st.integers(0, 6))
    if mutation == 1 and raw:
        index = draw(st.integers(0, len(raw) - 1))
        raw[index] ^= draw(st.integers(1, 255))
    elif mutation == 2:
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif mutation == 3:
        raw += draw(st.binary(min_size=1, max_size=8))
    text = base64.b64encode(bytes(raw)).decode()
    if mutation == 4:
        text = text.rstrip("=")
    elif mutation == 5:
        suffix = draw(st.sampled_from(["", " ", "\n", "*"]))
        text = text.replace("+", "-").replace("/", "_") + suffix
    elif mutation == 6:
        text = draw(st.text(max_size=80))
    return text


@st.composite
def bodies(draw: st.DrawFn) -> bytes | None:
    """Raw bytes, arbitrary JSON, or secret-shaped objects with bad parts."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.one_of(st.none(), st.binary(max_size=80)))
    if kind == 1:
        return json.dumps(draw(json_values)).encode()
    body: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True)):
        if name == "secret":
            body[name] = draw(st.one_of(ciphertexts(), json_values))
        elif name == "key_id":
            body[name] = draw(st.one_of(st.just(KEY_ID), st.just(int(KEY_ID)), json_values))
        elif name == "id":
            body[name] = draw(st.one_of(secret_ids, json_values))
        elif name == "domain":
            body[name] = draw(
                st.one_of(
                    st.sampled_from(
                        ["*", "a.com", "", "*.x.org", "A.COM", "bad domain", "x.com:80"]
                    ),
                    st.text(alphabet="abc.-*:/ K\u212a", max_size=20),
                    json_values,
                )
            )
        else:
            body[name] = draw(json_values)
    encoded = json.dumps(body).encode()
    if kind == 3:
        # Break the JSON itself.
        cut = draw(st.integers(0, len(encoded)))
        encoded = encoded[:cut] + draw(st.binary(max_size=4))
    return encoded


@st.composite
def sealed_bodies(draw: st.DrawFn) -> bytes:
    """Create/update bodies that get as far as opening the box, which is broken somehow."""
    body: dict[str, Any] = {
        "id": draw(st.one_of(st.sampled_from(["alpha", "fresh"]), secret_ids)),
        "secret": draw(ciphertexts()),
        "key_id": draw(st.one_of(st.just(KEY_ID), st.just(KEY_ID), json_values)),
    }
    if draw(st.booleans()):
        body["domain"] = draw(st.one_of(st.just("a.com"), st.text(max_size=12), json_values))
    return json.dumps(body).encode()


queries = st.one_of(
    st.just(""),
    st.text(max_size=40),
    st.builds(
        lambda name, value: f"{name}={value}",
        st.sampled_from(["limit", "maxPageSize", "cursor", "other"]),
        st.one_of(st.integers(-5, 1000).map(str), st.text(max_size=20)),
    ),
)


# --------------------------------------------------------------------------- properties


@fuzz_settings(1200)
@given(target=targets(), body=bodies(), hdrs=headers(), query=queries)
def test_any_request_is_answered_below_500_and_errors_change_nothing(target, body, hdrs, query):
    method, path = target
    _send(method, path, body, hdrs, query)


@fuzz_settings(1200)
@given(
    method=st.sampled_from(["POST", "PATCH"]),
    secret_id=secret_ids,
    body=st.one_of(bodies(), sealed_bodies()),
    hdrs=st.sampled_from([FULL.headers, TOKEN.headers, READ_ONLY.headers, LIMITED.headers]),
    content_length=st.one_of(st.none(), st.sampled_from(["abc", "-1", "0", "999999", "70000"])),
)
def test_malformed_writes_are_4xx_and_change_nothing(method, secret_id, body, hdrs, content_length):
    path = f"/cloud/v2/universes/{UID}/secrets"
    if method == "PATCH":
        path += f"/{secret_id}"
    _send(method, path, body, hdrs, "", content_length)


@fuzz_settings(400)
@given(query=queries, extra=queries)
def test_list_queries_never_fail_and_pages_are_sorted(query, extra):
    _restore()
    response = call_app(
        FAKE,
        "GET",
        f"/cloud/v2/universes/{UID}/secrets",
        headers=FULL.headers,
        query=f"{query}&{extra}",
    )
    assert response.status in (200, 400)
    if response.status == 200:
        ids = [s["id"] for s in response.json["secrets"]]
        assert ids == sorted(ids)
