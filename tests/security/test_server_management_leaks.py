"""Server Management calls keep the credential and the secrets out of everything they show.

The credential must not reach an error (message, repr, args, chain), a result's repr, the
fake's journal, or a game server's ``ServerRestartScheduled`` notice; a server echoing the key
in its ProblemDetails detail is scrubbed, as for the secrets store's calls.
"""

from __future__ import annotations

from typing import Any

import pytest

from fakeserver import FakeOpenCloud
from rbxsecrets_magic import SecretsClient
from rbxsecrets_magic.errors import RbxSecretsError
from tests.rbxsecrets_magic.support import canned_client, client_for, strings_reachable_from

KEY = "canned-api-key-0123456789"


@pytest.mark.parametrize(
    "answer",
    [
        (403, {"status": 403, "detail": f"key {KEY} lacks universe:read"}, {}),
        (400, {"status": 400, "detail": f"bad request from {KEY}"}, {}),
        (500, {"status": 500, "detail": f"boom {KEY}"}, {}),
        (200, f"<html>{KEY}</html>", {"Content-Type": "text/html"}),
    ],
)
def test_errors_never_carry_the_key(answer: Any) -> None:
    for call in (
        lambda c: c.forecast_restart(),
        lambda c: c.launch_restart(bleed_off_minutes=5),
        lambda c: c.restart_status("r-1"),
    ):
        client, _ = canned_client(answer, api_key=KEY, max_retries=0)
        with pytest.raises(RbxSecretsError) as info:
            call(client)
        assert not any(KEY in text for text in strings_reachable_from(info.value))


def test_results_journal_and_notices_hold_no_key_and_no_value(fake_open_cloud: Any) -> None:
    fake: FakeOpenCloud = fake_open_cloud.fake
    uid = fake_open_cloud.universe_id
    client: SecretsClient = client_for(fake_open_cloud, clock=fake.clock, sleep=fake.advance)
    value = "sk_live_value_0123456789abcdef"
    client.set("PAYMENTS_KEY", value, domain="api.example.com")
    server = fake.start_server(uid, players=3)
    forecast = client.forecast_restart()
    launched = client.launch_restart(bleed_off_minutes=1, attributes={"reason": "rotation"})
    final = client.wait_for_restart(launched.restart_id, timeout=300)
    shown = [repr(forecast), repr(launched), repr(final), repr(server), repr(fake.journal)]
    shown.append(repr(server.restart_scheduled))
    shown.append(repr(server.describe()))
    for text in shown:
        assert fake_open_cloud.api_key not in text
        assert value not in text


def test_a_body_that_is_not_json_stays_out_of_the_error_chain() -> None:
    # The JSON decoding error keeps the whole body in its ``doc``; raising the client's error
    # inside the except block (even ``from None``) kept it as ``__context__``.
    client, _ = canned_client(
        (200, f"<html>{KEY}</html>", {"Content-Type": "text/html"}), api_key=KEY, max_retries=0
    )
    with pytest.raises(RbxSecretsError) as info:
        client.list()
    assert info.value.__context__ is None
    assert not any(KEY in text for text in strings_reachable_from(info.value))
