"""Credentials go only where configured; no value, ciphertext or key leaks anywhere."""

from __future__ import annotations

import http.client
import logging
import time
import uuid
from typing import Any

import pytest
import requests

import rbxsecrets_magic.opencloud.client as client_module
from fakeserver import FakeServer
from rbxsecrets_magic.errors import (
    ApiError,
    InvalidInputError,
    RbxSecretsError,
    TransportError,
)
from rbxsecrets_magic.opencloud.client import SecretsClient, SetResult
from tests.rbxsecrets_magic.support import canned_client, client_for, strings_reachable_from

# -- where credentials may go ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.45.6.7",
        "http://[::1]:9000/",
        "http://LOCALHOST:5000",
        "https://apis.roblox.com",
        "https://proxy.example.com/roblox/",
    ],
)
def test_https_anywhere_and_http_only_to_loopback(url: str) -> None:
    client = SecretsClient(1, api_key="k" * 20, base_url=url)
    assert client.base_url.lower() == url.rstrip("/").lower()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://apis.roblox.com",
            (
                "Refusing plain http:// to apis.roblox.com: the API key "
                "would cross the network unencrypted. Use https://, or http:// only to 127.0.0.1, "
                "::1 or localhost."
            ),
        ),
        (
            "http://127.0.0.1.evil.example",
            (
                "Refusing plain http:// to 127.0.0.1.evil.example: "
                "the API key would cross the network unencrypted. Use https://, or http:// only to "
                "127.0.0.1, ::1 or localhost."
            ),
        ),
        (
            "http://0.0.0.0:80",
            (
                "Refusing plain http:// to 0.0.0.0: the API key would cross "
                "the network unencrypted. Use https://, or http:// only to 127.0.0.1, ::1 or "
                "localhost."
            ),
        ),
        (
            "ftp://apis.roblox.com",
            (
                "Invalid base URL ftp://apis.roblox.com: use "
                "https://apis.roblox.com (or an https:// proxy)."
            ),
        ),
        (
            "https://user:hunter2@apis.roblox.com",
            (
                "Invalid base URL https://apis.roblox.com: "
                "it must not contain a user name or password."
            ),
        ),
        (
            "https://apis.roblox.com/?x=1",
            ("Invalid base URL https://apis.roblox.com: it must not have a query or fragment."),
        ),
    ],
)
def test_unsafe_base_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        SecretsClient(1, api_key="k" * 20, base_url=url)
    assert str(info.value) == message


def test_environment_url_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RBX_OPEN_CLOUD_URL", "http://example.com")
    with pytest.raises(InvalidInputError, match="Refusing plain http:// to example.com"):
        SecretsClient(1, api_key="k" * 20)


