"""The fake's game servers never hand a secret's value to anything but the request they send.

``Secret`` refused ``copy`` and ``pickle`` through ``__reduce_ex__``, but Python 3.11's
``object.__getstate__`` (which jsonpickle calls, and ``object.__reduce_ex__`` uses) returned
its slots, value included. And an ``OutgoingRequest`` whose URL was a secret showed that URL's
host in its ``repr``, though the host is then part of the value (its error messages hide it).
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest

from fakeserver import GameServer, GameServerError, Secret

VALUE = "v4lue-S3CRET-of-the-token"
SECRET_URL = "https://hooks-s3cret-7f2a.example.com/api/x"


def server() -> GameServer:
    return GameServer(
        server_id="job-1",
        place_id=1,
        place_version=1,
        clock=lambda: 0.0,
        secrets={
            "TOKEN": (VALUE, "*.example.com"),
            "HOOK": (SECRET_URL, "*.example.com"),
            "PRIVATE": (VALUE, None),
        },
    )


@pytest.mark.parametrize(
    "attempt",
    [
        lambda s: s.__getstate__(),
        lambda s: object.__reduce_ex__(s, 2),
        lambda s: object.__reduce_ex__(s, 4),
        lambda s: s.__reduce__(),
        lambda s: copy.copy(s),
        lambda s: copy.deepcopy(s),
        lambda s: pickle.dumps(s),
        lambda s: vars(s),
    ],
)
def test_no_protocol_hands_out_a_secrets_value(attempt: Callable[[Secret], Any]) -> None:
    secret = server().get_secret("TOKEN").add_suffix("-x")
    try:
        shown = repr(attempt(secret))
    except TypeError as exc:
        shown = str(exc)
    assert "S3CRET" not in shown


def test_str_repr_format_and_dir_show_the_name_only() -> None:
    secret = server().get_secret("TOKEN")
    shown = [
        str(secret),
        repr(secret),
        format(secret),
        f"{secret!r}",
        "%s" % secret,  # noqa: UP031  the old spelling too
        repr(dir(secret)),
    ]
    assert all("S3CRET" not in text for text in shown)
    assert str(secret) == "Secret(TOKEN)"


def test_a_request_to_a_secret_url_hides_its_host_in_its_repr() -> None:
    sent = server().http_request(server().get_secret("HOOK"))
    assert sent.url == SECRET_URL  # the attributes still hold the real request
    assert "s3cret" not in repr(sent).lower()
    assert repr(sent) == "OutgoingRequest(host=<from a secret>, headers=[], no body)"


def test_a_refused_request_names_secrets_and_plain_hosts_only() -> None:
    game = server()
    for attempt in (
        lambda: game.http_request("https://other.test/", {"A": game.get_secret("TOKEN")}),
        lambda: game.http_request(game.get_secret("PRIVATE")),
        lambda: game.http_request("https://x.example.com/", body=game.get_secret("TOKEN")),
        lambda: game.get_secret("PRIVATE").add_prefix("Bearer "),
    ):
        with pytest.raises(GameServerError) as caught:
            attempt()
        assert "S3CRET" not in str(caught.value)
        frames = caught.tb
        while frames is not None:
            assert all("S3CRET" not in repr(v) for v in frames.tb_frame.f_locals.values())
            frames = frames.tb_next


@pytest.mark.fake_open_cloud(expose_plaintext=True)
def test_the_fakes_oracle_route_refusal_never_quotes_a_value(fake_open_cloud: Any) -> None:
    import requests

    from rbxsecrets_magic.opencloud.client import SecretsClient

    handle = fake_open_cloud
    uid = handle.universe_id
    with SecretsClient(uid, api_key=handle.api_key, base_url=handle.url, rate_limit=None) as client:
        client.set("TOKEN", VALUE, domain="api.example.com")
    headers = {"x-api-key": handle.api_key}
    base = f"{handle.url}/_fake/universes/{uid}"
    made = requests.post(f"{base}/servers", json={}, headers=headers, timeout=5).json()
    answer = requests.post(
        f"{base}/servers/{made['id']}/http-request",
        headers=headers,
        json={
            "url": "https://evil.test/",
            "headers": {"Authorization": {"secret": "TOKEN", "prefix": "Bearer "}},
        },
        timeout=5,
    )
    assert answer.status_code == 400
    assert "TOKEN" in answer.text and "S3CRET" not in answer.text
    entries = [repr(e) for e in handle.fake.journal]
    assert entries and all("S3CRET" not in e for e in entries)
