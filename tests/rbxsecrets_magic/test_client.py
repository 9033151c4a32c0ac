"""SecretsClient operations against fakeserver: upsert, domains, pagination, shapes, errors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from nacl.public import PrivateKey

from rbxsecrets_magic.errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from rbxsecrets_magic.opencloud.client import PublicKey, SecretInfo, SecretsClient, SetResult
from tests.rbxsecrets_magic.support import canned_client, client_for, mounted_client


@pytest.fixture(params=["loopback", "mounted"])
def client(request: pytest.FixtureRequest, fake_open_cloud: Any) -> SecretsClient:
    """The same client over real loopback HTTP and through the in-process adapter."""
    make = client_for if request.param == "loopback" else mounted_client
    return make(fake_open_cloud)


def _ops(cloud: Any) -> list[tuple[str, int | None]]:
    return [(e.operation or "", e.status) for e in cloud.fake.journal]


def _domains(client: SecretsClient) -> dict[str, str | None]:
    return {info.id: info.domain for info in client.list()}


# -- upsert ---------------------------------------------------------------------------------


def test_set_creates_then_updates(client: SecretsClient, fake_open_cloud: Any) -> None:
    first = client.set("api_token", "first value")
    assert (first.action, first.ok, first.error) == ("created", True, None)
    assert fake_open_cloud.plaintext("api_token") == "first value"
    second = client.set("api_token", "second value ✓")
    assert second.action == "updated"
    assert fake_open_cloud.plaintext("api_token") == "second value ✓"
    # Create first, and on 409 update: the upsert costs one extra request, nothing else.
    assert _ops(fake_open_cloud) == [
        ("get_public_key", 200),
        ("create_secret", 201),
        ("create_secret", 409),
        ("update_secret", 200),
    ]


def test_set_with_an_exists_hint_updates_first_and_survives_a_wrong_hint(
    client: SecretsClient, fake_open_cloud: Any
) -> None:
    client.create("api_token", "first value")
    fake_open_cloud.fake.clear_journal()
    assert client.set("api_token", "second value", exists=True).action == "updated"
    assert fake_open_cloud.plaintext("api_token") == "second value"
    assert _ops(fake_open_cloud) == [("update_secret", 200)]
    fake_open_cloud.fake.clear_journal()
    # The hint was stale (deleted meanwhile): one wasted request, the right result.
    assert client.set("gone_meanwhile", "third value", exists=True).action == "created"
    assert fake_open_cloud.plaintext("gone_meanwhile") == "third value"
    assert _ops(fake_open_cloud) == [("update_secret", 404), ("create_secret", 201)]


def test_set_many_updates_what_the_listing_shows(
    client: SecretsClient, fake_open_cloud: Any
) -> None:
    client.create("old", "was here")
    fake_open_cloud.fake.clear_journal()
    results = client.set_many({"old": "replaced", "new": "fresh"})
    assert [(r.secret_id, r.action) for r in results] == [("old", "updated"), ("new", "created")]
    assert fake_open_cloud.plaintext("old") == "replaced"
    assert fake_open_cloud.plaintext("new") == "fresh"
    # Listed once, key cached from the create above, then exactly one write each.
    assert _ops(fake_open_cloud) == [
        ("list_secrets", 200),
        ("update_secret", 200),
        ("create_secret", 201),
    ]


def test_set_many_copes_with_a_secret_deleted_after_listing(fake_open_cloud: Any) -> None:
    client = client_for(fake_open_cloud)
    client.create("gone", "v0")

    def delete_behind_its_back(result: SetResult) -> None:
        if result.secret_id == "first":
            SecretsClient(
                fake_open_cloud.universe_id,
                api_key=fake_open_cloud.api_key,
                base_url=fake_open_cloud.url,
            ).delete("gone")

    results = client.set_many({"first": "a", "gone": "v1"}, progress=delete_behind_its_back)
    assert [r.action for r in results] == ["created", "created"]
    assert fake_open_cloud.plaintext("gone") == "v1"


# -- domains --------------------------------------------------------------------------------


def test_domain_is_kept_unless_asked_changed_or_cleared(
    client: SecretsClient, fake_open_cloud: Any
) -> None:
    client.set("stripe", "v1", domain="*.Stripe.com")
    assert _domains(client) == {"stripe": "*.stripe.com"}
    client.set("stripe", "v2")
    assert _domains(client) == {"stripe": "*.stripe.com"}
    client.set_many({"stripe": "v3"})
    assert _domains(client) == {"stripe": "*.stripe.com"}
    client.set("stripe", "v4", domain="api.stripe.com")
    assert _domains(client) == {"stripe": "api.stripe.com"}
    client.set("stripe", "v5", domain="")
    assert _domains(client) == {"stripe": None}
    assert fake_open_cloud.plaintext("stripe") == "v5"


def test_update_domain_only_keeps_the_value(client: SecretsClient, fake_open_cloud: Any) -> None:
    client.create("hook", "keep me")
    info = client.update("hook", domain="*")
    assert info.domain == "*"
    assert fake_open_cloud.plaintext("hook") == "keep me"
    assert client.update("hook", "new value").domain == "*"
    assert fake_open_cloud.plaintext("hook") == "new value"


@pytest.mark.fake_open_cloud(null_domain_clears=True)
def test_domain_is_kept_when_the_server_clears_on_null(fake_open_cloud: Any) -> None:
    # The client never sends "domain": null, so either server behaviour keeps the domain.
    client = client_for(fake_open_cloud)
    client.set("k", "v1", domain="example.com")
    client.set("k", "v2")
    client.update("k", "v3")
    assert _domains(client) == {"k": "example.com"}


def test_set_many_applies_one_domain_to_all(client: SecretsClient) -> None:
    client.set_many({"a": "1", "b": "2"}, domain="*.example.com")
    assert _domains(client) == {"a": "*.example.com", "b": "*.example.com"}


# -- single operations ----------------------------------------------------------------------


def test_public_key_matches_the_universe(client: SecretsClient, fake_open_cloud: Any) -> None:
    universe = fake_open_cloud.fake.universe(fake_open_cloud.universe_id)
    assert client.public_key() == PublicKey(key_id=universe.key_id, key=universe.public_key)


def test_create_update_delete(client: SecretsClient, fake_open_cloud: Any) -> None:
    created = client.create("db_password", b"bytes are UTF-8", domain="db.example.com")
    assert isinstance(created, SecretInfo)
    assert (created.id, created.domain) == ("db_password", "db.example.com")
    assert created.key_id == fake_open_cloud.fake.universe(fake_open_cloud.universe_id).key_id
    assert isinstance(created.create_time, datetime)
    assert created.create_time.tzinfo is UTC
    assert fake_open_cloud.plaintext("db_password") == "bytes are UTF-8"
    client.update("db_password", "changed")
    assert fake_open_cloud.plaintext("db_password") == "changed"
    assert client.delete("db_password") is None
    assert client.list() == []


def test_list_follows_every_page(client: SecretsClient, fake_open_cloud: Any) -> None:
    names = [f"secret_{i}" for i in range(7)]
    client.set_many({n: f"value {n}" for n in reversed(names)})
    fake_open_cloud.fake.clear_journal()
    listed = client.list(page_size=3)
    assert [info.id for info in listed] == names
    assert all(isinstance(info.update_time, datetime) for info in listed)
    assert _ops(fake_open_cloud) == [("list_secrets", 200)] * 3
    assert all(fake_open_cloud.plaintext(n) == f"value {n}" for n in names)


def test_oauth_token_is_sent_as_bearer(fake_open_cloud: Any) -> None:
    token = fake_open_cloud.fake.add_oauth_token(universe_ids=[fake_open_cloud.universe_id])
    client = SecretsClient(
        fake_open_cloud.universe_id, oauth_token=token.token, base_url=fake_open_cloud.url
    )
    client.set("via_oauth", "v")
    assert fake_open_cloud.plaintext("via_oauth") == "v"
    assert {e.credential_id for e in fake_open_cloud.fake.journal} == {token.credential_id}


def test_environment_supplies_key_and_url(
    fake_open_cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RBX_API_KEY", f"  {fake_open_cloud.api_key}\n")
    monkeypatch.setenv("RBX_OPEN_CLOUD_URL", fake_open_cloud.url + "/")
    monkeypatch.delenv("RBX_OAUTH_TOKEN", raising=False)
    client = SecretsClient(str(fake_open_cloud.universe_id))
    assert client.base_url == fake_open_cloud.url
    client.set("from_env", "v")
    assert fake_open_cloud.plaintext("from_env") == "v"


def test_environment_oauth_token_is_the_fallback(
    fake_open_cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = fake_open_cloud.fake.add_oauth_token()
    monkeypatch.delenv("RBX_API_KEY", raising=False)
    monkeypatch.setenv("RBX_OAUTH_TOKEN", token.token)
    SecretsClient(fake_open_cloud.universe_id, base_url=fake_open_cloud.url).set("t", "v")
    assert fake_open_cloud.fake.journal[-1].credential_id == token.credential_id


# -- response shapes the fake does not send -------------------------------------------------


def test_older_timestamp_spelling_and_seven_digit_fractions() -> None:
    client, _ = canned_client(
        (
            200,
            {
                "secrets": [
                    {
                        "id": "a",
                        "domain": "",
                        "key_id": 5,
                        "created": "2024-05-01T10:00:00.1234567Z",
                        "updated": "2024-05-02T10:00:00+02:00",
                    },
                    {"id": "b", "domain": None, "key_id": "6", "create_time": "garbage"},
                ],
                "nextPageCursor": "",
            },
            {},
        ),
    )
    first, second = client.list()
    assert first == SecretInfo(
        "a",
        None,
        "5",
        datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC),
        datetime(2024, 5, 2, 8, 0, 0, tzinfo=UTC),
    )
    assert second == SecretInfo("b", None, "6", None, None)


@pytest.mark.parametrize("body", [{}, b"", b"  "])
def test_delete_accepts_empty_object_or_empty_body(body: Any) -> None:
    client, adapter = canned_client((200, body, {}))
    client.delete("x")
    assert [r.method for r in adapter.sent] == ["DELETE"]


def test_write_without_an_item_in_the_answer_still_reports() -> None:
    public = base64.b64encode(bytes(PrivateKey.generate().public_key)).decode()
    key = {"id": "public-key", "secret": public, "key_id": "77"}
    client, _ = canned_client((200, key, {}), (201, b"", {}))
    assert client.set("x", "v", domain="Example.com") == SetResult(
        "x", "created", SecretInfo("x", "example.com", None, None, None)
    )


def test_problem_status_as_number_and_gateway_errors_are_both_read() -> None:
    client, _ = canned_client(
        (400, {"title": "Bad Request", "status": 400, "detail": "nope, as a number"}, {}),
        (401, {"errors": [{"code": 0, "message": "Invalid API Key"}]}, {}),
        (502, "<html><body>Bad gateway</body></html>", {"Content-Type": "text/html"}),
        (418, "short plain text", {}),
        (422, {"errors": {"domain": ["is invalid"]}}, {}),
        max_retries=0,
    )
    details = []
    for _ in range(5):
        with pytest.raises(ApiError) as info:
            client.list()
        details.append((type(info.value).__name__, info.value.status, info.value.detail))
    assert details == [
        ("BadRequestError", 400, "nope, as a number"),
        ("AuthenticationError", 401, "Invalid API Key"),
        ("ServerError", 502, None),
        ("ApiError", 418, "short plain text"),
        ("ApiError", 422, "domain: is invalid"),
    ]


@pytest.mark.fake_open_cloud(problem_status_as_number=True)
def test_fake_with_numeric_problem_status(fake_open_cloud: Any) -> None:
    client = client_for(fake_open_cloud)
    client.create("dup", "v")
    with pytest.raises(ConflictError) as info:
        client.create("dup", "v")
    # A write's answer is never quoted (it could carry the value): the status says it all.
    assert info.value.detail is None
    with pytest.raises(NotFoundError) as missing:
        client.delete("gone")
    assert missing.value.detail == "secret 'gone' does not exist"


# -- every error class, with its exact message -----------------------------------------------


def test_bad_request_error(fake_open_cloud: Any) -> None:
    uid = fake_open_cloud.universe_id
    for i in range(500):
        fake_open_cloud.fake.put_secret(uid, f"s{i}", "v")
    with pytest.raises(BadRequestError) as info:
        client_for(fake_open_cloud).create("one_too_many", "v")
    assert str(info.value) == (
        f"Creating secret 'one_too_many' in universe {uid} failed: the server at "
        f"{fake_open_cloud.url} rejected the request (HTTP 400: its own words are not shown, "
        "as they could carry the value). Check the secret id, value and domain against "
        "Roblox's rules, and that the universe holds fewer than 500 secrets."
    )


def test_authentication_error(fake_open_cloud: Any) -> None:
    client = SecretsClient(
        fake_open_cloud.universe_id, api_key="not-a-known-key", base_url=fake_open_cloud.url
    )
    with pytest.raises(AuthenticationError) as info:
        client.list()
    assert str(info.value) == (
        f"Listing secrets in universe {fake_open_cloud.universe_id} failed: the server at "
        f"{fake_open_cloud.url} did not accept the credential (HTTP 401: Invalid API Key). "
        "Check the API key (RBX_API_KEY) or OAuth token (RBX_OAUTH_TOKEN): it may be "
        "mistyped, expired or revoked."
    )
    assert info.value.status == 401


def test_permission_denied_error_names_permission_and_universe(fake_open_cloud: Any) -> None:
    uid = fake_open_cloud.universe_id
    read_only = fake_open_cloud.fake.add_api_key(write=False)
    client = SecretsClient(uid, api_key=read_only.key, base_url=fake_open_cloud.url)
    with pytest.raises(PermissionDeniedError) as info:
        client.create("x", "v")
    assert str(info.value) == (
        f"Creating secret 'x' in universe {uid} failed: Permission denied (HTTP 403). "
        "Give the API key the "
        f"secret-store API system with write permission and add universe {uid} to it "
        f"(OAuth: scope universe.secret:write for universe {uid})."
    )
    other = fake_open_cloud.fake.add_universe().universe_id
    elsewhere = SecretsClient(other, api_key=fake_open_cloud.api_key, base_url=fake_open_cloud.url)
    with pytest.raises(PermissionDeniedError, match=f"read permission and add universe {other}"):
        elsewhere.list()


def test_not_found_error(client: SecretsClient, fake_open_cloud: Any) -> None:
    uid = fake_open_cloud.universe_id
    with pytest.raises(NotFoundError) as info:
        client.update("missing", "v")
    assert str(info.value) == (
        f"Updating secret 'missing' in universe {uid} failed: Not found (HTTP 404). Check "
        "the secret id and universe id; list() shows what exists."
    )
    # A delete carries no value: the server's words are shown.
    with pytest.raises(NotFoundError, match="^Deleting secret 'missing'.*'missing' does not"):
        client.delete("missing")


def test_conflict_error(client: SecretsClient, fake_open_cloud: Any) -> None:
    client.create("taken", "v")
    with pytest.raises(ConflictError) as info:
        client.create("taken", "other")
    assert str(info.value) == (
        f"Creating secret 'taken' in universe {fake_open_cloud.universe_id} failed: The "
        "secret already exists (HTTP 409). Use set() or update() to change an existing "
        "secret."
    )
    assert fake_open_cloud.plaintext("taken") == "v"


def test_rate_limited_error_once_retries_are_spent(fake_open_cloud: Any) -> None:
    fake_open_cloud.fake.inject_fault("create_secret", status=429, retry_after=7, times=3)
    client = client_for(fake_open_cloud, max_retries=0)
    with pytest.raises(RateLimitedError) as info:
        client.create("x", "v")
    assert info.value.retry_after == 7
    assert str(info.value) == (
        f"Creating secret 'x' in universe {fake_open_cloud.universe_id} failed: Rate limited "
        f"by the server at {fake_open_cloud.url} (HTTP 429). Wait 7 s and try again; the "
        "limit is per API key owner."
    )


def test_rate_limited_error_when_retry_after_is_too_long(fake_open_cloud: Any) -> None:
    fake_open_cloud.fake.inject_fault("update_secret", status=429, retry_after=3600)
    client = client_for(fake_open_cloud)
    client.create("x", "v")
    with pytest.raises(RateLimitedError, match="Wait 3600 s"):
        client.update("x", "w")


def test_server_error_once_retries_are_spent(fake_open_cloud: Any) -> None:
    fake_open_cloud.fake.inject_fault("list_secrets", status=503, times=2)
    client = mounted_client(fake_open_cloud, max_retries=1, sleep=lambda s: None)
    with pytest.raises(ServerError) as info:
        client.list()
    assert str(info.value) == (
        f"Listing secrets in universe {fake_open_cloud.universe_id} failed: Roblox had a "
        "server error (HTTP 503: injected fault: 503 Service Unavailable). Try again later; "
        "https://status.roblox.com shows outages."
    )
    assert not info.value.outcome_unknown


def test_server_error_on_a_write_says_the_outcome_is_unknown(fake_open_cloud: Any) -> None:
    fake_open_cloud.fake.inject_fault("update_secret", status=500, times=2)
    client = client_for(fake_open_cloud, max_retries=1, sleep=lambda s: None)
    client.create("x", "v")
    with pytest.raises(ServerError) as info:
        client.update("x", "w")
    assert info.value.outcome_unknown
    assert str(info.value).endswith(
        "(HTTP 500: its own words are not shown, as they could carry the value). Outcome "
        "unknown: the change "
        "may or may not have been made, and may still take effect later. Before writing "
        "another value, check the listing (the secret's update time) to see whether it landed."
    )


def test_transport_error_when_nothing_listens() -> None:
    client = SecretsClient(1, api_key="k" * 20, base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(TransportError) as info:
        client.list()
    assert str(info.value) == (
        "Listing secrets in universe 1 failed: could not get an answer from "
        "http://127.0.0.1:9 (the connection was refused). Check the network and base_url "
        "(RBX_OPEN_CLOUD_URL)."
    )
    assert not info.value.outcome_unknown


def test_transport_error_on_a_write_timeout(fake_open_cloud: Any) -> None:
    fake_open_cloud.fake.inject_fault("delete_secret", latency=0.5)
    client = client_for(fake_open_cloud, timeout=0.1, max_retries=0)
    client.create("x", "v")
    with pytest.raises(TransportError) as info:
        client.delete("x")
    assert info.value.outcome_unknown
    assert str(info.value) == (
        f"Deleting secret 'x' in universe {fake_open_cloud.universe_id} failed: could not "
        f"get an answer from {fake_open_cloud.url} (no answer within 0.1 s). Outcome unknown: "
        "the request was sent but not answered, so the change may or may not have been made, "
        "and may still take effect later; it was not sent again. Before creating it again, "
        "check the listing to see whether it is gone."
    )


def test_invalid_input_error_before_any_request(fake_open_cloud: Any) -> None:
    client = client_for(fake_open_cloud)
    cases = [
        (
            lambda: client.set("9lives", "v"),
            (
                "Invalid secret id: it starts with a digit; use "
                "1-64 ASCII letters, digits and underscores, not starting with a digit."
            ),
        ),
        (
            lambda: client.set("a-b", "v"),
            (
                "Invalid secret id: character 2 is not an ASCII "
                "letter, digit or underscore; use 1-64 ASCII letters, digits and underscores, not "
                "starting with a digit."
            ),
        ),
        (
            lambda: client.set("x" * 65, "v"),
            (
                "Invalid secret id: it is 65 characters long, "
                "over the limit of 64; use 1-64 ASCII letters, digits and underscores, "
                "not starting with a digit."
            ),
        ),
        (
            lambda: client.set("", "v"),
            (
                "Invalid secret id: it is empty; use 1-64 ASCII "
                "letters, digits and underscores, not starting with a digit."
            ),
        ),
        (
            lambda: client.set("ok", ""),
            ("Invalid value: it is empty; a value needs 1 to 1,024 characters."),
        ),
        (
            lambda: client.set("ok", "é" * 1025),
            ("Invalid value: it is 1,025 characters long, over Roblox's limit of 1,024."),
        ),
        (
            lambda: client.set("ok", b"\xff\xfe"),
            ("Invalid value: byte 1 is not valid UTF-8; a value must be UTF-8 text."),
        ),
        (
            lambda: client.set("ok", "v", domain="https://x.com"),
            ("Invalid domain 'https://x.com': drop the scheme; give only the host name."),
        ),
        (
            lambda: client.set("ok", "v", domain="x.com:443"),
            ("Invalid domain 'x.com:443': a domain cannot contain a port; give only the host."),
        ),
        (
            lambda: client.set("ok", "v", domain="-x.com"),
            ("Invalid domain '-x.com': a label starts or ends with a hyphen."),
        ),
        (
            lambda: client.set("ok", "v", domain="a..com"),
            (
                "Invalid domain 'a..com': it has an "
                "empty label (two dots in a row, or a leading dot)."
            ),
        ),
        (
            lambda: client.set("ok", "v", domain="x.com."),
            ("Invalid domain 'x.com.': remove the trailing dot."),
        ),
        (
            lambda: client.set("ok", "v", domain="a.*.com"),
            (
                "Invalid domain 'a.*.com': a "
                "wildcard is allowed only as '*' or as a leading '*.' label."
            ),
        ),
        (lambda: client.update("ok"), "Nothing to update: pass a new value, a domain, or both."),
        (lambda: client.list(page_size=501), "Invalid page_size 501: give 1 to 500."),
        (
            lambda: client.set_many({"a": "v"}, concurrency=17),
            ("Invalid concurrency 17: give 1 to 16."),
        ),
    ]
    for call, message in cases:
        with pytest.raises(InvalidInputError) as info:
            call()
        assert str(info.value) == message
    assert fake_open_cloud.fake.journal == []


@pytest.mark.parametrize(
    ("universe_id", "message"),
    [
        (
            0,
            (
                "Invalid universe id 0: a universe id is a positive whole number (the "
                "experience's Universe ID)."
            ),
        ),
        (
            "12a",
            (
                "Invalid universe id '12a': a universe id is a positive whole number (the "
                "experience's Universe ID)."
            ),
        ),
        (
            True,
            (
                "Invalid universe id: got a bool; a universe id is a positive whole number "
                "(the experience's Universe ID)."
            ),
        ),
        (
            2**63,
            (
                f"Invalid universe id {2**63}: a universe id is a positive whole number (the "
                "experience's Universe ID)."
            ),
        ),
    ],
)
def test_invalid_universe_id(universe_id: Any, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        SecretsClient(universe_id, api_key="k" * 20)
    assert str(info.value) == message


def test_missing_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RBX_API_KEY", raising=False)
    monkeypatch.delenv("RBX_OAUTH_TOKEN", raising=False)
    with pytest.raises(InvalidInputError) as info:
        SecretsClient(1)
    assert str(info.value) == (
        "No credential: pass api_key= (or oauth_token=), or set RBX_API_KEY (or "
        "RBX_OAUTH_TOKEN) to an Open Cloud API key with the secret-store API system."
    )
    with pytest.raises(InvalidInputError, match="not both"):
        SecretsClient(1, api_key="a" * 10, oauth_token="b" * 10)


def test_set_many_reports_invalid_entries_and_sets_the_rest(fake_open_cloud: Any) -> None:
    client = client_for(fake_open_cloud)
    seen: list[SetResult] = []
    results = client.set_many(
        {"good": "v", "bad id": "v", "empty": "", "also_good": "w"}, progress=seen.append
    )
    assert [(r.secret_id, r.action) for r in results] == [
        ("good", "created"),
        ("bad id", "failed"),
        ("empty", "failed"),
        ("also_good", "created"),
    ]
    assert isinstance(results[1].error, InvalidInputError)
    assert sorted(r.secret_id for r in seen) == sorted(r.secret_id for r in results)
    assert fake_open_cloud.plaintext("also_good") == "w"
