"""Issue 8, A6: ``http.client`` debug output never prints the key of the client's requests.

``http.client.HTTPConnection.debuglevel = 1`` (the usual recipe for debugging ``requests``)
prints every header sent. The client's own adapter ignores it; a caller's session may route
the base URL through an adapter of its own, whose connections the client does not own: then,
while debug output is on, the client refuses to send rather than print the key.
"""

from __future__ import annotations

import http.client
import uuid
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from rbxsecrets_magic import InvalidInputError, SecretsClient


class _CallersAdapter(HTTPAdapter):
    """An adapter a caller wrote (say, for its own TLS or logging): not the client's."""


def _client(cloud: Any, session: requests.Session) -> SecretsClient:
    return SecretsClient(
        cloud.universe_id,
        api_key=cloud.api_key,
        base_url=cloud.url,
        session=session,
        rate_limit=None,
    )


@pytest.mark.parametrize("prefix", ["http://", "BASE"])
def test_a_callers_adapter_with_debug_output_on_never_prints_the_key(
    prefix: str,
    fake_open_cloud: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    session = requests.Session()
    session.mount(fake_open_cloud.url + "/" if prefix == "BASE" else prefix, _CallersAdapter())
    client = _client(fake_open_cloud, session)
    value = "VALUE-" + uuid.uuid4().hex
    with pytest.raises(InvalidInputError) as info:
        client.set("k", value)
    printed = capsys.readouterr().out
    assert fake_open_cloud.api_key not in printed and "x-api-key" not in printed
    assert value not in printed
    assert "debuglevel" in str(info.value) and "HTTPConnection" in str(info.value)
    assert fake_open_cloud.fake.journal == []  # nothing was sent


def test_an_adapter_mounted_after_the_client_was_made_is_checked_too(
    fake_open_cloud: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    session = requests.Session()
    client = _client(fake_open_cloud, session)
    client.list()
    session.mount(fake_open_cloud.url + "/", HTTPAdapter())  # replaces the client's own
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    with pytest.raises(InvalidInputError):
        client.list()
    assert fake_open_cloud.api_key not in capsys.readouterr().out


def test_a_callers_adapter_works_while_debug_output_is_off(fake_open_cloud: Any) -> None:
    session = requests.Session()
    session.mount("http://", _CallersAdapter())
    _client(fake_open_cloud, session).set("k", "v")
    assert fake_open_cloud.plaintext("k") == "v"


def test_the_clients_own_adapter_stays_quiet_with_a_callers_session(
    fake_open_cloud: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=3))
    value = "VALUE-" + uuid.uuid4().hex
    _client(fake_open_cloud, session).set("k", value)
    printed = capsys.readouterr().out
    assert fake_open_cloud.plaintext("k") == value
    assert fake_open_cloud.api_key not in printed and value not in printed
