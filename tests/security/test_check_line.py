"""``%rbx_secret_check NAME URL``: a token in the URL never stays in the history.

A refused check line already lost a URL with a user, query or fragment, but a check that
succeeded kept the line as typed: ``%rbx_secret_check HOOK https://x/?token=...`` left the token
in ``In``, ``_i*`` and the history database. Only the host matters, so such a URL is refused
(before any request), which takes it out of the history like any refused word.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.rbxsecrets_magic.support import MagicShell

TOKEN = "Tok3n-S3CRET-4u7"


@pytest.mark.parametrize(
    "url",
    [
        f"https://api.example.com/v1?token={TOKEN}",
        f"https://user:{TOKEN}@api.example.com/",
        f"https://api.example.com/#{TOKEN}",
    ],
)
def test_a_url_holding_a_token_is_refused_and_leaves_history(
    cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("PAY_VALUE", "some-value-of-pay")
    cloud_shell.ok("%rbx_secret_set PAY --from-env PAY_VALUE --domain api.example.com")
    cloud: Any = cloud_shell.cloud  # type: ignore[attr-defined]
    before = len(cloud.fake.journal)
    message = cloud_shell.usage_error(f"%rbx_secret_check PAY {url}")
    assert "only its host matters" in message
    assert len(cloud.fake.journal) == before  # refused before any request
    cloud_shell.assert_nowhere(TOKEN)


def test_a_plain_url_is_checked_and_kept(
    cloud_shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAY_VALUE", "some-value-of-pay")
    cloud_shell.ok("%rbx_secret_set PAY --from-env PAY_VALUE --domain api.example.com")
    cloud_shell.ok("%rbx_secret_check PAY https://api.example.com/v1/charge")
    assert cloud_shell.last_output.startswith("Yes: a game server can send PAY")
    assert "https://api.example.com/v1/charge" in cloud_shell.history_text()