def test_redirect_is_not_followed_over_loopback(fake_open_cloud: Any) -> None:
    received: list[dict[str, str]] = []

    def elsewhere(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        received.append({k: v for k, v in environ.items() if k.startswith("HTTP_")})
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
        return [b"{}"]

    with FakeServer(elsewhere) as target:

        def redirecting(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            location = target.url + environ["PATH_INFO"]
            headers = [("Location", location), ("Content-Length", "0")]
            start_response("307 Temporary Redirect", headers)
            return [b""]

        with FakeServer(redirecting) as origin:
            client = SecretsClient(1, api_key=fake_open_cloud.api_key, base_url=origin.url)
            with pytest.raises(ApiError) as info:
                client.set("k", "v")
    assert received == []
    assert info.value.status == 307
    assert str(info.value) == (
        f"Getting the public key of universe 1 failed: the server at {origin.url} answered "
        f"with an error (HTTP 307: redirect to {target.url}, not followed). Credentials are "
        "sent only to "
        f"{origin.url}; check base_url or RBX_OPEN_CLOUD_URL."
    )


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_is_an_error(status: int) -> None:
    client, adapter = canned_client(
        (status, b"", {"Location": "https://user:pw@evil.example:8443/steal?k=1"})
    )
    with pytest.raises(ApiError) as info:
        client.delete("k")
    assert len(adapter.sent) == 1
    expected = f"(HTTP {status}: redirect to https://evil.example:8443, not followed)"
    assert expected in str(info.value)
    assert "pw" not in str(info.value)


def test_credential_is_attached_per_request_not_to_the_session(fake_open_cloud: Any) -> None:
    session = requests.Session()
    client = SecretsClient(
        fake_open_cloud.universe_id,
        api_key=fake_open_cloud.api_key,
        base_url=fake_open_cloud.url,
        session=session,
    )
    client.list()
    assert fake_open_cloud.api_key not in repr(dict(session.headers))
    assert session.auth is None


# -- nothing leaks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["key-with\nnewline", " key with spaces ", "ключ-non-ascii", "key\x00nul"],
)
def test_malformed_credentials_are_refused_without_repeating_them(bad: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        SecretsClient(1, api_key=bad)
    assert str(info.value) == (
        "Invalid api_key: it contains spaces, control or non-ASCII characters; copy it again "
        "from the Creator Dashboard."
    )
    assert info.value.__context__ is None


def test_reprs_hide_the_credential() -> None:
    client = SecretsClient(1, api_key="super-secret-key-123", base_url="https://apis.roblox.com")
    assert repr(client) == (
        "SecretsClient(universe_id=1, base_url='https://apis.roblox.com', "
        "credential=<api key, hidden>)"
    )
    token_client = SecretsClient(1, oauth_token="super-secret-token-123")
    assert "super-secret" not in repr(token_client) and "OAuth token, hidden" in repr(token_client)
    assert "super-secret" not in repr(vars(client))


def test_raw_requests_errors_would_carry_the_key_but_ours_do_not() -> None:
    key = "the-api-key-" + uuid.uuid4().hex
    # Why the client detaches: a requests exception keeps the prepared request, headers and all.
    try:
        requests.get("http://127.0.0.1:9/x", headers={"x-api-key": key}, timeout=1)
    except requests.ConnectionError as exc:
        assert exc.request.headers["x-api-key"] == key
    client = SecretsClient(1, api_key=key, base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(TransportError) as info:
        client.set("k", "the value")
    reachable = "\n".join(strings_reachable_from(info.value))
    assert key not in reachable
    assert "Connection refused" in reachable  # the cause is kept, as text
    assert isinstance(info.value.__cause__, requests.ConnectionError)
    assert info.value.__cause__.request is None and info.value.__cause__.__context__ is None


def test_server_text_echoing_a_secret_is_redacted() -> None:
    key = "canned-api-key-0123456789"
    import base64

    from nacl.public import PrivateKey

    public = base64.b64encode(bytes(PrivateKey.generate().public_key)).decode()
    client, _ = canned_client(
        (200, {"id": "public-key", "secret": public, "key_id": "1"}, {}),
        (400, {"detail": f"bad value hunter2hunter2 for key {key}"}, {}),
        api_key=key,
    )
    with pytest.raises(ApiError) as info:
        client.create("k", "hunter2hunter2")
    # A write's answer is not quoted at all (issue 18, B9); a delete's is, scrubbed.
    assert info.value.detail == "its own words are not shown, as they could carry the value"
    assert "hunter2" not in str(info.value)
    client, _ = canned_client(
        (400, {"detail": f"cannot delete for key {key} now"}, {}),
        api_key=key,
    )
    with pytest.raises(ApiError) as info:
        client.delete("k")
    assert info.value.detail == "cannot delete for key [redacted] now"


def test_no_value_ciphertext_or_key_in_any_log_record_or_error(
    fake_open_cloud: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_open_cloud.fake
    uid = fake_open_cloud.universe_id
    ciphertexts: list[str] = []
    real_seal = client_module.seal

    def recording_seal(value: str | bytes, key: str) -> str:
        sealed = real_seal(value, key)
        ciphertexts.append(sealed)
        return sealed

    monkeypatch.setattr(client_module, "seal", recording_seal)
    values = {f"secret_{i}": f"VALUE-{uuid.uuid4().hex}" for i in range(12)}
    read_only = fake.add_api_key(write=False)
    caplog.set_level(logging.DEBUG)  # the root logger: ours, urllib3's, everyone's
    for name in ("urllib3", "rbxsecrets_magic", "fakeserver"):
        logging.getLogger(name).setLevel(logging.DEBUG)

    errors: list[BaseException] = []
    client = client_for(fake_open_cloud, timeout=0.2, max_retries=2, sleep=lambda s: None)
    names = list(values)
    client.set(names[0], values[names[0]], domain="*.example.com")
    client.set(names[0], values[names[0]])
    fake.inject_fault("create_secret", status=429, retry_after=0)
    fake.inject_fault("update_secret", status=503)
    fake.inject_fault("list_secrets", drop_connection=True)
    fake.inject_fault("create_secret", latency=0.4)

    def rotate(result: SetResult) -> None:
        if result.secret_id == names[3]:
            fake.rotate_key(uid)

    results = client.set_many({n: values[n] for n in names[:8]}, concurrency=2, progress=rotate)
    # The slow create is in flight when the client gives up: outcome unknown, not resent.
    late = [r for r in results if not r.ok]
    assert len(late) == 1 and late[0].outcome_unknown
    assert all(r.ok for r in results if r is not late[0])
    time.sleep(0.5)  # let it land (or be refused: the key may have rotated meanwhile)
    names_done = [n for n in names[:8] if n != late[0].secret_id]
    fake.inject_fault("update_secret", status=500, times=5)
    for call in (
        lambda: client.update(names[1], values[names[8]]),
        lambda: SecretsClient(
            uid, api_key="wrong-key-" + "x" * 10, base_url=fake_open_cloud.url
        ).set(names[9], values[names[9]]),
        lambda: SecretsClient(uid, api_key=read_only.key, base_url=fake_open_cloud.url).set(
            names[10], values[names[10]]
        ),
        lambda: SecretsClient(
            uid,
            api_key=fake_open_cloud.api_key,
            base_url="http://127.0.0.1:9",
            max_retries=1,
            sleep=lambda s: None,
        ).set(names[11], values[names[11]]),
        lambda: client.set(values[names[11]], "x"),  # a value typed where the id goes
    ):
        with pytest.raises(RbxSecretsError) as info:
            call()
        errors.append(info.value)

    assert {n: fake_open_cloud.plaintext(n) for n in names_done} == {
        n: values[n] for n in names_done
    }
    secrets = [*values.values(), *ciphertexts, fake_open_cloud.api_key, read_only.key]
    assert len(ciphertexts) >= 10
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert any(r.name.startswith("rbxsecrets_magic") for r in caplog.records)
    texts = []
    for record in caplog.records:
        texts += [
            record.getMessage(),
            repr(record.args),
            record.exc_text or "",
            record.stack_info or "",
        ]
    texts.append(caplog.text)
    for error in errors:
        texts.extend(strings_reachable_from(error))
    for result in results:
        texts.append(repr(result))
    blob = "\n".join(texts)
    leaked = [s for s in secrets if s in blob]
    assert leaked == []


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost.evil.com",
        "http://127.0.0.1.nip.io:8080",
        "http://127.0.0.1@evil.com",
        "http://evil.com#@127.0.0.1",
        "http://127.0.0.1:80\\@evil.com",
        "http://[::ffff:7f00:1]",
        "http://[::ffff:127.0.0.1]",  # IPv4-mapped: refused on every Python, 3.13 included
        "http://127.1",
    ],
)
def test_look_alike_loopback_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^(Refusing plain http://|Invalid base URL)"):
        SecretsClient(1, api_key="k" * 20, base_url=url)


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_plain_http_never_goes_through_a_proxy_from_the_environment(
    variable: str, fake_open_cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The proxy would read the API key in clear text; port 9 refuses, so using it would fail.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "http://127.0.0.1:9")
    client_for(fake_open_cloud, max_retries=0).set("k", "v")
    assert fake_open_cloud.plaintext("k") == "v"


def test_http_client_debug_printing_shows_no_key_or_value(
    fake_open_cloud: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The recipe for debugging requests: http.client then prints every header and body.
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    key = fake_open_cloud.api_key
    requests.get(fake_open_cloud.url + "/elsewhere", headers={"x-api-key": key}, timeout=5)
    assert key in capsys.readouterr().out  # what the client must not allow
    value = "VALUE-" + uuid.uuid4().hex
    client_for(fake_open_cloud).set("k", value)
    printed = capsys.readouterr().out
    assert fake_open_cloud.plaintext("k") == value
    assert key not in printed and value not in printed and "x-api-key" not in printed


def test_connections_through_an_https_proxy_are_quiet_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    client = SecretsClient(1, api_key="k" * 20)
    adapter = client._sender.session.get_adapter("https://apis.roblox.com/cloud/")
    for manager in (adapter.poolmanager, adapter.proxy_manager_for("http://127.0.0.1:3128")):
        for scheme in ("http", "https"):
            assert manager.pool_classes_by_scheme[scheme].ConnectionCls.debuglevel == 0
